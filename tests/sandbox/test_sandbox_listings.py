"""The sandbox's listings: the App's installations, an installation's repositories, and the
filters, sorts and pages of the issue and pull request lists, with conditional requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from sandbox_helpers import README, REPO

from bot.sandbox import Sandbox
from tests.contract.checker import ContractChecker

pytest_plugins = ["sandbox_fixtures"]

ISSUES = f"/repos/{REPO}/issues"
PULLS = f"/repos/{REPO}/pulls"


def stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def renew_token(gh: httpx.AsyncClient, installation: int, jwt: str) -> None:
    """Give `gh` a fresh installation token (after the clock moved past the old one's hour)."""
    minted = await gh.post(
        f"/app/installations/{installation}/access_tokens",
        headers={"Authorization": f"Bearer {jwt}"},
    )
    gh.headers["Authorization"] = f"token {minted.json()['token']}"


@pytest.fixture
async def globex(sandbox: Sandbox, widgets: int) -> int:
    """A second installation, on organization globex, after acme's."""
    await sandbox.create_repo("globex/rockets", files={"README.md": README})
    return sandbox.install(["globex/rockets"], by="bob")


# --- GET /app/installations --------------------------------------------------------------


async def test_the_app_lists_its_installations_with_its_jwt_page_by_page(
    sandbox: Sandbox,
    api: httpx.AsyncClient,
    widgets: int,
    globex: int,
    mint_jwt: Callable[..., str],
) -> None:
    jwt = {"Authorization": f"Bearer {mint_jwt()}"}

    every = await api.get("/app/installations", headers=jwt)
    first = await api.get("/app/installations", params={"per_page": 1}, headers=jwt)
    second = await api.get(first.links["next"]["url"], headers=jwt)

    assert every.status_code == 200
    assert [(i["id"], i["account"]["login"]) for i in every.json()] == [
        (widgets, "acme"),
        (globex, "globex"),
    ]
    acme = every.json()[0]
    assert acme["app_id"] == sandbox.app.id
    assert acme["app_slug"] == "lts-bot"
    assert (acme["target_type"], acme["target_id"]) == ("Organization", acme["account"]["id"])
    assert acme["repository_selection"] == "selected"
    assert acme["permissions"]["issues"] == "write"
    assert "pull_request" in acme["events"]
    assert acme["access_tokens_url"].endswith(f"/app/installations/{widgets}/access_tokens")
    assert acme["repositories_url"].endswith("/installation/repositories")
    assert acme["created_at"].endswith("Z")
    assert acme["updated_at"] >= acme["created_at"]
    assert acme["suspended_at"] is None
    assert [i["id"] for i in first.json()] == [widgets]
    assert "per_page=1" in first.links["next"]["url"]
    assert first.links["last"]["url"] == first.links["next"]["url"]
    assert [i["id"] for i in second.json()] == [globex]
    assert set(second.links) == {"prev", "first"}


async def test_installations_updated_since_a_time_are_those_changed_at_or_after_it(
    sandbox: Sandbox,
    api: httpx.AsyncClient,
    widgets: int,
    globex: int,
    mint_jwt: Callable[..., str],
) -> None:
    await sandbox.create_repo("acme/gadgets")
    changed_at = sandbox.advance_clock(minutes=5)
    sandbox.install(["acme/gadgets"])  # acme's installation gains a repository: updated
    jwt = {"Authorization": f"Bearer {mint_jwt()}"}

    recent = await api.get("/app/installations", params={"since": stamp(changed_at)}, headers=jwt)
    later = await api.get(
        "/app/installations", params={"since": stamp(changed_at + 1)}, headers=jwt
    )
    offset = await api.get(
        "/app/installations",
        params={"since": dt.datetime.fromtimestamp(int(changed_at), dt.UTC).isoformat()},
        headers=jwt,
    )
    garbled = await api.get("/app/installations", params={"since": "yesterday"}, headers=jwt)

    assert [i["id"] for i in recent.json()] == [widgets]
    assert recent.json()[0]["updated_at"] == stamp(changed_at)
    assert later.json() == []
    assert [i["id"] for i in offset.json()] == [widgets]
    assert garbled.status_code == 422
    assert "ISO 8601" in garbled.json()["message"]


async def test_installations_need_the_apps_jwt_not_a_token_nor_nothing(
    api: httpx.AsyncClient, gh: httpx.AsyncClient
) -> None:
    with_token = await gh.get("/app/installations")
    anonymous = await api.get("/app/installations")

    assert with_token.status_code == 401
    assert with_token.json()["message"] == "A JSON web token could not be decoded"
    assert anonymous.status_code == 401


# --- GET /installation/repositories ------------------------------------------------------


async def test_an_installation_lists_only_its_own_repositories_page_by_page(
    sandbox: Sandbox, gh: httpx.AsyncClient, globex: int
) -> None:
    await sandbox.create_repo("acme/gadgets")
    await sandbox.create_repo("acme/unlisted")  # acme's, but the App is not installed on it
    sandbox.install(["acme/gadgets"])

    every = await gh.get("/installation/repositories")
    first = await gh.get("/installation/repositories", params={"per_page": 1})
    second = await gh.get(first.links["next"]["url"])
    beyond = await gh.get("/installation/repositories", params={"per_page": 1, "page": 3})

    assert every.status_code == 200
    body = every.json()
    assert (body["total_count"], body["repository_selection"]) == (2, "selected")
    assert [r["full_name"] for r in body["repositories"]] == [REPO, "acme/gadgets"]
    widgets = body["repositories"][0]
    assert (widgets["default_branch"], widgets["private"], widgets["owner"]["login"]) == (
        "main",
        True,
        "acme",
    )
    assert widgets == (await gh.get(f"/repos/{REPO}")).json()
    assert first.json()["total_count"] == 2
    assert [r["full_name"] for r in first.json()["repositories"]] == [REPO]
    assert [r["full_name"] for r in second.json()["repositories"]] == ["acme/gadgets"]
    assert set(second.links) == {"prev", "first"}
    assert (beyond.json()["total_count"], beyond.json()["repositories"]) == (2, [])


async def test_installation_repositories_need_an_installation_token(
    api: httpx.AsyncClient, widgets: int, mint_jwt: Callable[..., str]
) -> None:
    with_jwt = await api.get(
        "/installation/repositories", headers={"Authorization": f"Bearer {mint_jwt()}"}
    )
    anonymous = await api.get("/installation/repositories")
    bad = await api.get("/installation/repositories", headers={"Authorization": "token ghs_x"})

    assert with_jwt.status_code == 403
    assert with_jwt.json()["message"] == "Resource not accessible by integration"
    assert anonymous.status_code == 401
    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"


# --- GET /repos/{owner}/{repo}/issues ----------------------------------------------------


async def test_issue_labels_must_all_match_without_regard_to_case(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await sandbox.open_issue(REPO, user="bob", title="both", labels=["bug", "LTS"])
    await sandbox.open_issue(REPO, user="bob", title="bug only", labels=["bug"])
    await sandbox.open_issue(REPO, user="bob", title="lts only", labels=["lts"])
    await sandbox.open_issue(REPO, user="bob", title="none")

    both = (await gh.get(ISSUES, params={"labels": "Bug, lts"})).json()
    bug = (await gh.get(ISSUES, params={"labels": "bug"})).json()
    unknown = (await gh.get(ISSUES, params={"labels": "bug,nope"})).json()
    empty = (await gh.get(ISSUES, params={"labels": ""})).json()

    assert [i["title"] for i in both] == ["both"]
    assert [i["title"] for i in bug] == ["bug only", "both"]
    assert unknown == []
    assert len(empty) == 4


async def test_issue_state_and_pull_requests_in_the_issue_list(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="issue")
    closed = await sandbox.open_issue(REPO, user="bob", title="closed")
    await sandbox.push_commits(REPO, "fix", {"a.txt": "a"}, author="bob")
    pr = await sandbox.open_pr(REPO, user="bob", head="fix", title="pr")
    await sandbox.close_issue(REPO, closed.number, user="bob")

    default = (await gh.get(ISSUES)).json()
    open_ = (await gh.get(ISSUES, params={"state": "open"})).json()
    closed_ = (await gh.get(ISSUES, params={"state": "closed"})).json()
    every = (await gh.get(ISSUES, params={"state": "all"})).json()
    unknown = (await gh.get(ISSUES, params={"state": "merged"})).json()

    assert [i["number"] for i in default] == [pr.number, issue.number]
    assert open_ == default
    assert [i["number"] for i in closed_] == [closed.number]
    assert [i["number"] for i in every] == [pr.number, closed.number, issue.number]
    # A state the API does not know falls back to the default.
    assert unknown == default
    [listed_pr] = [i for i in every if "pull_request" in i]
    assert listed_pr["number"] == pr.number
    assert listed_pr["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert all("pull_request" not in i for i in every if i["number"] != pr.number)


async def test_issues_updated_since_are_those_updated_at_or_after_it(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    old = await sandbox.open_issue(REPO, user="bob", title="old")
    sandbox.advance_clock(minutes=10)
    touched = await sandbox.open_issue(REPO, user="bob", title="touched")
    mark = sandbox.advance_clock(minutes=10)
    await sandbox.comment(REPO, touched.number, user="carol", body="bump")
    await sandbox.open_issue(REPO, user="bob", title="new")
    assert old.number == 1

    at_mark = (await gh.get(ISSUES, params={"since": stamp(mark)})).json()
    after_mark = (await gh.get(ISSUES, params={"since": stamp(mark + 1)})).json()
    by_day = (await gh.get(ISSUES, params={"since": stamp(mark)[:10]})).json()
    with_offset = (
        await gh.get(
            ISSUES,
            params={
                "since": dt.datetime.fromtimestamp(mark, dt.timezone(dt.timedelta(hours=2)))
                .replace(microsecond=0)
                .isoformat()
            },
        )
    ).json()
    garbled = await gh.get(ISSUES, params={"since": "last tuesday"})

    assert [i["title"] for i in at_mark] == ["new", "touched"]
    assert after_mark == []
    assert len(by_day) == 3
    assert [i["title"] for i in with_offset] == ["new", "touched"]
    assert garbled.status_code == 422
    assert garbled.json()["message"].startswith("The since parameter needs to be in ISO 8601")


async def test_issues_sort_by_created_updated_or_comments_either_way(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    first = await sandbox.open_issue(REPO, user="bob", title="first")
    sandbox.advance_clock(minutes=1)
    second = await sandbox.open_issue(REPO, user="bob", title="second")
    sandbox.advance_clock(minutes=1)
    await sandbox.open_issue(REPO, user="bob", title="third")
    sandbox.advance_clock(minutes=1)
    await sandbox.comment(REPO, first.number, user="carol", body="one")
    await sandbox.comment(REPO, first.number, user="carol", body="two")
    sandbox.advance_clock(minutes=1)
    await sandbox.comment(REPO, second.number, user="carol", body="one")

    async def titles(**params: str) -> list[str]:
        return [i["title"] for i in (await gh.get(ISSUES, params=params)).json()]

    assert await titles() == ["third", "second", "first"]
    assert await titles(direction="asc") == ["first", "second", "third"]
    assert await titles(sort="created", direction="desc") == ["third", "second", "first"]
    assert await titles(sort="updated") == ["second", "first", "third"]
    assert await titles(sort="updated", direction="asc") == ["third", "first", "second"]
    assert await titles(sort="comments") == ["first", "second", "third"]
    assert await titles(sort="comments", direction="asc") == ["third", "second", "first"]
    # Unknown values fall back to the defaults (created, desc).
    assert await titles(sort="votes", direction="sideways") == ["third", "second", "first"]


async def test_issue_pages_follow_the_filters_and_the_sort(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    for n in range(5):
        await sandbox.open_issue(REPO, user="bob", title=f"lts {n}", labels=["lts"])
        await sandbox.open_issue(REPO, user="bob", title=f"other {n}")

    params = {"labels": "lts", "direction": "asc", "per_page": "2"}
    first = await gh.get(ISSUES, params=params)
    second = await gh.get(first.links["next"]["url"])
    last = await gh.get(first.links["last"]["url"])

    assert [i["title"] for i in first.json()] == ["lts 0", "lts 1"]
    assert [i["title"] for i in second.json()] == ["lts 2", "lts 3"]
    assert [i["title"] for i in last.json()] == ["lts 4"]
    assert "labels=lts" in first.links["next"]["url"]
    assert "page=3" in first.links["last"]["url"]


# --- GET /repos/{owner}/{repo}/pulls -----------------------------------------------------


@pytest.fixture
async def three_pulls(sandbox: Sandbox, widgets: int) -> list[int]:
    """Pull requests a (into main), b (into release-lts/v1.4, then closed), c (into main),
    opened a minute apart, a updated last; their numbers."""
    await sandbox.push_commits(REPO, "release-lts/v1.4", {"v": "1.4"}, author="bob")
    numbers = []
    for name, base in [("a", "main"), ("b", "release-lts/v1.4"), ("c", "main")]:
        await sandbox.push_commits(REPO, name, {f"{name}.txt": name}, author="bob")
        pr = await sandbox.open_pr(REPO, user="bob", head=name, base=base, title=name)
        numbers.append(pr.number)
        sandbox.advance_clock(minutes=1)
    await sandbox.close_issue(REPO, numbers[1], user="bob")
    sandbox.advance_clock(minutes=1)
    await sandbox.comment(REPO, numbers[0], user="carol", body="ping")
    return numbers


async def test_pulls_filter_by_base_state_and_head(
    gh: httpx.AsyncClient, three_pulls: list[int]
) -> None:
    async def titles(**params: str) -> list[str]:
        return [p["title"] for p in (await gh.get(PULLS, params=params)).json()]

    assert await titles() == ["c", "a"]
    assert await titles(state="closed") == ["b"]
    assert await titles(state="all") == ["c", "b", "a"]
    assert await titles(base="main") == ["c", "a"]
    assert await titles(base="release-lts/v1.4") == []
    assert await titles(base="release-lts/v1.4", state="all") == ["b"]
    assert await titles(head="acme:a") == ["a"]
    assert await titles(head="ACME:c", base="main") == ["c"]
    assert await titles(head="globex:a") == []
    # Without `owner:` GitHub ignores `head` altogether.
    assert await titles(head="a") == ["c", "a"]
    closed = (await gh.get(PULLS, params={"state": "closed"})).json()
    assert closed[0]["state"] == "closed"
    assert closed[0]["base"]["ref"] == "release-lts/v1.4"


async def test_pulls_sort_by_updated_popularity_with_githubs_default_directions(
    sandbox: Sandbox, gh: httpx.AsyncClient, three_pulls: list[int]
) -> None:
    async def titles(**params: str) -> list[str]:
        return [p["title"] for p in (await gh.get(PULLS, params={"state": "all", **params})).json()]

    assert await titles(sort="created") == ["c", "b", "a"]
    assert await titles(sort="created", direction="asc") == ["a", "b", "c"]
    assert await titles(sort="updated", direction="desc") == ["a", "b", "c"]
    # Any sort but `created` is ascending unless told otherwise.
    assert await titles(sort="updated") == ["c", "b", "a"]
    assert (await titles(sort="popularity", direction="desc"))[0] == "a"
    assert (await titles(sort="popularity"))[-1] == "a"
    updated = (await gh.get(PULLS, params={"sort": "updated", "direction": "desc"})).json()
    assert [p["updated_at"] for p in updated] == sorted(
        (p["updated_at"] for p in updated), reverse=True
    )


async def test_long_running_pulls_are_old_and_still_active(
    sandbox: Sandbox,
    gh: httpx.AsyncClient,
    widgets: int,
    three_pulls: list[int],
    mint_jwt: Callable[..., str],
) -> None:
    a, _, c = three_pulls
    sandbox.advance_clock(days=40)
    await sandbox.push_commits(REPO, "d", {"d.txt": "d"}, author="bob")
    await sandbox.open_pr(REPO, user="bob", head="d", title="d")  # new: not long-running
    await sandbox.comment(REPO, c, user="carol", body="still on it")  # old and active
    await renew_token(gh, widgets, mint_jwt())

    running = (await gh.get(PULLS, params={"sort": "long-running"})).json()
    everything = (await gh.get(PULLS)).json()

    assert [p["number"] for p in running] == [c]
    assert [p["title"] for p in everything] == ["d", "c", "a"]
    assert a not in [p["number"] for p in running]  # old but quiet for 40 days


# --- conditional requests ----------------------------------------------------------------


def remaining(answer: httpx.Response) -> int:
    return int(answer.headers["x-ratelimit-remaining"])


async def test_an_unchanged_listing_answers_304_without_spending_the_rate_limit(
    sandbox: Sandbox, gh: httpx.AsyncClient, three_pulls: list[int]
) -> None:
    listings = [
        (ISSUES, {"labels": "", "state": "all", "sort": "updated"}),
        (PULLS, {"state": "all", "base": "main"}),
        ("/installation/repositories", {"per_page": "1"}),
    ]
    for path, params in listings:
        first = await gh.get(path, params=params)
        etag = first.headers["ETag"]
        again = await gh.get(path, params=params, headers={"If-None-Match": etag})
        plain = await gh.get(path, params=params)

        assert first.status_code == 200, path
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert remaining(again) == remaining(first), path
        assert remaining(plain) == remaining(first) - 1, path

    # A change to what is listed changes the tag: the old one no longer matches.
    before = await gh.get(ISSUES)
    await sandbox.open_issue(REPO, user="bob", title="new")
    after = await gh.get(ISSUES, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]


async def test_the_apps_installation_list_answers_304_on_the_apps_own_budget(
    api: httpx.AsyncClient, widgets: int, mint_jwt: Callable[..., str]
) -> None:
    jwt = {"Authorization": f"Bearer {mint_jwt()}"}

    first = await api.get("/app/installations", headers=jwt)
    again = await api.get(
        "/app/installations", headers={**jwt, "If-None-Match": first.headers["ETag"]}
    )
    plain = await api.get("/app/installations", headers=jwt)

    assert (first.status_code, again.status_code, plain.status_code) == (200, 304, 200)
    assert remaining(again) == remaining(first)
    assert remaining(plain) == remaining(first) - 1
