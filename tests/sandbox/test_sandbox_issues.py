"""The sandbox's issues API: issues, comments, reactions, labels, assignees, timeline, webhooks."""

from __future__ import annotations

import httpx
from sandbox_helpers import REPO, payloads, sent

from bot.sandbox import Sandbox
from tests.contract.checker import ContractChecker
from tests.contract.examples import assert_has_example_fields

pytest_plugins = ["sandbox_fixtures"]

ISSUES = f"/repos/{REPO}/issues"
BOT = ("lts-bot[bot]", "Bot")


def sender(payload: dict[str, object]) -> tuple[object, object]:
    who = payload["sender"]
    assert isinstance(who, dict)
    return who["login"], who["type"]


# --- issues ------------------------------------------------------------------------------


async def test_the_app_creates_an_issue_and_gets_it_back_with_githubs_shape(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    mark = len(sandbox.deliveries)
    created = await gh.post(
        ISSUES, json={"title": "Backport #7", "body": "Please", "labels": ["lts"]}
    )
    number = created.json()["number"]
    fetched = await gh.get(f"{ISSUES}/{number}")

    assert created.status_code == 201
    issue = fetched.json()
    assert (issue["title"], issue["body"], issue["state"]) == ("Backport #7", "Please", "open")
    assert issue["user"]["login"] == "lts-bot[bot]"
    assert issue["performed_via_github_app"]["slug"] == "lts-bot"
    assert [lab["name"] for lab in issue["labels"]] == ["lts"]
    assert "pull_request" not in issue
    # The App's own changes come back from its bot account: an unknown label is created.
    assert sent(sandbox, mark) == [
        ("label", "created", "lts-bot[bot]"),
        ("issues", "opened", "lts-bot[bot]"),
        ("issues", "labeled", "lts-bot[bot]"),
    ]
    [labeled] = payloads(sandbox, "issues", "labeled")
    assert labeled["label"]["name"] == "lts"
    assert labeled["installation"]["node_id"].startswith("I_")
    assert_has_example_fields("issues", "labeled", labeled)


async def test_a_users_issue_and_edits_send_webhooks_from_that_user(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    opened = await sandbox.open_issue(REPO, user="bob", title="Crash", body="On 1.4")
    await sandbox.edit_issue(REPO, opened.number, user="bob", title="Crash on start")
    patched = await gh.patch(
        f"{ISSUES}/{opened.number}", json={"state": "closed", "state_reason": "not_planned"}
    )
    await sandbox.reopen_issue(REPO, opened.number, user="bob")

    assert patched.json()["state_reason"] == "not_planned"
    assert patched.json()["closed_by"]["login"] == "lts-bot[bot]"
    [opened_event] = payloads(sandbox, "issues", "opened")
    [edited] = payloads(sandbox, "issues", "edited")
    [closed] = payloads(sandbox, "issues", "closed")
    [reopened] = payloads(sandbox, "issues", "reopened")
    assert sender(opened_event) == ("bob", "User")
    assert edited["changes"] == {"title": {"from": "Crash"}}
    assert sender(closed) == BOT
    assert reopened["issue"]["state"] == "open"
    for name, payload in [("opened", opened_event), ("edited", edited), ("reopened", reopened)]:
        assert_has_example_fields("issues", name, payload)


async def test_issue_lists_filter_sort_and_include_pull_requests(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await sandbox.open_issue(REPO, user="bob", title="one", labels=["bug", "lts"])
    two = await sandbox.open_issue(REPO, user="bob", title="two", labels=["bug"])
    await sandbox.push_commits(REPO, "fix", {"a.txt": "a"}, author="bob")
    pr = await sandbox.open_pr(REPO, user="bob", head="fix", title="Fix")
    await sandbox.close_issue(REPO, two.number, user="bob")

    open_now = (await gh.get(ISSUES)).json()
    both_labels = (await gh.get(ISSUES, params={"labels": "bug,lts", "state": "all"})).json()
    oldest_first = (await gh.get(ISSUES, params={"state": "all", "direction": "asc"})).json()

    assert [i["number"] for i in open_now] == [pr.number, 1]
    assert "pull_request" in open_now[0]
    assert open_now[0]["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert [i["title"] for i in both_labels] == ["one"]
    assert [i["number"] for i in oldest_first] == [1, 2, 3]


async def test_a_list_of_more_than_100_issues_is_paged_with_link_headers(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    repo = sandbox.world.repo_by_name(REPO)
    bob = sandbox.world.account("bob")
    for n in range(130):
        await sandbox.ops.open_issue(repo, bob, title=f"issue {n}")

    first = await gh.get(ISSUES, params={"per_page": 100})
    second = await gh.get(first.links["next"]["url"])
    beyond = await gh.get(ISSUES, params={"per_page": 100, "page": 3})

    assert len(first.json()) == 100
    assert len(second.json()) == 30
    assert first.links["last"]["url"] == first.links["next"]["url"]
    assert "page=2" in first.links["next"]["url"]
    assert "per_page=100" in first.links["next"]["url"]
    assert set(second.links) == {"prev", "first"}
    assert beyond.json() == []
    assert first.json()[0]["number"] == 130


async def test_issue_requests_github_refuses(
    gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    with contract.expect_invalid_requests():
        no_title = await gh.post(ISSUES, json={"body": "x"})
    missing = await gh.get(f"{ISSUES}/999")

    assert no_title.status_code == 422
    assert no_title.json()["message"] == "Validation Failed"
    assert no_title.json()["errors"] == [
        {"resource": "Issue", "code": "missing_field", "field": "title"}
    ]
    assert missing.status_code == 404


# --- comments and reactions ------------------------------------------------------------------


async def test_comments_are_created_edited_listed_and_deleted_with_webhooks(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash")
    theirs = await sandbox.comment(REPO, issue.number, user="bob", body="Any news?")
    mine = await gh.post(f"{ISSUES}/{issue.number}/comments", json={"body": "Triaged"})
    comment_id = mine.json()["id"]
    edited = await gh.patch(f"{ISSUES}/comments/{comment_id}", json={"body": "Triaged: 1.4"})
    listed = await gh.get(f"{ISSUES}/{issue.number}/comments")
    deleted = await gh.delete(f"{ISSUES}/comments/{theirs.id}")
    gone = await gh.get(f"{ISSUES}/comments/{theirs.id}")

    assert mine.status_code == 201
    assert mine.json()["user"]["login"] == "lts-bot[bot]"
    assert mine.json()["issue_url"].endswith(f"/issues/{issue.number}")
    assert edited.json()["body"] == "Triaged: 1.4"
    assert [c["body"] for c in listed.json()] == ["Any news?", "Triaged: 1.4"]
    assert (deleted.status_code, gone.status_code) == (204, 404)
    assert [c.body for c in sandbox.comments_on(REPO, issue.number)] == ["Triaged: 1.4"]
    created = payloads(sandbox, "issue_comment", "created")
    assert [sender(p) for p in created] == [("bob", "User"), BOT]
    [edit] = payloads(sandbox, "issue_comment", "edited")
    assert edit["changes"] == {"body": {"from": "Triaged"}}
    [removed] = payloads(sandbox, "issue_comment", "deleted")
    assert removed["comment"]["id"] == theirs.id
    for action, payload in [("created", created[0]), ("edited", edit), ("deleted", removed)]:
        assert_has_example_fields("issue_comment", action, payload)


async def test_a_comment_body_over_65536_characters_is_refused(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash")

    at_limit = await gh.post(f"{ISSUES}/{issue.number}/comments", json={"body": "x" * 65536})
    with contract.expect_invalid_requests():
        over = await gh.post(f"{ISSUES}/{issue.number}/comments", json={"body": "x" * 65537})
        edit_over = await gh.patch(
            f"{ISSUES}/comments/{at_limit.json()['id']}", json={"body": "y" * 65537}
        )

    assert at_limit.status_code == 201
    assert over.status_code == 422
    assert edit_over.status_code == 422
    [error] = over.json()["errors"]
    assert (error["resource"], error["field"]) == ("IssueComment", "body")
    assert "65536" in error["message"]
    assert len(sandbox.comments_on(REPO, issue.number)) == 1


async def test_a_repeated_reaction_answers_200_and_a_new_one_201(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash")
    comment = await sandbox.comment(REPO, issue.number, user="bob", body="/lts 1.4")
    url = f"{ISSUES}/comments/{comment.id}/reactions"

    first = await gh.post(url, json={"content": "eyes"})
    again = await gh.post(url, json={"content": "eyes"})
    on_issue = await gh.post(f"{ISSUES}/{issue.number}/reactions", json={"content": "+1"})
    with contract.expect_invalid_requests():
        bad = await gh.post(url, json={"content": "thumbsup"})
    shown = await gh.get(f"{ISSUES}/comments/{comment.id}")

    assert (first.status_code, again.status_code, on_issue.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["user"]["login"] == "lts-bot[bot]"
    assert bad.status_code == 422
    assert shown.json()["reactions"]["eyes"] == 1
    assert shown.json()["reactions"]["total_count"] == 1


# --- labels ----------------------------------------------------------------------------------


async def test_repository_labels_are_created_renamed_and_deleted(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    created = await gh.post(
        f"/repos/{REPO}/labels",
        json={"name": "lts/1.4", "color": "#0E8A16", "description": "Ships in 1.4"},
    )
    duplicate = await gh.post(f"/repos/{REPO}/labels", json={"name": "LTS/1.4"})
    renamed = await gh.patch(f"/repos/{REPO}/labels/lts%2F1.4", json={"new_name": "lts-1.4"})
    fetched = await gh.get(f"/repos/{REPO}/labels/LTS-1.4")
    listed = await gh.get(f"/repos/{REPO}/labels")
    deleted = await gh.delete(f"/repos/{REPO}/labels/lts-1.4")
    missing = await gh.get(f"/repos/{REPO}/labels/lts-1.4")

    assert created.status_code == 201
    assert (created.json()["color"], created.json()["default"]) == ("0e8a16", False)
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == [
        {"resource": "Label", "code": "already_exists", "field": "name"}
    ]
    assert renamed.json()["name"] == "lts-1.4"
    assert fetched.json()["name"] == "lts-1.4"
    assert [lab["name"] for lab in listed.json()] == ["lts-1.4"]
    assert (deleted.status_code, missing.status_code) == (204, 404)
    actions = [(p["action"], p.get("changes")) for p in payloads(sandbox, "label")]
    assert actions == [
        ("created", None),
        ("edited", {"name": {"from": "lts/1.4"}}),
        ("deleted", None),
    ]
    assert_has_example_fields("label", "created", payloads(sandbox, "label", "created")[0])


async def test_issue_labels_are_added_replaced_and_removed(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash", labels=["bug"])
    url = f"{ISSUES}/{issue.number}/labels"
    mark = len(sandbox.deliveries)

    added = await gh.post(url, json={"labels": ["lts", "bug"]})
    replaced = await gh.put(url, json={"labels": ["lts/1.4"]})
    removed = await gh.delete(f"{url}/lts%2F1.4")
    not_there = await gh.delete(f"{url}/lts%2F1.4")
    await gh.post(url, json={"labels": [{"name": "a"}, {"name": "b"}]})
    cleared = await gh.delete(url)

    assert [lab["name"] for lab in added.json()] == ["bug", "lts"]
    assert [lab["name"] for lab in replaced.json()] == ["lts/1.4"]
    assert removed.json() == []
    assert not_there.status_code == 404
    assert not_there.json()["message"] == "Label does not exist"
    assert cleared.status_code == 204
    assert sandbox.labels_on(REPO, issue.number) == []
    labeled = [
        (d.action, d.payload["label"]["name"])
        for d in sandbox.deliveries[mark:]
        if d.event == "issues"
    ]
    assert labeled[:4] == [
        ("labeled", "lts"),
        ("unlabeled", "bug"),
        ("unlabeled", "lts"),
        ("labeled", "lts/1.4"),
    ]
    assert all(sender(p) == BOT for p in payloads(sandbox, "issues", "unlabeled"))
    assert_has_example_fields("issues", "unlabeled", payloads(sandbox, "issues", "unlabeled")[0])


async def test_labels_on_a_pull_request_send_pull_request_labeled(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await sandbox.push_commits(REPO, "fix", {"a.txt": "a"}, author="bob")
    pr = await sandbox.open_pr(REPO, user="bob", head="fix", title="Fix")

    await gh.post(f"{ISSUES}/{pr.number}/labels", json={"labels": ["backport"]})
    await sandbox.remove_label(REPO, pr.number, "backport", user="carol")

    assert payloads(sandbox, "issues", "labeled") == []
    [labeled] = payloads(sandbox, "pull_request", "labeled")
    [unlabeled] = payloads(sandbox, "pull_request", "unlabeled")
    assert (labeled["number"], labeled["label"]["name"], sender(labeled)) == (
        pr.number,
        "backport",
        BOT,
    )
    assert sender(unlabeled) == ("carol", "User")
    assert_has_example_fields("pull_request", "labeled", labeled)
    assert_has_example_fields("pull_request", "unlabeled", unlabeled)


# --- assignees and the timeline --------------------------------------------------------------


async def test_assignees_are_added_and_removed_and_unknown_logins_are_dropped(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash")
    url = f"{ISSUES}/{issue.number}/assignees"

    added = await gh.post(url, json={"assignees": ["carol", "nobody-here"]})
    removed = await gh.request("DELETE", url, json={"assignees": ["carol"]})

    assert added.status_code == 201
    assert [a["login"] for a in added.json()["assignees"]] == ["carol"]
    assert added.json()["assignee"]["login"] == "carol"
    assert removed.status_code == 200
    assert removed.json()["assignees"] == []
    [assigned] = payloads(sandbox, "issues", "assigned")
    [unassigned] = payloads(sandbox, "issues", "unassigned")
    assert assigned["assignee"]["login"] == unassigned["assignee"]["login"] == "carol"
    assert sender(assigned) == BOT
    assert_has_example_fields("issues", "assigned", assigned)


async def test_the_timeline_lists_labels_assignments_and_comments_in_order(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash")
    await sandbox.add_labels(REPO, issue.number, ["needs-triage"], user="bob")
    sandbox.advance_clock(minutes=5)
    await sandbox.comment(REPO, issue.number, user="carol", body="Seen it")
    sandbox.advance_clock(minutes=5)
    await gh.post(f"{ISSUES}/{issue.number}/assignees", json={"assignees": ["carol"]})
    await gh.delete(f"{ISSUES}/{issue.number}/labels/needs-triage")

    timeline = (await gh.get(f"{ISSUES}/{issue.number}/timeline")).json()

    assert [(e["event"], e["actor"]["login"]) for e in timeline] == [
        ("labeled", "bob"),
        ("commented", "carol"),
        ("assigned", "lts-bot[bot]"),
        ("unlabeled", "lts-bot[bot]"),
    ]
    assert timeline[0]["label"] == {"name": "needs-triage", "color": "ededed"}
    assert timeline[1]["body"] == "Seen it"
    assert timeline[2]["assignee"]["login"] == "carol"
    assert timeline[0]["created_at"] < timeline[1]["created_at"] < timeline[2]["created_at"]


async def test_author_association_follows_the_authors_relation_to_the_repository(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    sandbox.set_permission(REPO, "carol", "write")
    issue = await sandbox.open_issue(REPO, user="carol", title="Crash")
    await sandbox.comment(REPO, issue.number, user="bob", body="me too")

    shown = (await gh.get(f"{ISSUES}/{issue.number}")).json()
    comments = (await gh.get(f"{ISSUES}/{issue.number}/comments")).json()

    assert shown["author_association"] == "COLLABORATOR"
    assert comments[0]["author_association"] == "NONE"
