"""Repository security advisories: a create request checked as GitHub checks it, and the JSON."""

from __future__ import annotations

import math
import random
import re
from typing import Any

from bot.sandbox.shapes import Urls, account
from bot.sandbox.world import (
    Account,
    Advisory,
    AdvisoryVulnerability,
    ApiError,
    Repository,
    World,
    iso,
)

DOCS_ADVISORIES = "https://docs.github.com/rest/security-advisories/repository-advisories"
DOCS_CREATE = f"{DOCS_ADVISORIES}#create-a-repository-security-advisory"

SUMMARY_LIMIT = 1024
DESCRIPTION_LIMIT = 65_535
SEVERITIES = ("critical", "high", "medium", "low")
ECOSYSTEMS = (
    "rubygems",
    "npm",
    "pip",
    "maven",
    "nuget",
    "composer",
    "go",
    "rust",
    "erlang",
    "actions",
    "pub",
    "other",
    "swift",
)
CREDIT_TYPES = (
    "analyst",
    "finder",
    "reporter",
    "coordinator",
    "remediation_developer",
    "remediation_reviewer",
    "remediation_verifier",
    "tool",
    "sponsor",
    "other",
)
# The characters of GHSA ids: digits and letters that cannot spell words (no vowels).
GHSA_ALPHABET = "23456789cfghjmpqrvwx"
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_CWE = re.compile(r"^CWE-\d+$")
# `cwes` carries each weakness's name; GitHub looks them up in MITRE's list, the sandbox knows
# the common ones and names any other by its id.
CWE_NAMES = {
    "CWE-20": "Improper Input Validation",
    "CWE-22": "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')",
    "CWE-77": "Improper Neutralization of Special Elements used in a Command ('Command Injection')",
    "CWE-78": "Improper Neutralization of Special Elements used in an OS Command "
    "('OS Command Injection')",
    "CWE-79": "Improper Neutralization of Input During Web Page Generation "
    "('Cross-site Scripting')",
    "CWE-89": "Improper Neutralization of Special Elements used in an SQL Command "
    "('SQL Injection')",
    "CWE-94": "Improper Control of Generation of Code ('Code Injection')",
    "CWE-125": "Out-of-bounds Read",
    "CWE-190": "Integer Overflow or Wraparound",
    "CWE-200": "Exposure of Sensitive Information to an Unauthorized Actor",
    "CWE-287": "Improper Authentication",
    "CWE-295": "Improper Certificate Validation",
    "CWE-352": "Cross-Site Request Forgery (CSRF)",
    "CWE-400": "Uncontrolled Resource Consumption",
    "CWE-416": "Use After Free",
    "CWE-434": "Unrestricted Upload of File with Dangerous Type",
    "CWE-476": "NULL Pointer Dereference",
    "CWE-502": "Deserialization of Untrusted Data",
    "CWE-601": "URL Redirection to Untrusted Site ('Open Redirect')",
    "CWE-611": "Improper Restriction of XML External Entity Reference",
    "CWE-770": "Allocation of Resources Without Limits or Throttling",
    "CWE-787": "Out-of-bounds Write",
    "CWE-862": "Missing Authorization",
    "CWE-863": "Incorrect Authorization",
    "CWE-918": "Server-Side Request Forgery (SSRF)",
    "CWE-1321": "Improperly Controlled Modification of Object Prototype Attributes "
    "('Prototype Pollution')",
    "CWE-1333": "Inefficient Regular Expression Complexity",
}

# CVSS 3.x base metrics and their weights (FIRST's specification, section 7.4).
_CVSS3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "PR": {"N": 0.85, "L": 0.62, "H": 0.27},
    "UI": {"N": 0.85, "R": 0.62},
    "S": {"U": 0.0, "C": 0.0},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
# Privileges weigh more when the scope changes.
_CVSS3_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}


def _invalid(detail: str) -> ApiError:
    """GitHub checks this endpoint's body against its schema, as it does check runs'."""
    return ApiError(422, f"Invalid request.\n\n{detail}", DOCS_CREATE)


def _roundup(value: float) -> float:
    """CVSS 3.1's Roundup: the smallest one-decimal number not below `value`, float-safe."""
    whole = round(value * 100_000)
    if whole % 10_000 == 0:
        return whole / 100_000
    return (math.floor(whole / 10_000) + 1) / 10


def cvss3_score(vector: str) -> float | None:
    """The base score of a CVSS 3.0/3.1 vector (None: not one with exactly the base metrics)."""
    prefix, _, rest = vector.partition("/")
    if prefix not in ("CVSS:3.0", "CVSS:3.1") or not rest:
        return None
    metrics: dict[str, str] = {}
    for part in rest.split("/"):
        key, _, value = part.partition(":")
        if key in metrics or value not in _CVSS3_WEIGHTS.get(key, {}):
            return None
        metrics[key] = value
    if set(metrics) != set(_CVSS3_WEIGHTS):
        return None
    w = {key: _CVSS3_WEIGHTS[key][value] for key, value in metrics.items()}
    changed = metrics["S"] == "C"
    if changed:
        w["PR"] = _CVSS3_PR_CHANGED[metrics["PR"]]
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * w["AV"] * w["AC"] * w["PR"] * w["UI"]
    if impact <= 0:
        return 0.0
    total = (impact + exploitability) * (1.08 if changed else 1.0)
    return _roundup(min(total, 10.0))


def severity_of(score: float) -> str:
    """CVSS's qualitative rating (a score of 0, "none" to CVSS, has no advisory severity)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def new_ghsa_id(world: World) -> str:
    """A fresh `GHSA-xxxx-xxxx-xxxx`, from the world's id counter so runs repeat."""
    rng = random.Random(world.next_id())
    taken = {ghsa for repo in world.repos.values() for ghsa in repo.advisories}
    while True:
        groups = ["".join(rng.choices(GHSA_ALPHABET, k=4)) for _ in range(3)]
        ghsa = "GHSA-" + "-".join(groups)
        if ghsa not in taken:
            return ghsa


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _invalid(f'"{key}" wasn\'t supplied.')
    if not isinstance(value, str):
        raise _invalid(f'"{key}" must be a string.')
    if len(value) > limit:
        raise _invalid(f"Only {limit} characters are allowed; {len(value)} were supplied.")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(f'"{key}" must be a string.')
    return value


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f'"{key}" must be an array of strings.')
    return value


def _vulnerability(item: Any) -> AdvisoryVulnerability:
    if not isinstance(item, dict):
        raise _invalid('Each of "vulnerabilities" must be an object.')
    package = item.get("package")
    if package is None:
        raise _invalid('"package" wasn\'t supplied.')
    if not isinstance(package, dict):
        raise _invalid('"package" must be an object.')
    ecosystem = package.get("ecosystem")
    if ecosystem is None:
        raise _invalid('"ecosystem" wasn\'t supplied.')
    if ecosystem not in ECOSYSTEMS:
        raise _invalid(f"{_quoted(ecosystem)} is not a valid ecosystem.")
    return AdvisoryVulnerability(
        ecosystem=ecosystem,
        package=_optional_str(package, "name"),
        vulnerable_version_range=_optional_str(item, "vulnerable_version_range"),
        patched_versions=_optional_str(item, "patched_versions"),
        vulnerable_functions=_strings(item, "vulnerable_functions"),
    )


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _credits(world: World, body: dict[str, Any]) -> list[tuple[Account, str]]:
    raw = body.get("credits")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _invalid('"credits" must be an array.')
    out: list[tuple[Account, str]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("login"), str):
            raise _invalid('"login" wasn\'t supplied.')
        kind = item.get("type")
        if kind not in CREDIT_TYPES:
            raise _invalid(f"{_quoted(kind)} is not a valid credit type.")
        who = world.accounts.get(item["login"].lower())
        if who is None:
            raise _invalid(f"{_quoted(item['login'])} is not a user that can be credited.")
        out.append((who, kind))
    return out


def create_advisory(
    world: World, repo: Repository, author: Account, body: dict[str, Any]
) -> Advisory:
    """Check a create request completely, then file a draft advisory: a 422 files nothing."""
    summary = _text(body, "summary", SUMMARY_LIMIT)
    description = _text(body, "description", DESCRIPTION_LIMIT)
    raw_vulnerabilities = body.get("vulnerabilities")
    if raw_vulnerabilities is None:
        raise _invalid('"vulnerabilities" wasn\'t supplied.')
    if not isinstance(raw_vulnerabilities, list):
        raise _invalid('"vulnerabilities" must be an array.')
    vulnerabilities = [_vulnerability(item) for item in raw_vulnerabilities]
    cve_id = _optional_str(body, "cve_id")
    if cve_id is not None and not _CVE.match(cve_id):
        raise _invalid(f"{_quoted(cve_id)} is not a valid CVE id.")
    cwe_ids = _strings(body, "cwe_ids")
    for cwe in cwe_ids:
        if not _CWE.match(cwe):
            raise _invalid(f"{_quoted(cwe)} is not a valid CWE id.")
    severity = body.get("severity")
    vector = _optional_str(body, "cvss_vector_string")
    if severity is not None and severity not in SEVERITIES:
        raise _invalid(f"{_quoted(severity)} is not a valid severity.")
    if severity is not None and vector is not None:
        raise _invalid('Only one of "severity" and "cvss_vector_string" may be supplied.')
    score = None
    if vector is not None:
        score = cvss3_score(vector)
        if score is None:
            # CVSS 4.0 is valid on GitHub too; the sandbox scores 3.x only (docs/sandbox.md).
            raise _invalid(f"{_quoted(vector)} is not a valid CVSS 3 vector string.")
        severity = severity_of(score)
    credits = _credits(world, body)
    now = world.now()
    advisory = Advisory(
        ghsa_id=new_ghsa_id(world),
        summary=summary,
        description=description,
        author=author,
        created_at=now,
        updated_at=now,
        vulnerabilities=vulnerabilities,
        severity=severity,
        cvss_vector_string=vector,
        cvss_score=score,
        cve_id=cve_id,
        cwe_ids=list(cwe_ids),
        credits=credits,
    )
    repo.advisories[advisory.ghsa_id] = advisory
    return advisory


def advisory_json(repo: Repository, adv: Advisory, urls: Urls) -> dict[str, Any]:
    """A `repository-advisory` (its schema forbids any other key)."""
    identifiers = [{"type": "GHSA", "value": adv.ghsa_id}]
    if adv.cve_id is not None:
        identifiers.append({"type": "CVE", "value": adv.cve_id})
    cvss_v3 = {"vector_string": adv.cvss_vector_string, "score": adv.cvss_score}
    return {
        "ghsa_id": adv.ghsa_id,
        "cve_id": adv.cve_id,
        "url": f"{urls.repo(repo)}/security-advisories/{adv.ghsa_id}",
        "html_url": f"{urls.html}/{repo.full_name}/security/advisories/{adv.ghsa_id}",
        "summary": adv.summary,
        "description": adv.description,
        "severity": adv.severity,
        "author": account(adv.author, urls),
        "publisher": None,
        "identifiers": identifiers,
        "state": adv.state,
        "created_at": iso(adv.created_at),
        "updated_at": iso(adv.updated_at),
        "published_at": None,
        "closed_at": None,
        "withdrawn_at": None,
        "submission": None,
        "vulnerabilities": [
            {
                "package": {"ecosystem": v.ecosystem, "name": v.package},
                "vulnerable_version_range": v.vulnerable_version_range,
                "patched_versions": v.patched_versions,
                "vulnerable_functions": list(v.vulnerable_functions),
            }
            for v in adv.vulnerabilities
        ],
        "cvss": dict(cvss_v3),
        "cvss_severities": {
            "cvss_v3": cvss_v3,
            "cvss_v4": {"vector_string": None, "score": None},
        },
        "cwes": [{"cwe_id": c, "name": CWE_NAMES.get(c, c)} for c in adv.cwe_ids],
        "cwe_ids": list(adv.cwe_ids),
        "credits": [{"login": who.login, "type": kind} for who, kind in adv.credits],
        "credits_detailed": [
            {"user": account(who, urls), "type": kind, "state": "pending"}
            for who, kind in adv.credits
        ],
        "collaborating_users": None,
        "collaborating_teams": None,
        "private_fork": None,
    }
