"""The sandbox's checks and statuses, permissions and teams, and releases."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import REPO, git, payloads

from bot.sandbox import Sandbox
from tests.contract.examples import assert_has_example_fields

pytest_plugins = ["sandbox_fixtures"]


# --- checks and statuses -----------------------------------------------------------------


async def test_another_apps_checks_complete_their_suite_with_webhooks(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    assert head is not None
    await sandbox.start_check(REPO, head, "build")
    await sandbox.complete_check(REPO, head, "lint", "success")
    assert payloads(sandbox, "check_suite") == []

    await sandbox.complete_check(REPO, head, "build", "failure")
    suites = (await gh.get(f"/repos/{REPO}/commits/{head}/check-suites")).json()

    [suite] = suites["check_suites"]
    assert (suite["status"], suite["conclusion"]) == ("completed", "failure")
    assert suite["app"]["slug"] == "ci"
    assert suite["head_branch"] == "main"
    assert suite["latest_check_runs_count"] == 2
    [completed] = payloads(sandbox, "check_suite", "completed")
    assert completed["check_suite"]["conclusion"] == "failure"
    assert completed["sender"]["login"] == "ci[bot]"
    assert_has_example_fields("check_suite", "completed", completed)
    runs = payloads(sandbox, "check_run", "completed")
    assert [(r["check_run"]["name"], r["check_run"]["app"]["slug"]) for r in runs] == [
        ("lint", "ci"),
        ("build", "ci"),
    ]


async def test_the_apps_own_check_runs_make_its_own_suite(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    await sandbox.complete_check(REPO, str(head), "build", "success")

    await gh.post(
        f"/repos/{REPO}/check-runs",
        json={
            "name": "lts/gate",
            "head_sha": head,
            "conclusion": "success",
            "output": {"title": "ok", "summary": "ok"},
        },
    )
    suites = (await gh.get(f"/repos/{REPO}/commits/main/check-suites")).json()

    assert sorted(s["app"]["slug"] for s in suites["check_suites"]) == ["ci", "lts-bot"]
    senders = [p["sender"]["login"] for p in payloads(sandbox, "check_suite", "completed")]
    assert senders == ["ci[bot]", "lts-bot[bot]"]


async def test_commit_statuses_combine_into_one_state(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    await sandbox.set_status(REPO, str(head), "pending", context="ci/build", user="bob")
    created = await gh.post(
        f"/repos/{REPO}/statuses/{head}",
        json={"state": "success", "context": "lts/gate", "description": "ok"},
    )
    pending = (await gh.get(f"/repos/{REPO}/commits/main/status")).json()
    await sandbox.set_status(REPO, str(head), "success", context="ci/build", user="bob")
    success = (await gh.get(f"/repos/{REPO}/commits/{head}/status")).json()
    await sandbox.set_status(REPO, str(head), "error", context="ci/other", user="bob")
    failure = (await gh.get(f"/repos/{REPO}/commits/{head}/status")).json()
    every = (await gh.get(f"/repos/{REPO}/commits/{head}/statuses")).json()
    missing = await gh.post(f"/repos/{REPO}/statuses/{'f' * 40}", json={"state": "success"})

    assert created.status_code == 201
    assert created.json()["creator"]["login"] == "lts-bot[bot]"
    assert (pending["state"], pending["total_count"]) == ("pending", 2)
    assert (success["state"], success["total_count"]) == ("success", 2)
    assert failure["state"] == "failure"
    assert [s["state"] for s in every] == ["error", "success", "success", "pending"]
    assert missing.status_code == 422
    statuses = payloads(sandbox, "status")
    assert [(p["context"], p["state"], p["sender"]["login"]) for p in statuses][:2] == [
        ("ci/build", "pending", "bob"),
        ("lts/gate", "success", "lts-bot[bot]"),
    ]
    assert statuses[0]["branches"][0]["name"] == "main"


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permission"),
    [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
        (None, "none"),
    ],
)
async def test_collaborator_permission_folds_roles_as_github_does(
    sandbox: Sandbox, gh: httpx.AsyncClient, role: str | None, permission: str
) -> None:
    if role is not None:
        sandbox.set_permission(REPO, "carol", role)  # type: ignore[arg-type]

    answer = (await gh.get(f"/repos/{REPO}/collaborators/carol/permission")).json()

    assert answer["permission"] == permission
    assert answer["role_name"] == (role or "none")
    assert answer["user"]["login"] == "carol"
    assert answer["user"]["permissions"]["pull"] is (role is not None)


async def test_unknown_users_have_no_permission_to_look_up(gh: httpx.AsyncClient) -> None:
    answer = await gh.get(f"/repos/{REPO}/collaborators/ghost/permission")

    assert answer.status_code == 404


async def test_team_membership_is_active_with_a_role_or_404(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    sandbox.add_team("acme", "lts-maintainers", ["bob"], maintainers=["carol"])
    sandbox.add_team("other-org", "team", ["bob"])

    member = await gh.get("/orgs/acme/teams/lts-maintainers/memberships/bob")
    maintainer = await gh.get("/orgs/acme/teams/lts-maintainers/memberships/carol")
    outsider = await gh.get("/orgs/acme/teams/lts-maintainers/memberships/alice")
    no_team = await gh.get("/orgs/acme/teams/nope/memberships/bob")
    elsewhere = await gh.get("/orgs/other-org/teams/team/memberships/bob")
    members = await gh.get("/orgs/acme/teams/lts-maintainers/members")
    only_maintainers = await gh.get(
        "/orgs/acme/teams/lts-maintainers/members", params={"role": "maintainer"}
    )

    assert member.json() == {
        "url": member.json()["url"],
        "role": "member",
        "state": "active",
    }
    assert maintainer.json()["role"] == "maintainer"
    assert [r.status_code for r in (outsider, no_team, elsewhere)] == [404, 404, 404]
    assert [u["login"] for u in members.json()] == ["bob", "carol"]
    assert [u["login"] for u in only_maintainers.json()] == ["carol"]


# --- releases ---------------------------------------------------------------------------------


async def test_a_draft_release_is_published_with_its_tag_and_webhooks(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    main = await sandbox.branch_head(REPO, "main")
    url = f"/repos/{REPO}/releases"

    draft = await gh.post(
        url, json={"tag_name": "v1.4.0", "name": "1.4.0", "body": "notes", "draft": True}
    )
    release_id = draft.json()["id"]
    untagged = await gh.get(f"{url}/tags/v1.4.0")
    no_latest = await gh.get(f"{url}/latest")
    published = await gh.patch(f"{url}/{release_id}", json={"draft": False})
    by_tag = await gh.get(f"{url}/tags/v1.4.0")
    latest = await gh.get(f"{url}/latest")
    duplicate = await gh.post(url, json={"tag_name": "v1.4.0"})

    assert draft.status_code == 201
    assert (draft.json()["draft"], draft.json()["published_at"]) == (True, None)
    assert (untagged.status_code, no_latest.status_code) == (404, 404)
    assert published.json()["draft"] is False
    assert published.json()["published_at"] is not None
    assert by_tag.json()["id"] == latest.json()["id"] == release_id
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == [
        {"resource": "Release", "code": "already_exists", "field": "tag_name"}
    ]
    assert git(sandbox.git_dir(REPO), "rev-parse", "v1.4.0") == main
    actions = [p["action"] for p in payloads(sandbox, "release")]
    assert actions == ["created", "published", "released"]
    for payload in payloads(sandbox, "release"):
        assert_has_example_fields("release", payload["action"], payload)
        assert payload["sender"]["login"] == "lts-bot[bot]"


async def test_a_user_publishes_a_prerelease_then_edits_it_into_a_release(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await sandbox.push_commits(REPO, "release-lts/v1.4", {"v": "1.4.1"}, author="bob")

    rc = await sandbox.publish_release(
        REPO, "v1.4.1-rc1", user="bob", target="release-lts/v1.4", prerelease=True
    )
    tags = (await gh.get(f"/repos/{REPO}/tags")).json()
    still_none = await gh.get(f"/repos/{REPO}/releases/latest")
    final = await gh.patch(
        f"/repos/{REPO}/releases/{rc.id}", json={"prerelease": False, "name": "1.4.1"}
    )

    assert [t["name"] for t in tags] == ["v1.4.1-rc1"]
    assert still_none.status_code == 404
    assert final.json()["prerelease"] is False
    actions = [(p["action"], p["sender"]["login"]) for p in payloads(sandbox, "release")]
    assert actions == [
        ("created", "bob"),
        ("published", "bob"),
        ("prereleased", "bob"),
        ("edited", "lts-bot[bot]"),
        ("released", "lts-bot[bot]"),
    ]
    [edited] = payloads(sandbox, "release", "edited")
    assert edited["changes"] == {"name": {"from": "v1.4.1-rc1"}}
    listed = (await gh.get(f"/repos/{REPO}/releases")).json()
    assert [r["tag_name"] for r in listed] == ["v1.4.1-rc1"]
