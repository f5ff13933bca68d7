"""The sandbox's issue search: qualifiers, sorting, pages, and its own rate limit."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import REPO

from bot.clock import FakeClock
from bot.sandbox import Sandbox

pytest_plugins = ["sandbox_fixtures"]


@pytest.fixture
async def tracker(sandbox: Sandbox, widgets: int) -> None:
    """Issues 1-3 and pull request 4 in acme/widgets, and an issue in a repo not installed."""
    await sandbox.open_issue(REPO, user="bob", title="Crash on start", labels=["bug", "lts"])
    sandbox.advance_clock(minutes=10)
    await sandbox.open_issue(REPO, user="carol", title="Slow", labels=["bug", "needs triage"])
    sandbox.advance_clock(minutes=10)
    third = await sandbox.open_issue(REPO, user="bob", title="Docs typo", labels=["lts"])
    await sandbox.close_issue(REPO, third.number, user="bob")
    await sandbox.push_commits(REPO, "fix", {"f": "f"}, author="bob")
    await sandbox.open_pr(REPO, user="bob", head="fix", title="Fix crash")
    await sandbox.add_labels(REPO, 4, ["lts"], user="bob")
    await sandbox.create_repo("acme/hidden", files={"a": "a"})
    await sandbox.open_issue("acme/hidden", user="bob", title="Crash elsewhere", labels=["lts"])


async def search(gh: httpx.AsyncClient, q: str, **params: str) -> httpx.Response:
    return await gh.get("/search/issues", params={"q": q, **params})


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        (f"repo:{REPO}", [4, 3, 2, 1]),
        (f"repo:{REPO} is:open", [4, 2, 1]),
        (f"repo:{REPO} is:closed", [3]),
        (f"repo:{REPO} is:issue", [3, 2, 1]),
        (f"repo:{REPO} is:pr", [4]),
        (f"repo:{REPO} label:lts", [4, 3, 1]),
        (f'repo:{REPO} label:bug label:"needs triage"', [2]),
        (f"repo:{REPO} label:bug label:lts", [1]),
        (f"repo:{REPO} -label:bug", [4, 3]),
        (f"repo:{REPO} state:open is:issue", [2, 1]),
        (f"repo:{REPO} author:carol", [2]),
        (f"repo:{REPO} crash", [4, 1]),
        ("label:lts is:open", [4, 1]),
    ],
)
async def test_search_qualifiers_narrow_the_results(
    gh: httpx.AsyncClient, tracker: None, query: str, numbers: list[int]
) -> None:
    answer = await search(gh, query)

    body = answer.json()
    assert [i["number"] for i in body["items"]] == numbers
    assert body["total_count"] == len(numbers)
    assert body["incomplete_results"] is False
    assert all(i["score"] == 1.0 for i in body["items"])


async def test_search_sorts_and_pages(gh: httpx.AsyncClient, tracker: None) -> None:
    oldest = await search(gh, f"repo:{REPO} is:issue", sort="created", order="asc")
    first = await search(gh, f"repo:{REPO}", per_page="2")
    second = await gh.get(first.links["next"]["url"])

    assert [i["number"] for i in oldest.json()["items"]] == [1, 2, 3]
    assert [i["number"] for i in first.json()["items"]] == [4, 3]
    assert [i["number"] for i in second.json()["items"]] == [2, 1]
    assert first.json()["total_count"] == 4
    pr = first.json()["items"][0]
    assert pr["pull_request"]["url"].endswith("/pulls/4")


async def test_searching_a_repository_the_installation_cannot_see_is_refused(
    gh: httpx.AsyncClient, tracker: None
) -> None:
    answer = await search(gh, "repo:acme/hidden crash")

    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["resource"], error["field"], error["code"]) == ("Search", "q", "invalid")


async def test_search_has_its_own_budget_of_30_a_minute(
    gh: httpx.AsyncClient, widgets: int, sandbox_clock: FakeClock
) -> None:
    answers = [await search(gh, f"repo:{REPO}") for _ in range(31)]
    core = await gh.get(f"/repos/{REPO}")
    limits = (await gh.get("/rate_limit")).json()
    sandbox_clock.advance(61)
    later = await search(gh, f"repo:{REPO}")

    assert [a.status_code for a in answers[:30]] == [200] * 30
    assert answers[0].headers["x-ratelimit-resource"] == "search"
    assert answers[0].headers["x-ratelimit-limit"] == "30"
    assert answers[29].headers["x-ratelimit-remaining"] == "0"
    assert answers[30].status_code == 403
    assert "rate limit" in answers[30].json()["message"]
    assert core.status_code == 200
    assert core.headers["x-ratelimit-resource"] == "core"
    assert limits["resources"]["search"]["remaining"] == 0
    assert limits["rate"]["limit"] == 5000
    assert later.status_code == 200
