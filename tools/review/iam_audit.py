"""The pipeline's IAM policies, audited with Parliament and Cloudsplaining, every finding
fixed or excepted with a written reason (``policy/iam-exceptions.toml``).

- Parliament (duo-labs): malformed actions, resources that do not fit an action, unknown
  condition keys, privilege escalation paths, permissions-management actions.
- Cloudsplaining (salesforce, the version checkov pins): privilege escalation, data
  exfiltration, credentials exposure, service-wide wildcards.

The documents are :mod:`stacks.pipeline_policies`'s, with sample account values (the
identity stack synthesizes the same documents with Terraform references).  Offline: both
tools read IAM definitions they ship.  ``python -m tools.review.iam_audit`` prints the
unexplained findings and the stale exceptions, and exits 1 when there is either.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config.names import STANDING_ENVIRONMENTS
from stacks.pipeline_policies import (
    PROMOTED_FROM,
    Account,
    Document,
    boundary_document,
    deploy_documents,
    plan_document,
    release_document,
    shared_deploy_documents,
)
from tools.review.policy_scan import evaluate

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS_FILE = ROOT / "policy" / "iam-exceptions.toml"
SAMPLE = Account("aws", "123456789012", "order-api-terraform-state", "alias/order-api-terraform-state")
#: Cloudsplaining's risk categories, as its PolicyDocument names them.
CLOUDSPLAINING = (
    "allows_privilege_escalation",
    "permissions_management_without_constraints",
    "allows_data_exfiltration_actions",
    "credentials_exposure",
    "service_wildcard",
    "infrastructure_modification",
)


@dataclass(frozen=True)
class Finding:
    tool: str
    document: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.tool} {self.document} {self.issue}: {self.detail[:300]}"


@dataclass(frozen=True)
class Exception_:
    tool: str
    issue: str
    documents: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return self.tool == finding.tool and self.issue == finding.issue and any(fnmatch.fnmatchcase(finding.document, d) for d in self.documents)


def documents(account: Account = SAMPLE, repository: str = "order-api") -> dict[str, Document]:
    """Every pipeline policy document, by the name its managed policy has."""
    found = {"plan": plan_document(account), "boundary": boundary_document(account)}
    found |= {f"shared-deploy-{i}": doc for i, doc in enumerate(shared_deploy_documents(account, repository))}
    for env in STANDING_ENVIRONMENTS:
        found |= {f"{env}-deploy-{i}": doc for i, doc in enumerate(deploy_documents(account, env))}
        found[f"{env}-release"] = release_document(account, env, PROMOTED_FROM[env], repository)
    return found


def parliament_findings(name: str, document: Document) -> list[Finding]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports the deprecated pkg_resources
        import parliament  # type: ignore[import-untyped]
        from parliament import analyze_policy_string, enhance_finding, override_config

    override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    policy = analyze_policy_string(json.dumps(document), name, include_community_auditors=True)
    return [Finding("parliament", name, f.issue, json.dumps(f.detail, sort_keys=True, default=str)) for f in map(enhance_finding, policy.findings)]


def cloudsplaining_findings(name: str, document: Document) -> list[Finding]:
    from cloudsplaining.scan.policy_document import PolicyDocument

    scanned = PolicyDocument(document)
    return [Finding("cloudsplaining", name, risk, json.dumps(sorted(map(str, getattr(scanned, risk))))) for risk in CLOUDSPLAINING if getattr(scanned, risk)]


def audit(found: dict[str, Document]) -> list[Finding]:
    return [finding for name, doc in sorted(found.items()) for finding in (*parliament_findings(name, doc), *cloudsplaining_findings(name, doc))]


def load_exceptions(path: Path = EXCEPTIONS_FILE) -> list[Exception_]:
    data: dict[str, Any] = tomllib.loads(path.read_text())
    return [Exception_(e["tool"], e["issue"], tuple(e["documents"]), e["reason"]) for e in data.get("exception", [])]


def main() -> int:
    findings = audit(documents())
    unexplained, stale = evaluate(findings, load_exceptions())
    for finding in unexplained:
        print(f"unexplained: {finding}")
    for exception in stale:
        print(f"stale exception: {exception.tool} {exception.issue} {', '.join(exception.documents)}")
    excepted = len(findings) - len(unexplained)
    print(f"iam audit: {len(findings)} findings, {excepted} excepted with a reason, {len(unexplained)} unexplained, {len(stale)} stale exceptions")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    process.run(main)
