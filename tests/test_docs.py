"""The documentation: README.md is a short front door, docs/ the manual, and both stay true to the code.

- every ``make`` target is in the README's command table, once;
- every variable the Makefile passes through (``INPUTS``) and every override variable
  is documented: the override variables in docs/configuration.md, the others there or
  on the page the README links for a target that reads them;
- every relative link of README.md and docs/*.md resolves, anchors included (GitHub's
  heading slugs);
- README.md stays short, and every docs page opens with what it is for;
- every one-line error the code prints (``tests/error_messages.py``) and every error or
  usage line of the Makefile is in docs/troubleshooting.md, and every catalogue field a
  validator names is in docs/configuration.md.

The checks are functions of text, each also run on a planted defect below, so a check
that could never fail would show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tests.conftest import ROOT
from tests.error_messages import Message, config_messages, field_name, internal_fields, messages, page_lines

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
MAKEFILE = ROOT / "Makefile"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
CONFIGURATION = DOCS / "configuration.md"
README_LIMIT = 260

_RULE_RE = re.compile(r"^([a-z][a-z0-9-]*):(?!=)", re.M)
_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE_RE = re.compile(r"^```.*?^```", re.M | re.S)


# ------------------------------------------------------------------ the Makefile


def makefile_targets(text: str) -> set[str]:
    """The ``.PHONY`` targets and every rule a name starts."""
    phony = re.search(r"^\.PHONY:(.*)$", text, re.M)
    return set(phony[1].split() if phony else ()) | set(_RULE_RE.findall(text))


def makefile_inputs(text: str) -> list[str]:
    """The variables of ``INPUTS :=`` (continued lines included)."""
    found = re.search(r"^INPUTS := (.*?)\n(?![ \t])", text, re.M | re.S)
    assert found is not None, "the Makefile has no INPUTS := list"
    return found[1].replace("\\", " ").split()


def recipes(text: str) -> dict[str, str]:
    """Target -> its recipe lines (tab-indented), joined."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        rule = _RULE_RE.match(line)
        if rule:
            current = rule[1]
            out[current] = ""
        elif current and line.startswith("\t"):
            out[current] += line + "\n"
        elif line.strip() and not line.startswith("#"):
            current = None
    return out


def makefile_messages(text: str) -> list[Message]:
    """The ``usage:`` and ``error:`` lines the Makefile's recipes echo."""
    return [Message("Makefile", text.count("\n", 0, m.start()) + 1, (m[1],)) for m in re.finditer(r'echo "((?:usage|error): [^"]*)"', text)]


# ------------------------------------------------------------------ markdown


def command_table(readme: str) -> dict[str, list[str]]:
    """``make`` target -> the rows of the README's command table whose first cell names it."""
    section = readme.split("## Everyday commands", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("| `make "):
            target = re.match(r"\| `make ([a-z0-9-]+)", line)
            assert target is not None
            rows.setdefault(target[1], []).append(line)
    return rows


def without_code(text: str) -> str:
    """Markdown without fenced blocks and code spans (links and headings in them do not count)."""
    return re.sub(r"`[^`\n]*`", "", _FENCE_RE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, markup and punctuation dropped,
    lowercase, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, with GitHub's ``-1``, ``-2`` for repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", _FENCE_RE.sub("", text), re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """Relative links of a markdown page whose file or heading does not exist."""
    problems = []
    for target in _LINK_RE.findall(without_code(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{page.name}: {target}: no file {path}")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file.read_text())):
            problems.append(f"{page.name}: {target}: no heading #{anchor} in {file.name}")
    return problems


def purpose_problem(text: str) -> str | None:
    """Why a page does not open with a purpose sentence (its title, then a paragraph of
    prose that ends a sentence), or None."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        return "the first line is not a title (# ...)"
    paragraph: list[str] = []
    for line in lines[1:]:
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    if not paragraph:
        return "nothing follows the title"
    if re.match(r"^(#|\||```|<!--|>|[-*+] |\d+\. )", paragraph[0]):
        return f"the title is followed by {paragraph[0][:30]!r}, not a sentence"
    prose = " ".join(paragraph)
    if len(prose.split()) < 8 or not re.search(r"[a-z)`]\.(\s|$)", prose):
        return "the first paragraph is not a sentence of at least eight words"
    return None


def documents(page: str, variable: str) -> bool:
    """Whether a page names a variable in a code span (`NAME`, `NAME=value`, ...)."""
    return bool(re.search(rf"`[^`\n]*\b{re.escape(variable)}\b[^`\n]*`", page))


def undocumented(found: list[Message], page: str) -> list[str]:
    lines = page_lines(page)
    return [f"{m.path}:{m.line}: {m.text}" for m in found if not m.documented_in(lines)]


# ------------------------------------------------------------------ the checks


def test_every_make_target_is_in_the_readme_command_table_once() -> None:
    targets = makefile_targets(MAKEFILE.read_text())
    rows = command_table(README.read_text())
    assert sorted(targets - set(rows)) == [], "make targets missing from the README's command table"
    assert sorted(set(rows) - targets) == [], "the README's command table names targets the Makefile lacks"
    assert {t: len(r) for t, r in rows.items() if len(r) != 1} == {}, "a target in more than one row"


def test_every_command_row_links_to_its_details() -> None:
    for target, (row,) in command_table(README.read_text()).items():
        assert _LINK_RE.search(row.split("|")[-2]), f"make {target}: no link to the page with the details"


def test_every_override_variable_is_in_the_configuration_reference() -> None:
    page = CONFIGURATION.read_text()
    assert [v for v in OVERRIDE_VARIABLES if not documents(page, v)] == []


def test_every_make_input_is_documented_where_it_is_read() -> None:
    makefile, readme = MAKEFILE.read_text(), README.read_text()
    rows, steps = command_table(readme), recipes(makefile)
    missing = []
    for variable in makefile_inputs(makefile):
        readers = [t for t, recipe in steps.items() if re.search(rf"\b{variable}\b", recipe)]
        pages = {CONFIGURATION} | {
            (ROOT / link.partition("#")[0]).resolve() for t in readers for row in rows.get(t, []) for link in _LINK_RE.findall(row) if link.startswith("docs/")
        }
        if not any(documents(p.read_text(), variable) for p in pages):
            missing.append(f"{variable} (read by {', '.join(readers) or 'the tools'})")
    assert missing == []


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= README_LIMIT


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_page_opens_with_what_it_is_for(page: Path) -> None:
    assert purpose_problem(page.read_text()) is None


def test_every_error_message_of_the_code_is_in_troubleshooting() -> None:
    found = messages() + config_messages(OVERRIDE_VARIABLES)
    assert undocumented(found, TROUBLESHOOTING.read_text()) == []


def test_every_error_and_usage_line_of_the_makefile_is_in_troubleshooting() -> None:
    found = makefile_messages(MAKEFILE.read_text())
    assert len(found) >= 8
    assert undocumented(found, TROUBLESHOOTING.read_text()) == []


def test_every_catalogue_field_a_validator_names_is_in_the_configuration_reference() -> None:
    page = CONFIGURATION.read_text()
    fields = internal_fields(OVERRIDE_VARIABLES)
    assert sorted(f"{field} ({where[0]})" for field, where in fields.items() if f"`{field_name(field)}`" not in page) == []


def test_the_extraction_finds_every_kind_of_message() -> None:
    """Each way a message is built is found: a printed literal, a user-error exception,
    a function whose result is the exception's message, a function whose result is
    printed, a warning, a configuration error."""
    texts = {m.text for m in messages()} | {m.text for m in config_messages(OVERRIDE_VARIABLES)}
    for expected in (
        "give exactly one of IMAGE (make release) and FROM (make promote)",
        "<…> is production: set ALLOW_PROD=1 as well to tear it down",
        "no AWS region: set AWS_REGION (e.g. in settings.env) and run the command again",
        "EXPECT=<…> is invalid: the digest the source must run, sha256:<64 hex digits>",
        "warning: <…> is not read; did you mean <…>?",
        "no terraform on PATH",
        "a known AWS region such as us-east-1 or eu-west-2 (see stacks/config/regions.py)",
        "only applies together with ENVIRONMENT_SUFFIX (the standing environments have fixed CIDRs)",
    ):
        assert expected in texts


# ------------------------------------------------------------------ planted defects


def test_a_target_missing_from_the_table_is_found() -> None:
    makefile = MAKEFILE.read_text() + "\n## A target nobody documented\nfake-target: setup\n\ttrue\n"
    assert "fake-target" in makefile_targets(makefile) - set(command_table(README.read_text()))


def test_an_undocumented_variable_is_found() -> None:
    assert not documents(CONFIGURATION.read_text(), "NO_SUCH_VARIABLE")
    assert documents("set `STACK=order-api-dev` first", "STACK") and not documents("STACK, unquoted", "STACK")


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n[fine](b.md#the-heading), [gone](c.md), [wrong](b.md#nothing), [self](#a)\n\n`[code](x.md)`\n")
    (tmp_path / "b.md").write_text("# B\n\n## The heading\n")
    assert broken_links(tmp_path / "a.md") == ["a.md: c.md: no file c.md", "a.md: b.md#nothing: no heading #nothing in b.md"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Terraform Cloud / HCP Terraform", "terraform-cloud--hcp-terraform"),
        ("1. The state bucket: make bootstrap", "1-the-state-bucket-make-bootstrap"),
        ("The application's contract", "the-applications-contract"),
        ("`MonitoringConfig` fields", "monitoringconfig-fields"),
        ("Lifecycle: make e2e", "lifecycle-make-e2e"),
        ("Break glass: database access", "break-glass-database-access"),
    ],
)
def test_anchors_follow_githubs_slugs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("# T\n## Notes\n## Notes\n```\n## not a heading\n```\n") == {"t", "notes", "notes-1"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# T\n\n| a | b |\n", "not a sentence"),
        ("# T\n\n## Section\n\nText.\n", "not a sentence"),
        ("# T\n\nToo short.\n", "at least eight words"),
        ("Text without a title.\n", "not a title"),
        ("# T\n", "nothing follows"),
    ],
)
def test_a_page_without_a_purpose_sentence_is_found(text: str, problem: str) -> None:
    assert problem in (purpose_problem(text) or "")


def test_an_undocumented_message_is_found() -> None:
    planted = Message("tools/ops/deploy.py", 1, ("error: ", None, ": the flux capacitor is not charged; charge it first"))
    assert undocumented([planted], TROUBLESHOOTING.read_text()) == ["tools/ops/deploy.py:1: error: <…>: the flux capacitor is not charged; charge it first"]
    assert undocumented([planted], "| `error: <stack>: the flux capacitor is not charged; charge it first` | charge it |") == []


def test_a_message_is_matched_by_its_leading_text_within_one_line() -> None:
    message = Message("x.py", 1, ("error: cluster ", None, " not found in ", None, ": deploy ", None, " first"))
    assert message.key == ["cluster", "not found in", "deploy"]
    assert message.documented_in(["| `error: cluster <c> not found in <region>: deploy <stack> first` |"])
    assert message.documented_in(["cluster <c> not found in <region>: deploy it, then retry"]), "wording after the key may change"
    assert not message.documented_in(["cluster <c> not found", "in <region>: deploy <stack> first"]), "one line holds the key"
