"""One review comment per pull request, with one section per CI job.

The comment starts with a marker line (so CI finds it again) and holds named
sections (``synth-diff``, ``plan``), each between its own begin/end markers.
:func:`upsert_section` replaces one section and keeps the others, so the
synth diff and the plan summary share a single comment that is updated on
every push instead of piling up.  ``.ci/pr-comment`` does the GitHub API calls.

Usage: ``python -m tools.review.pr_comment EXISTING_BODY_FILE SECTION CONTENT_FILE > new_body.md``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from stacks import process

MARKER = "<!-- order-api-review -->"
#: Section order in the comment, whatever order the jobs finish in.
SECTION_ORDER = ("synth-diff", "plan")
_SECTION_RE = re.compile(r"<!-- begin:(?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)\n<!-- end:(?P=name) -->", re.DOTALL)


def parse_sections(body: str) -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in _SECTION_RE.finditer(body)}


def upsert_section(body: str, name: str, content: str) -> str:
    """The comment ``body`` with section ``name`` set to ``content`` (other sections kept)."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"section name {name!r}: lowercase letters, digits and hyphens only")
    sections = parse_sections(body)
    sections[name] = content.strip("\n")
    ordered = [n for n in SECTION_ORDER if n in sections] + sorted(n for n in sections if n not in SECTION_ORDER)
    parts = [MARKER] + [f"<!-- begin:{n} -->\n{sections[n]}\n<!-- end:{n} -->" for n in ordered]
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1] if __doc__ else "usage", file=sys.stderr)
        return 2
    existing = Path(argv[0]).read_text() if Path(argv[0]).is_file() else ""
    sys.stdout.write(upsert_section(existing, argv[1], Path(argv[2]).read_text()))
    return 0


if __name__ == "__main__":
    process.run(lambda: main(sys.argv[1:]))
