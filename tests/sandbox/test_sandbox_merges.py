"""Merges in the sandbox give exactly what git gives: POST /merges, and merge/squash/rebase of PRs.

Each case builds the same history in the sandbox, then does the merge there and with the
git CLI in a working-tree clone of the same bare repository, and compares tree SHAs and
conflicted paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import REPO, clone, conflicted, git, git_try, payloads

from bot.sandbox import ApiError, Sandbox

pytest_plugins = ["sandbox_fixtures"]

LINES = "".join(f"line {n}\n" for n in range(1, 11))


def edit(old: str, new: str) -> str:
    return LINES.replace(f"{old}\n", f"{new}\n")


@dataclass(frozen=True)
class Case:
    """main starts with `start`; topic branches off and commits `topic`; then main gets `main`."""

    start: dict[str, str]
    topic: list[dict[str, str | None]]
    main: dict[str, str | None]
    conflicts: set[str] = field(default_factory=set)


CASES = {
    "clean": Case(
        {"a.txt": LINES, "b.txt": LINES},
        [{"b.txt": edit("line 5", "five")}],
        {"a.txt": edit("line 1", "one")},
    ),
    "conflicting": Case(
        {"a.txt": LINES},
        [{"a.txt": edit("line 3", "three (topic)")}],
        {"a.txt": edit("line 3", "three (main)")},
        {"a.txt"},
    ),
    "adds-a-file": Case(
        {"a.txt": LINES},
        [{"new/file.txt": "new\n"}],
        {"a.txt": edit("line 1", "one")},
    ),
    "deletes-a-file": Case(
        {"a.txt": LINES, "b.txt": LINES},
        [{"b.txt": None}],
        {"a.txt": edit("line 1", "one")},
    ),
    "renames-a-file-main-edits": Case(
        {"a.txt": LINES},
        [{"a.txt": None, "moved/a.txt": LINES}],
        {"a.txt": edit("line 9", "nine")},
    ),
    "modify-delete": Case(
        {"a.txt": LINES, "b.txt": LINES},
        [{"b.txt": None}],
        {"b.txt": edit("line 2", "two")},
        {"b.txt"},
    ),
    "already-applied": Case(
        {"a.txt": LINES},
        [{"a.txt": edit("line 4", "four")}],
        {"a.txt": edit("line 4", "four")},
    ),
}


async def build(sandbox: Sandbox, case: Case) -> tuple[str, str]:
    """Make the case's history in acme/widgets; return the heads of main and topic."""
    await sandbox.push_commits(REPO, "main", case.start, author="bob", message="start")
    topic = ""
    for n, files in enumerate(case.topic):
        pushed = await sandbox.push_commits(
            REPO, "topic", files, author="bob", message=f"topic {n}"
        )
        topic = pushed.after
    main = await sandbox.push_commits(REPO, "main", case.main, author="carol", message="main")
    return main.after, topic


def tree(cwd: Path, rev: str = "HEAD") -> str:
    return git(cwd, "rev-parse", f"{rev}^{{tree}}")


@pytest.mark.parametrize("name", list(CASES))
async def test_post_merges_gives_the_tree_and_conflicts_git_merge_gives(
    sandbox: Sandbox, gh: httpx.AsyncClient, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    main, topic = await build(sandbox, case)
    bare = sandbox.git_dir(REPO)
    work = clone(bare, tmp_path / "work")
    by_git = git_try(work, "merge", "--no-ff", "-m", "merge", "origin/topic")

    answer = await gh.post(
        f"/repos/{REPO}/merges", json={"base": "main", "head": "topic", "commit_message": "m"}
    )

    if case.conflicts:
        assert by_git.returncode != 0
        assert conflicted(work) == case.conflicts
        assert answer.status_code == 409
        assert answer.json()["message"] == "Merge conflict"
        assert git(bare, "rev-parse", "main") == main
        found = await sandbox.world.repo_by_name(REPO).git.merge_tree(main, topic)
        assert set(found.conflicts) == case.conflicts
    else:
        assert by_git.returncode == 0, by_git.stdout + by_git.stderr
        assert answer.status_code == 201
        merged = answer.json()
        assert [p["sha"] for p in merged["parents"]] == [main, topic]
        assert merged["commit"]["message"] == "m"
        assert merged["commit"]["tree"]["sha"] == tree(work) == tree(bare, "main")
        assert git(bare, "rev-parse", "main") == merged["sha"]


@pytest.mark.parametrize("name", list(CASES))
async def test_a_one_commit_rebase_merge_gives_what_git_cherry_pick_gives(
    sandbox: Sandbox, gh: httpx.AsyncClient, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    main, topic = await build(sandbox, case)
    bare = sandbox.git_dir(REPO)
    work = clone(bare, tmp_path / "work")
    by_git = git_try(work, "cherry-pick", topic)
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Topic")

    answer = await gh.put(f"/repos/{REPO}/pulls/{pr.number}/merge", json={"merge_method": "rebase"})

    if case.conflicts:
        assert by_git.returncode != 0
        assert conflicted(work) == case.conflicts
        assert answer.status_code == 405
        assert answer.json()["message"] == "Pull Request is not mergeable"
        picked = await sandbox.world.repo_by_name(REPO).git.cherry_pick_tree(topic, main)
        assert set(picked.conflicts) == case.conflicts
        return
    assert answer.status_code == 200
    assert answer.json()["merged"] is True
    if name == "already-applied":
        # git stops with an empty cherry-pick; a rebase drops the commit: main stays.
        assert "empty" in by_git.stderr + by_git.stdout
        assert answer.json()["sha"] == main
    else:
        assert by_git.returncode == 0, by_git.stdout + by_git.stderr
        [parent] = git(bare, "log", "-1", "--format=%P", "main").split()
        assert parent == main
    assert tree(bare, "main") == tree(work)


TWO_COMMITS = Case(
    {"a.txt": LINES, "b.txt": LINES},
    [{"c.txt": "c\n"}, {"b.txt": edit("line 7", "seven"), "a.txt": edit("line 10", "ten")}],
    {"a.txt": edit("line 1", "one")},
)


async def test_merge_pr_with_a_merge_commit_gives_git_merges_tree_and_parents(
    sandbox: Sandbox, widgets: int, tmp_path: Path
) -> None:
    main, topic = await build(sandbox, TWO_COMMITS)
    bare = sandbox.git_dir(REPO)
    work = clone(bare, tmp_path / "work")
    git(work, "merge", "--no-ff", "-m", "merge", "origin/topic")
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Topic", body="Fixes #9")

    sha = await sandbox.merge_pr(REPO, pr.number, method="merge", user="carol")

    assert tree(bare, sha) == tree(work)
    assert git(bare, "log", "-1", "--format=%P", sha).split() == [main, topic]
    assert git(bare, "log", "-1", "--format=%an|%cn|%s", sha) == (
        "carol|GitHub|Merge pull request #1 from acme/topic"
    )


async def test_merge_pr_squash_gives_git_merge_squashs_tree_in_one_commit(
    sandbox: Sandbox, widgets: int, tmp_path: Path
) -> None:
    main, _ = await build(sandbox, TWO_COMMITS)
    bare = sandbox.git_dir(REPO)
    work = clone(bare, tmp_path / "work")
    git(work, "merge", "--squash", "origin/topic")
    git(work, "commit", "-q", "-m", "squash")
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Topic")

    sha = await sandbox.merge_pr(REPO, pr.number, method="squash", user="carol")

    assert tree(bare, sha) == tree(work)
    assert git(bare, "log", "-1", "--format=%P", sha) == main
    assert git(bare, "log", "-1", "--format=%an|%s", sha) == "bob|Topic (#1)"
    assert git(bare, "log", "-1", "--format=%b", sha) == "* topic 0\n\n* topic 1"


async def test_merge_pr_rebase_gives_git_rebases_commits_and_tree(
    sandbox: Sandbox, widgets: int, tmp_path: Path
) -> None:
    main, _ = await build(sandbox, TWO_COMMITS)
    bare = sandbox.git_dir(REPO)
    work = clone(bare, tmp_path / "work", branch="topic")
    git(work, "rebase", "-q", "origin/main")
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Topic")

    sha = await sandbox.merge_pr(REPO, pr.number, method="rebase", user="carol")

    assert tree(bare, sha) == tree(work)
    ours = git(bare, "log", "--format=%an|%cn|%s", f"{main}..{sha}").splitlines()
    theirs = git(work, "log", "--format=%an|%s", "origin/main..HEAD").splitlines()
    assert ours == ["bob|GitHub|topic 1", "bob|GitHub|topic 0"]
    assert [line.split("|")[1] for line in theirs] == ["topic 1", "topic 0"]


async def test_a_merged_pull_request_is_closed_merged_and_pushed_with_webhooks(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    main, topic = await build(sandbox, CASES["clean"])
    issue = await sandbox.open_issue(REPO, user="bob", title="Broken")
    pr = await sandbox.open_pr(
        REPO, user="bob", head="topic", title="Fix", body=f"Fixes #{issue.number}"
    )
    mark = len(sandbox.deliveries)

    merged = await gh.put(
        f"/repos/{REPO}/pulls/{pr.number}/merge", json={"merge_method": "squash", "sha": topic}
    )
    shown = (await gh.get(f"/repos/{REPO}/pulls/{pr.number}")).json()
    again = await gh.put(f"/repos/{REPO}/pulls/{pr.number}/merge", json={})

    assert merged.status_code == 200
    assert merged.json()["message"] == "Pull Request successfully merged"
    sha = merged.json()["sha"]
    assert (shown["merged"], shown["state"], shown["merge_commit_sha"]) == (True, "closed", sha)
    assert shown["merged_by"]["login"] == "lts-bot[bot]"
    assert again.status_code == 405
    events = [(d.event, d.action) for d in sandbox.deliveries[mark:]]
    assert events == [("push", None), ("pull_request", "closed"), ("issues", "closed")]
    [push] = payloads(sandbox, "push")[-1:]
    assert (push["ref"], push["before"], push["after"]) == ("refs/heads/main", main, sha)
    assert push["pusher"]["name"] == "lts-bot[bot]"
    [closed] = payloads(sandbox, "pull_request", "closed")
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == sha
    assert sandbox.issue(REPO, issue.number).state == "closed"
    commit = (await gh.get(f"/repos/{REPO}/commits/{sha}")).json()
    assert commit["commit"]["verification"]["verified"] is True


async def test_merging_refuses_a_stale_head_a_conflict_and_a_draft(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await build(sandbox, CASES["conflicting"])
    pr = await sandbox.open_pr(REPO, user="bob", head="topic", title="Conflicts")
    await sandbox.push_commits(REPO, "ok", {"x.txt": "x"}, author="bob")
    draft = await sandbox.open_pr(REPO, user="bob", head="ok", title="Draft", draft=True)
    url = f"/repos/{REPO}/pulls"

    stale = await gh.put(f"{url}/{pr.number}/merge", json={"sha": "0" * 40})
    conflict = await gh.put(f"{url}/{pr.number}/merge", json={})
    shown = (await gh.get(f"{url}/{pr.number}")).json()
    drafted = await gh.put(f"{url}/{draft.number}/merge", json={})

    assert stale.status_code == 409
    assert stale.json()["message"] == "Head branch was modified. Review and try the merge again."
    assert conflict.status_code == 405
    assert (shown["mergeable"], shown["mergeable_state"]) == (False, "dirty")
    assert drafted.status_code == 405
    with pytest.raises(ApiError, match="405"):
        await sandbox.merge_pr(REPO, pr.number, user="carol")


async def test_post_merges_answers_204_when_already_merged_and_404_for_missing_refs(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    await build(sandbox, CASES["clean"])
    url = f"/repos/{REPO}/merges"

    first = await gh.post(url, json={"base": "main", "head": "topic"})
    again = await gh.post(url, json={"base": "main", "head": "topic"})
    no_base = await gh.post(url, json={"base": "nope", "head": "topic"})
    no_head = await gh.post(url, json={"base": "main", "head": "nope"})

    assert (first.status_code, again.status_code) == (201, 204)
    assert first.json()["commit"]["message"] == "Merge topic into main"
    assert again.content == b""
    assert (no_base.status_code, no_head.status_code) == (404, 404)
    assert no_base.json()["message"] == "Base does not exist"
    assert no_head.json()["message"] == "Head does not exist"
    [push] = payloads(sandbox, "push")[-1:]
    assert push["sender"]["login"] == "lts-bot[bot]"
    assert push["head_commit"]["id"] == first.json()["sha"]
