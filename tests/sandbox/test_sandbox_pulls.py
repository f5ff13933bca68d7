"""The sandbox's pull request API: pulls, commits and files, reviews, review requests."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import REPO, payloads, sent

from bot.sandbox import Sandbox
from tests.contract.checker import ContractChecker
from tests.contract.examples import assert_has_example_fields

pytest_plugins = ["sandbox_fixtures"]

PULLS = f"/repos/{REPO}/pulls"


@pytest.fixture
async def topic(sandbox: Sandbox, widgets: int) -> str:
    """A branch `topic` one commit ahead of main; returns its head."""
    pushed = await sandbox.push_commits(
        REPO, "topic", {"src/fix.py": "print('fixed')\n"}, author="bob", message="Fix it"
    )
    return pushed.after


async def test_the_app_opens_a_pull_request_with_githubs_full_shape(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    main = await sandbox.branch_head(REPO, "main")
    mark = len(sandbox.deliveries)

    created = await gh.post(
        PULLS, json={"title": "Backport", "head": "acme:topic", "base": "main", "body": "b"}
    )

    assert created.status_code == 201
    pr = created.json()
    assert (pr["number"], pr["state"], pr["draft"], pr["merged"]) == (1, "open", False, False)
    assert (pr["head"]["ref"], pr["head"]["sha"], pr["head"]["label"]) == (
        "topic",
        topic,
        "acme:topic",
    )
    assert (pr["base"]["ref"], pr["base"]["sha"]) == ("main", main)
    assert pr["head"]["repo"]["full_name"] == REPO
    assert (pr["mergeable"], pr["mergeable_state"]) == (True, "clean")
    assert (pr["commits"], pr["additions"], pr["deletions"], pr["changed_files"]) == (1, 1, 0, 1)
    assert pr["user"]["login"] == "lts-bot[bot]"
    assert sent(sandbox, mark) == [("pull_request", "opened", "lts-bot[bot]")]
    [opened] = payloads(sandbox, "pull_request", "opened")
    assert opened["number"] == 1
    assert_has_example_fields("pull_request", "opened", opened)
    as_issue = (await gh.get(f"/repos/{REPO}/issues/1")).json()
    assert as_issue["pull_request"]["html_url"].endswith("/pull/1")


async def test_a_second_pull_request_for_the_same_branches_is_refused(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    await sandbox.open_pr(REPO, user="bob", head="topic", title="First")
    await sandbox.push_commits(REPO, "same", {"README.md": "# widgets\n"}, author="bob")

    again = await gh.post(PULLS, json={"title": "Again", "head": "topic", "base": "main"})
    to_itself = await gh.post(PULLS, json={"title": "Self", "head": "main", "base": "main"})
    nothing = await gh.post(PULLS, json={"title": "Empty", "head": "same", "base": "main"})
    no_branch = await gh.post(PULLS, json={"title": "Gone", "head": "gone", "base": "main"})

    assert again.status_code == 422
    assert again.json()["message"] == "Validation Failed"
    assert again.json()["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:topic.",
        }
    ]
    assert to_itself.status_code == 422
    assert to_itself.json()["errors"][0]["message"] == "No commits between main and main"
    # An empty commit still leaves something between the branches; a same-tree one does.
    assert nothing.status_code in (201, 422)
    assert no_branch.status_code == 422
    assert no_branch.json()["errors"] == [
        {"resource": "PullRequest", "code": "invalid", "field": "head"}
    ]


async def test_a_branch_at_the_same_commit_as_base_has_no_commits_between(
    sandbox: Sandbox, gh: httpx.AsyncClient, widgets: int
) -> None:
    await sandbox.create_branch(REPO, "level", user="bob")

    answer = await gh.post(PULLS, json={"title": "Nothing", "head": "level", "base": "main"})

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["message"] == "No commits between main and level"


async def test_pull_lists_filter_by_state_head_and_base(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    await sandbox.push_commits(REPO, "release-lts/v1.4", {"v": "1.4"}, author="bob")
    await sandbox.push_commits(REPO, "other", {"o": "o"}, author="bob")
    first = await sandbox.open_pr(REPO, user="bob", head="topic", title="To main")
    await sandbox.open_pr(REPO, user="bob", head="other", base="release-lts/v1.4", title="LTS")
    await sandbox.edit_issue(REPO, first.number, user="bob", state="closed")

    open_now = (await gh.get(PULLS)).json()
    by_head = (await gh.get(PULLS, params={"head": "acme:topic", "state": "all"})).json()
    by_base = (await gh.get(PULLS, params={"base": "release-lts/v1.4"})).json()
    closed = (await gh.get(PULLS, params={"state": "closed"})).json()

    assert [p["title"] for p in open_now] == ["LTS"]
    assert [p["number"] for p in by_head] == [first.number]
    assert [p["base"]["ref"] for p in by_base] == ["release-lts/v1.4"]
    assert [p["state"] for p in closed] == ["closed"]
    assert "mergeable" not in open_now[0]


async def test_pull_commits_and_files_show_what_the_branch_changes(
    sandbox: Sandbox, gh: httpx.AsyncClient, widgets: int
) -> None:
    await sandbox.push_commits(
        REPO, "main", {"old.txt": "a\nb\nc\n", "gone.txt": "bye\n"}, author="bob"
    )
    await sandbox.push_commits(
        REPO,
        "topic",
        {"old.txt": None, "new.txt": "a\nb\nc\n", "gone.txt": None, "README.md": "# w\n\nmore\n"},
        author="bob",
        message="Reshuffle",
    )
    await sandbox.push_commits(REPO, "topic", {"added.bin": b"\x00\x01"}, author="bob")
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Reshuffle")

    commits = (await gh.get(f"{PULLS}/{pr.number}/commits")).json()
    files = {f["filename"]: f for f in (await gh.get(f"{PULLS}/{pr.number}/files")).json()}

    assert [c["commit"]["message"] for c in commits] == ["Reshuffle", "Update files"]
    assert {name: f["status"] for name, f in files.items()} == {
        "README.md": "modified",
        "added.bin": "added",
        "gone.txt": "removed",
        "new.txt": "renamed",
    }
    assert files["new.txt"]["previous_filename"] == "old.txt"
    readme = files["README.md"]
    assert (readme["additions"], readme["deletions"], readme["changes"]) == (3, 1, 4)
    assert readme["patch"].startswith("@@ -1 +1,3 @@")
    assert "patch" not in files["added.bin"]
    assert files["gone.txt"]["deletions"] == 1


async def test_a_push_to_the_head_branch_synchronizes_the_pull_request(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")

    pushed = await sandbox.push_commits(REPO, "topic", {"more.txt": "m"}, author="bob")
    shown = (await gh.get(f"{PULLS}/{pr.number}")).json()

    [sync] = payloads(sandbox, "pull_request", "synchronize")
    assert (sync["before"], sync["after"]) == (topic, pushed.after)
    assert sync["sender"]["login"] == "bob"
    assert shown["head"]["sha"] == pushed.after
    assert shown["commits"] == 2
    assert_has_example_fields("pull_request", "synchronize", sync)


async def test_editing_closing_and_reopening_a_pull_request(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")
    url = f"{PULLS}/{pr.number}"

    edited = await gh.patch(url, json={"title": "Fix (LTS)", "body": "now with body"})
    closed = await gh.patch(url, json={"state": "closed"})
    reopened = await gh.patch(url, json={"state": "open"})

    assert edited.json()["title"] == "Fix (LTS)"
    assert closed.json()["state"] == "closed"
    assert closed.json()["merged"] is False
    assert reopened.json()["state"] == "open"
    [edit] = payloads(sandbox, "pull_request", "edited")
    assert edit["changes"] == {"title": {"from": "Fix"}, "body": {"from": ""}}
    [close] = payloads(sandbox, "pull_request", "closed")
    assert close["pull_request"]["merged"] is False
    assert_has_example_fields("pull_request", "closed", close)
    assert_has_example_fields("pull_request", "reopened", payloads(sandbox, "pull_request")[-1])


# --- reviews -----------------------------------------------------------------------------


async def test_reviews_are_upper_case_in_rest_and_lower_case_in_webhooks(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")
    approval = await sandbox.review(REPO, pr.number, user="carol", state="APPROVE", body="LGTM")
    mine = await gh.post(
        f"{PULLS}/{pr.number}/reviews", json={"event": "COMMENT", "body": "Checked by lts-bot"}
    )

    listed = (await gh.get(f"{PULLS}/{pr.number}/reviews")).json()

    assert mine.status_code == 200
    assert [(r["user"]["login"], r["state"]) for r in listed] == [
        ("carol", "APPROVED"),
        ("lts-bot[bot]", "COMMENTED"),
    ]
    assert listed[0]["commit_id"] == topic
    submitted = payloads(sandbox, "pull_request_review", "submitted")
    assert [(p["review"]["state"], p["sender"]["login"]) for p in submitted] == [
        ("approved", "carol"),
        ("commented", "lts-bot[bot]"),
    ]
    assert submitted[0]["review"]["id"] == approval.id
    assert_has_example_fields("pull_request_review", "submitted", submitted[0])


async def test_a_review_is_dismissed_with_a_webhook_and_github_refuses_odd_reviews(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str, contract: ContractChecker
) -> None:
    own = await gh.post(PULLS, json={"title": "Mine", "head": "topic", "base": "main"})
    number = own.json()["number"]
    approval = await sandbox.review(REPO, number, user="carol", state="REQUEST_CHANGES", body="No")
    comment = await sandbox.review(REPO, number, user="carol", state="COMMENT", body="Hm")
    url = f"{PULLS}/{number}/reviews"

    dismissed = await gh.put(
        f"{url}/{approval.id}/dismissals", json={"message": "Outdated", "event": "DISMISS"}
    )
    dismiss_comment = await gh.put(f"{url}/{comment.id}/dismissals", json={"message": "x"})
    self_approval = await gh.post(url, json={"event": "APPROVE"})
    with contract.expect_invalid_requests():
        bad_event = await gh.post(url, json={"event": "LGTM"})
    no_body = await gh.post(url, json={"event": "REQUEST_CHANGES"})

    assert dismissed.status_code == 200
    assert dismissed.json()["state"] == "DISMISSED"
    assert dismiss_comment.status_code == 422
    assert self_approval.status_code == 422
    assert self_approval.json()["errors"] == ["Can not approve your own pull request"]
    assert (bad_event.status_code, no_body.status_code) == (422, 422)
    [dismissal] = payloads(sandbox, "pull_request_review", "dismissed")
    assert dismissal["review"]["state"] == "dismissed"
    assert dismissal["sender"]["login"] == "lts-bot[bot]"
    assert_has_example_fields("pull_request_review", "dismissed", dismissal)


async def test_review_requests_are_made_listed_and_removed(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    sandbox.set_permission(REPO, "carol", "write")
    sandbox.add_team("acme", "lts-maintainers", ["carol"])
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")
    url = f"{PULLS}/{pr.number}/requested_reviewers"

    requested = await gh.post(
        url, json={"reviewers": ["carol"], "team_reviewers": ["lts-maintainers"]}
    )
    listed = (await gh.get(url)).json()
    author = await gh.post(url, json={"reviewers": ["bob"]})
    stranger = await gh.post(url, json={"reviewers": ["nobody"]})
    removed = await gh.request("DELETE", url, json={"reviewers": ["carol"]})

    assert requested.status_code == 201
    assert [u["login"] for u in requested.json()["requested_reviewers"]] == ["carol"]
    assert [t["slug"] for t in requested.json()["requested_teams"]] == ["lts-maintainers"]
    assert [u["login"] for u in listed["users"]] == ["carol"]
    assert author.status_code == 422
    assert stranger.status_code == 422
    assert removed.json()["requested_reviewers"] == []
    asked = payloads(sandbox, "pull_request", "review_requested")
    assert asked[0]["requested_reviewer"]["login"] == "carol"
    assert asked[1]["requested_team"]["slug"] == "lts-maintainers"
    assert payloads(sandbox, "pull_request", "review_request_removed")[0]["sender"]["login"] == (
        "lts-bot[bot]"
    )


async def test_a_requested_reviewer_who_reviews_leaves_the_requested_list(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    sandbox.set_permission(REPO, "carol", "maintain")
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")
    await sandbox.request_review(REPO, pr.number, ["carol"], user="bob")

    await sandbox.review(REPO, pr.number, user="carol", state="APPROVE")

    shown = (await gh.get(f"{PULLS}/{pr.number}")).json()
    assert shown["requested_reviewers"] == []
    timeline = (await gh.get(f"/repos/{REPO}/issues/{pr.number}/timeline")).json()
    assert [e["event"] for e in timeline] == ["review_requested", "reviewed"]
    assert timeline[1]["state"] == "approved"


async def test_a_draft_becomes_ready_for_review(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="WIP", draft=True)

    await sandbox.ready_for_review(REPO, pr.number, user="bob")

    shown = (await gh.get(f"{PULLS}/{pr.number}")).json()
    assert shown["draft"] is False
    [ready] = payloads(sandbox, "pull_request", "ready_for_review")
    assert_has_example_fields("pull_request", "ready_for_review", ready)


async def test_deleting_the_head_branch_closes_the_pull_request(
    sandbox: Sandbox, gh: httpx.AsyncClient, topic: str
) -> None:
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Fix")

    deleted = await gh.delete(f"/repos/{REPO}/git/refs/heads/topic")

    assert deleted.status_code == 204
    assert sandbox.issue(REPO, pr.number).state == "closed"
    [closed] = payloads(sandbox, "pull_request", "closed")
    assert closed["pull_request"]["merged"] is False
