"""GET /repos/{owner}/{repo}/commits: git's log from a branch or commit, paged, by path."""

from __future__ import annotations

import httpx
from sandbox_helpers import README, REPO, git

from bot.sandbox import Sandbox

pytest_plugins = ["sandbox_fixtures"]

COMMITS = f"/repos/{REPO}/commits"


async def _history(sandbox: Sandbox, branch: str, count: int) -> list[str]:
    """`count` commits pushed to `branch` one minute apart, each adding `<branch>-<n>.txt`."""
    shas = []
    for n in range(count):
        sandbox.advance_clock(minutes=1)
        push = await sandbox.push_commits(
            REPO, branch, {f"{branch}-{n}.txt": f"{n}\n"}, author="bob", message=f"{branch} {n}"
        )
        shas.append(push.after)
    return shas


async def test_commits_are_listed_newest_first_from_a_branch_or_a_commit(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    bare = sandbox.git_dir(REPO)
    root = await sandbox.branch_head(REPO, "main")
    on_main = await _history(sandbox, "main", 2)
    on_topic = await _history(sandbox, "topic", 2)

    default = await gh.get(COMMITS)
    by_branch = await gh.get(COMMITS, params={"sha": "topic"})
    by_sha = await gh.get(COMMITS, params={"sha": on_main[0]})
    by_short_sha = await gh.get(COMMITS, params={"sha": on_main[0][:7]})

    assert [c["sha"] for c in default.json()] == git(bare, "log", "--format=%H", "main").split()
    assert [c["sha"] for c in default.json()] == [*reversed(on_main), root]
    assert [c["sha"] for c in by_branch.json()] == git(bare, "log", "--format=%H", "topic").split()
    assert [c["sha"] for c in by_branch.json()][:2] == list(reversed(on_topic))
    assert [c["sha"] for c in by_sha.json()] == [on_main[0], root]
    assert by_short_sha.json() == by_sha.json()
    newest = default.json()[0]
    assert newest["commit"]["message"] == "main 1"
    assert newest["author"]["login"] == "bob"
    assert newest["parents"][0]["sha"] == on_main[0]
    assert newest["url"] == f"{sandbox.url}/repos/{REPO}/commits/{on_main[1]}"
    # A list item is the single commit's shape without its diff.
    assert "files" not in newest
    assert "stats" not in newest
    single = (await gh.get(f"{COMMITS}/{on_main[1]}")).json()
    assert {k: v for k, v in single.items() if k not in ("files", "stats")} == newest


async def test_commits_are_paged_with_link_headers(sandbox: Sandbox, gh: httpx.AsyncClient) -> None:
    shas = await _history(sandbox, "topic", 4)
    root = await sandbox.branch_head(REPO, "main")
    newest_first = [*reversed(shas), root]

    first = await gh.get(COMMITS, params={"sha": "topic", "per_page": 2})
    second = await gh.get(first.links["next"]["url"])
    last = await gh.get(first.links["last"]["url"])
    everything = await gh.get(COMMITS, params={"sha": "topic", "per_page": 500})
    past_the_end = await gh.get(COMMITS, params={"sha": "topic", "per_page": 2, "page": 9})

    assert [c["sha"] for c in first.json()] == newest_first[:2]
    assert [c["sha"] for c in second.json()] == newest_first[2:4]
    assert [c["sha"] for c in last.json()] == newest_first[4:]
    assert set(first.links) == {"next", "last"}
    assert set(second.links) == {"prev", "first", "next", "last"}
    assert set(last.links) == {"prev", "first"}
    # The links keep the query: the same branch, the same page size.
    next_url = httpx.URL(first.links["next"]["url"])
    assert (next_url.path, next_url.params["sha"], next_url.params["per_page"]) == (
        COMMITS,
        "topic",
        "2",
    )
    assert next_url.params["page"] == "2"
    assert httpx.URL(first.links["last"]["url"]).params["page"] == "3"
    assert [c["sha"] for c in everything.json()] == newest_first
    assert "link" not in everything.headers
    assert past_the_end.json() == []


async def test_path_keeps_the_commits_that_touch_it(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    root = await sandbox.branch_head(REPO, "main")
    docs = await sandbox.push_commits(REPO, "main", {"docs/a.md": "a\n"}, author="bob")
    code = await sandbox.push_commits(REPO, "main", {"src/x.py": "x\n"}, author="bob")
    more_docs = await sandbox.push_commits(REPO, "main", {"docs/b.md": "b\n"}, author="bob")
    readme = await sandbox.push_commits(
        REPO, "main", {"README.md": README + "more\n"}, author="bob"
    )

    directory = await gh.get(COMMITS, params={"path": "docs"})
    one_file = await gh.get(COMMITS, params={"path": "docs/a.md"})
    at_root = await gh.get(COMMITS, params={"path": "README.md"})
    slashed = await gh.get(COMMITS, params={"path": "/src/"})
    nowhere = await gh.get(COMMITS, params={"path": "no/such/file"})
    magic = await gh.get(COMMITS, params={"path": ":(glob)**"})
    before_readme = await gh.get(COMMITS, params={"path": "README.md", "sha": more_docs.after})

    assert [c["sha"] for c in directory.json()] == [more_docs.after, docs.after]
    assert [c["sha"] for c in one_file.json()] == [docs.after]
    assert [c["sha"] for c in at_root.json()] == [readme.after, root]
    assert [c["sha"] for c in slashed.json()] == [code.after]
    assert nowhere.status_code == 200
    assert nowhere.json() == []
    # A path is a file name, never a pathspec with magic.
    assert magic.json() == []
    assert [c["sha"] for c in before_readme.json()] == [root]


async def test_an_unknown_sha_is_404_and_an_empty_repository_409(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await sandbox.create_repo("acme/empty")
    sandbox.install(["acme/empty"])

    unknown = await gh.get(COMMITS, params={"sha": "nope"})
    unknown_sha = await gh.get(COMMITS, params={"sha": "f" * 40})
    empty = await gh.get("/repos/acme/empty/commits")
    empty_with_sha = await gh.get("/repos/acme/empty/commits", params={"sha": "main"})

    assert unknown.status_code == 404
    assert unknown.json()["message"] == "No commit found for SHA: nope"
    assert unknown_sha.status_code == 404
    assert unknown_sha.json()["message"] == f"No commit found for SHA: {'f' * 40}"
    assert (empty.status_code, empty.json()["message"]) == (409, "Git Repository is empty.")
    assert empty_with_sha.status_code == 409
