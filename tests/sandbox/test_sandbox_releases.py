"""The sandbox's release assets and repository security advisories."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sandbox_helpers import REPO, payloads

from bot.sandbox import ApiError, Sandbox
from tests.contract.checker import ContractChecker
from tests.contract.examples import assert_has_example_fields

pytest_plugins = ["sandbox_fixtures"]

RELEASES = f"/repos/{REPO}/releases"
ADVISORIES = f"/repos/{REPO}/security-advisories"
GHSA = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$")
TARBALL = b"widgets 1.4.0 sources"


def names(release: dict[str, Any]) -> list[str]:
    return [a["name"] for a in release["assets"]]


# --- release assets ----------------------------------------------------------------------------


async def test_assets_show_on_a_draft_and_in_every_listing_once_it_is_published(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    draft = await gh.post(RELEASES, json={"tag_name": "v1.4.0", "name": "1.4.0", "draft": True})
    release_id = draft.json()["id"]
    mark = len(sandbox.deliveries)
    tarball = await sandbox.attach_release_asset(
        REPO, "v1.4.0", "widgets-1.4.0.tar.gz", TARBALL, user="bob", content_type="application/gzip"
    )
    await sandbox.attach_release_asset(REPO, "v1.4.0", "SHA256SUMS", b"abc  x\n", user="bob")
    uploads_sent = sandbox.deliveries[mark:]
    listed_draft = (await gh.get(RELEASES)).json()
    renamed = await gh.patch(f"{RELEASES}/{release_id}", json={"name": "1.4.0 LTS"})

    await sandbox.publish_release(REPO, "v1.4.0", user="carol")
    listed = (await gh.get(RELEASES)).json()
    by_id = (await gh.get(f"{RELEASES}/{release_id}")).json()
    by_tag = (await gh.get(f"{RELEASES}/tags/v1.4.0")).json()
    latest = (await gh.get(f"{RELEASES}/latest")).json()

    assert draft.json()["assets"] == []
    assert uploads_sent == []  # GitHub sends no webhook for an upload
    [as_draft] = listed_draft  # the App has push access: it sees drafts
    assert as_draft["draft"] is True
    assert names(as_draft) == names(renamed.json()) == ["widgets-1.4.0.tar.gz", "SHA256SUMS"]
    draft_asset = as_draft["assets"][0]
    assert draft_asset["browser_download_url"].endswith(
        f"/{REPO}/releases/download/untagged-{release_id}/widgets-1.4.0.tar.gz"
    )
    for release in (listed[0], by_id, by_tag, latest):
        assert release["id"] == release_id
        assert names(release) == ["widgets-1.4.0.tar.gz", "SHA256SUMS"]
    asset = by_tag["assets"][0]
    assert asset == {
        "url": f"{sandbox.url}/repos/{REPO}/releases/assets/{tarball.id}",
        "browser_download_url": (
            f"{sandbox.url}/{REPO}/releases/download/v1.4.0/widgets-1.4.0.tar.gz"
        ),
        "id": tarball.id,
        "node_id": asset["node_id"],
        "name": "widgets-1.4.0.tar.gz",
        "label": None,
        "state": "uploaded",
        "content_type": "application/gzip",
        "size": len(TARBALL),
        "digest": "sha256:" + hashlib.sha256(TARBALL).hexdigest(),
        "download_count": 0,
        "created_at": draft_asset["created_at"],
        "updated_at": draft_asset["updated_at"],
        "uploader": asset["uploader"],
    }
    assert (asset["uploader"]["login"], asset["uploader"]["type"]) == ("bob", "User")
    assert by_tag["assets"][1]["content_type"] == "application/octet-stream"
    [published] = payloads(sandbox, "release", "published")
    assert published["sender"]["login"] == "carol"
    assert published["release"]["assets"] == by_tag["assets"]
    assert_has_example_fields("release", "published", published)
    # Every answer above was checked against GitHub's `release` schema as it was observed.
    assert contract.violations == []


async def test_an_asset_name_is_taken_once_per_release(sandbox: Sandbox, widgets: int) -> None:
    v14 = await sandbox.publish_release(REPO, "v1.4.0", user="bob")
    await sandbox.publish_release(REPO, "v1.5.0", user="bob")
    await sandbox.attach_release_asset(REPO, "v1.4.0", "widgets.whl", b"one", user="bob")

    with pytest.raises(ApiError) as refused:
        await sandbox.attach_release_asset(REPO, "v1.4.0", "widgets.whl", b"two", user="carol")
    on_another = await sandbox.attach_release_asset(
        REPO, "v1.5.0", "widgets.whl", b"two", user="carol"
    )
    with pytest.raises(KeyError, match="no release of 'v9'"):
        await sandbox.attach_release_asset(REPO, "v9", "widgets.whl", user="bob")
    with pytest.raises(ValueError, match="rename"):
        await sandbox.attach_release_asset(REPO, "v1.5.0", "my widgets.whl", user="bob")

    assert refused.value.status == 422
    assert refused.value.errors == [
        {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
    ]
    assert on_another.size == 3
    assert [a.content for a in v14.assets] == [b"one"]


# --- security advisories ------------------------------------------------------------------------


ADVISORY: dict[str, Any] = {
    "summary": "Path traversal in widgets.load",
    "description": "`widgets.load` follows `..` out of the data directory.",
    "severity": "high",
    "cve_id": "CVE-2025-12345",
    "cwe_ids": ["CWE-22"],
    "vulnerabilities": [
        {
            "package": {"ecosystem": "pip", "name": "widgets"},
            "vulnerable_version_range": ">= 1.4.0, < 1.4.1",
            "patched_versions": "1.4.1",
            "vulnerable_functions": ["widgets.load"],
        }
    ],
    "credits": [{"login": "carol", "type": "reporter"}],
}


async def test_the_app_files_a_draft_advisory(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    mark = len(sandbox.deliveries)

    created = await gh.post(ADVISORIES, json=ADVISORY)

    assert created.status_code == 201
    body = created.json()
    ghsa = body["ghsa_id"]
    assert GHSA.match(ghsa)
    assert body["url"] == f"{sandbox.url}/repos/{REPO}/security-advisories/{ghsa}"
    assert body["html_url"] == f"{sandbox.url}/{REPO}/security/advisories/{ghsa}"
    assert body["identifiers"] == [
        {"type": "GHSA", "value": ghsa},
        {"type": "CVE", "value": "CVE-2025-12345"},
    ]
    assert (body["state"], body["severity"], body["cve_id"]) == ("draft", "high", "CVE-2025-12345")
    assert body["author"]["login"] == "lts-bot[bot]"
    for key in ("publisher", "published_at", "closed_at", "withdrawn_at", "submission"):
        assert body[key] is None, key
    assert body["cvss"] == {"vector_string": None, "score": None}
    assert body["vulnerabilities"] == ADVISORY["vulnerabilities"]
    assert body["cwe_ids"] == ["CWE-22"]
    assert [c["cwe_id"] for c in body["cwes"]] == ["CWE-22"]
    assert "Path Traversal" in body["cwes"][0]["name"]
    assert body["credits"] == [{"login": "carol", "type": "reporter"}]
    [credit] = body["credits_detailed"]
    assert (credit["user"]["login"], credit["type"], credit["state"]) == (
        "carol",
        "reporter",
        "pending",
    )
    [filed] = sandbox.advisories(REPO)
    assert (filed.ghsa_id, filed.summary, filed.state) == (ghsa, ADVISORY["summary"], "draft")
    assert filed.vulnerabilities[0].package == "widgets"
    assert filed.credits[0][0].login == "carol"
    assert sandbox.deliveries[mark:] == []  # a draft is private: no webhook
    # The 201 was validated against GitHub's `repository-advisory` schema when observed.
    assert contract.violations == []


async def test_a_minimal_advisory_and_one_scored_by_its_cvss_vector(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    vulnerable = [{"package": {"ecosystem": "pip"}}]
    minimal = await gh.post(
        ADVISORIES, json={"summary": "s", "description": "d", "vulnerabilities": vulnerable}
    )
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    scored = await gh.post(
        ADVISORIES,
        json={
            "summary": "RCE",
            "description": "d",
            "vulnerabilities": vulnerable,
            "cvss_vector_string": vector,
            "severity": None,
        },
    )

    assert minimal.status_code == 201
    assert minimal.json()["severity"] is None
    assert minimal.json()["identifiers"] == [{"type": "GHSA", "value": minimal.json()["ghsa_id"]}]
    assert minimal.json()["vulnerabilities"] == [
        {
            "package": {"ecosystem": "pip", "name": None},
            "vulnerable_version_range": None,
            "patched_versions": None,
            "vulnerable_functions": [],
        }
    ]
    assert (minimal.json()["credits"], minimal.json()["credits_detailed"]) == ([], [])
    assert (minimal.json()["cwes"], minimal.json()["cwe_ids"]) == ([], [])
    assert scored.status_code == 201
    assert scored.json()["cvss"] == {"vector_string": vector, "score": 9.8}
    assert scored.json()["severity"] == "critical"
    assert minimal.json()["ghsa_id"] != scored.json()["ghsa_id"]
    assert [a.summary for a in sandbox.advisories(REPO)] == ["s", "RCE"]


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in ADVISORY.items() if k != key}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(_without("summary"), '"summary" wasn\'t supplied', id="no-summary"),
        pytest.param(
            {**ADVISORY, "summary": "x" * 1025}, "Only 1024 characters", id="long-summary"
        ),
        pytest.param({**ADVISORY, "severity": "urgent"}, '"urgent" is not', id="bad-severity"),
        pytest.param(
            {**ADVISORY, "cvss_vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            '"severity" and "cvss_vector_string"',
            id="severity-and-cvss",
        ),
        pytest.param(
            _without("vulnerabilities"), '"vulnerabilities" wasn\'t supplied', id="no-vulns"
        ),
        pytest.param(
            {**ADVISORY, "vulnerabilities": [{"package": {"name": "widgets"}}]},
            '"ecosystem" wasn\'t supplied',
            id="no-ecosystem",
        ),
        pytest.param(
            {**ADVISORY, "vulnerabilities": [{"package": {"ecosystem": "cargo"}}]},
            '"cargo" is not a valid ecosystem',
            id="bad-ecosystem",
        ),
        pytest.param({**ADVISORY, "cve_id": "2025-1"}, "not a valid CVE id", id="bad-cve"),
    ],
)
async def test_an_advisory_github_would_refuse_is_a_422_and_files_nothing(
    sandbox: Sandbox,
    gh: httpx.AsyncClient,
    contract: ContractChecker,
    body: dict[str, Any],
    says: str,
) -> None:
    with contract.expect_invalid_requests():
        refused = await gh.post(ADVISORIES, json=body)

    assert refused.status_code == 422
    assert refused.json()["message"].startswith("Invalid request.\n\n")
    assert says in refused.json()["message"]
    assert refused.json()["documentation_url"].endswith("#create-a-repository-security-advisory")
    assert sandbox.advisories(REPO) == []


async def test_an_app_without_the_advisories_permission_gets_a_403(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    # The sandbox does not enforce App permissions; fail_next answers as GitHub would.
    denied = sandbox.fail_next(
        "POST",
        r"/security-advisories$",
        403,
        body={
            "message": "Resource not accessible by integration",
            "documentation_url": (
                "https://docs.github.com/rest/security-advisories/repository-advisories"
                "#create-a-repository-security-advisory"
            ),
            "status": "403",
        },
    )

    refused = await gh.post(ADVISORIES, json=ADVISORY)
    filed_later = await gh.post(ADVISORIES, json=ADVISORY)

    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert denied.hits == 1
    assert filed_later.status_code == 201
    assert [a.ghsa_id for a in sandbox.advisories(REPO)] == [filed_later.json()["ghsa_id"]]


async def test_advisories_take_an_installation_token_for_an_installed_repository(
    sandbox: Sandbox, gh: httpx.AsyncClient, api: httpx.AsyncClient, mint_jwt: Callable[..., str]
) -> None:
    await sandbox.create_repo("acme/gadgets", files={"README.md": "hi"})

    elsewhere = await gh.post("/repos/acme/gadgets/security-advisories", json=ADVISORY)
    as_app = await api.post(
        ADVISORIES, json=ADVISORY, headers={"Authorization": f"Bearer {mint_jwt()}"}
    )
    anonymous = await api.post(ADVISORIES, json=ADVISORY)

    assert elsewhere.status_code == 404
    assert as_app.status_code == 403
    assert as_app.json()["message"] == "Resource not accessible by integration"
    assert anonymous.status_code == 401
    assert sandbox.advisories(REPO) == sandbox.advisories("acme/gadgets") == []
