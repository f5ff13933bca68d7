"""The sandbox's Git database API: refs, commits, trees, blobs, branches, tags, comparisons."""

from __future__ import annotations

import base64

import httpx
from sandbox_helpers import README, REPO, git, payloads

from bot.sandbox import Sandbox
from tests.contract.checker import ContractChecker

pytest_plugins = ["sandbox_fixtures"]

GIT = f"/repos/{REPO}/git"


async def test_refs_are_read_exactly_or_by_prefix(sandbox: Sandbox, gh: httpx.AsyncClient) -> None:
    main = await sandbox.branch_head(REPO, "main")
    await sandbox.create_branch(REPO, "release-lts/v1.4", user="bob")
    await sandbox.create_branch(REPO, "release-lts/v1.5", user="bob")

    one = await gh.get(f"{GIT}/ref/heads/release-lts/v1.4")
    lines = await gh.get(f"{GIT}/matching-refs/heads/release-lts/")
    none = await gh.get(f"{GIT}/matching-refs/heads/nope")
    missing = await gh.get(f"{GIT}/ref/heads/release-lts")

    assert one.json()["ref"] == "refs/heads/release-lts/v1.4"
    assert one.json()["object"] == {
        "type": "commit",
        "sha": main,
        "url": f"{sandbox.url}/repos/{REPO}/git/commits/{main}",
    }
    assert [r["ref"] for r in lines.json()] == [
        "refs/heads/release-lts/v1.4",
        "refs/heads/release-lts/v1.5",
    ]
    assert none.json() == []
    assert missing.status_code == 404


async def test_a_ref_moves_only_by_fast_forward_unless_forced(
    sandbox: Sandbox, gh: httpx.AsyncClient, contract: ContractChecker
) -> None:
    main = await sandbox.branch_head(REPO, "main")
    ahead = await sandbox.push_commits(REPO, "ahead", {"a": "a"}, author="bob")
    aside = await sandbox.push_commits(REPO, "aside", {"b": "b"}, author="bob")

    created = await gh.post(f"{GIT}/refs", json={"ref": "refs/heads/backport", "sha": main})
    exists = await gh.post(f"{GIT}/refs", json={"ref": "refs/heads/backport", "sha": main})
    forward = await gh.patch(f"{GIT}/refs/heads/backport", json={"sha": ahead.after})
    sideways = await gh.patch(f"{GIT}/refs/heads/backport", json={"sha": aside.after})
    forced = await gh.patch(f"{GIT}/refs/heads/backport", json={"sha": aside.after, "force": True})
    no_ref = await gh.patch(f"{GIT}/refs/heads/nope", json={"sha": main})
    with contract.expect_invalid_requests():
        bad_name = await gh.post(f"{GIT}/refs", json={"ref": "heads/x", "sha": main})
    no_object = await gh.post(f"{GIT}/refs", json={"ref": "refs/heads/y", "sha": "f" * 40})

    assert (created.status_code, created.json()["ref"]) == (201, "refs/heads/backport")
    assert exists.status_code == 422
    assert exists.json()["message"] == "Reference already exists"
    assert forward.json()["object"]["sha"] == ahead.after
    assert sideways.status_code == 422
    assert sideways.json()["message"] == "Update is not a fast forward"
    assert forced.json()["object"]["sha"] == aside.after
    assert no_ref.status_code == 422
    assert no_ref.json()["message"] == "Reference does not exist"
    assert bad_name.status_code == 422
    assert no_object.status_code == 422
    assert git(sandbox.git_dir(REPO), "rev-parse", "backport") == aside.after
    pushes = [p for p in payloads(sandbox, "push") if p["ref"] == "refs/heads/backport"]
    assert [(p["created"], p["forced"]) for p in pushes] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert all(p["sender"]["login"] == "lts-bot[bot]" for p in pushes)
    [create] = [p for p in payloads(sandbox, "create") if p["ref"] == "backport"]
    assert create["ref_type"] == "branch"


async def test_deleting_a_ref_answers_204_then_422(sandbox: Sandbox, gh: httpx.AsyncClient) -> None:
    await sandbox.create_branch(REPO, "old", user="bob")

    first = await gh.delete(f"{GIT}/refs/heads/old")
    again = await gh.delete(f"{GIT}/refs/heads/old")

    assert (first.status_code, first.content) == (204, b"")
    assert again.status_code == 422
    assert again.json()["message"] == "Reference does not exist"
    assert await sandbox.branch_head(REPO, "old") is None
    [delete] = payloads(sandbox, "delete")
    assert (delete["ref"], delete["ref_type"]) == ("old", "branch")
    assert payloads(sandbox, "push")[-1]["deleted"] is True


async def test_blobs_trees_and_commits_build_a_branch_as_git_would(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    bare = sandbox.git_dir(REPO)
    main = await sandbox.branch_head(REPO, "main")
    base_tree = git(bare, "rev-parse", "main^{tree}")

    blob = await gh.post(
        f"{GIT}/blobs",
        json={"content": base64.b64encode(b"\x00bin").decode(), "encoding": "base64"},
    )
    text = await gh.post(f"{GIT}/blobs", json={"content": "hello\n", "encoding": "utf-8"})
    tree = await gh.post(
        f"{GIT}/trees",
        json={
            "base_tree": base_tree,
            "tree": [
                {"path": "data/x.bin", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]},
                {"path": "docs/hello.txt", "mode": "100644", "type": "blob", "content": "hello\n"},
                {"path": "README.md", "mode": "100644", "type": "blob", "sha": None},
            ],
        },
    )
    signed = await gh.post(
        f"{GIT}/commits",
        json={"message": "Add data", "tree": tree.json()["sha"], "parents": [main]},
    )
    authored = await gh.post(
        f"{GIT}/commits",
        json={
            "message": "By alice",
            "tree": tree.json()["sha"],
            "parents": [main],
            "author": {"name": "Alice", "email": "a@example.com", "date": "2027-01-01T00:00:00Z"},
        },
    )
    fetched = await gh.get(f"{GIT}/commits/{signed.json()['sha']}")
    listed = await gh.get(f"{GIT}/trees/{tree.json()['sha']}", params={"recursive": "1"})

    assert blob.status_code == text.status_code == tree.status_code == 201
    assert text.json()["sha"] == git(bare, "rev-parse", f"{tree.json()['sha']}:docs/hello.txt")
    assert git(bare, "cat-file", "-p", f"{tree.json()['sha']}:docs/hello.txt") == "hello"
    assert {e["path"] for e in tree.json()["tree"]} == {"data", "docs"}
    assert signed.status_code == 201
    assert signed.json()["verification"]["verified"] is True
    assert signed.json()["author"]["name"] == "lts-bot[bot]"
    assert authored.json()["verification"]["verified"] is False
    assert authored.json()["author"]["date"] == "2027-01-01T00:00:00Z"
    assert authored.json()["committer"]["name"] == "Alice"
    assert fetched.json()["parents"][0]["sha"] == main
    assert git(bare, "log", "-1", "--format=%s", signed.json()["sha"]) == "Add data"
    assert sorted(e["path"] for e in listed.json()["tree"]) == [
        "data",
        "data/x.bin",
        "docs",
        "docs/hello.txt",
    ]


async def test_git_data_requests_github_refuses(sandbox: Sandbox, gh: httpx.AsyncClient) -> None:
    no_tree = await gh.post(f"{GIT}/commits", json={"message": "m", "tree": "f" * 40})
    bad_parent = await gh.post(
        f"{GIT}/commits",
        json={
            "message": "m",
            "tree": git(sandbox.git_dir(REPO), "rev-parse", "main^{tree}"),
            "parents": ["e" * 40],
        },
    )
    bad_base = await gh.post(
        f"{GIT}/trees",
        json={
            "base_tree": "d" * 40,
            "tree": [{"path": "a", "mode": "100644", "type": "blob", "content": "a"}],
        },
    )
    missing_commit = await gh.get(f"{GIT}/commits/{'c' * 40}")

    assert [r.status_code for r in (no_tree, bad_parent, bad_base)] == [422, 422, 422]
    assert missing_commit.status_code == 404


async def test_a_branch_and_the_tags_are_listed_in_githubs_shapes(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    main = await sandbox.branch_head(REPO, "main")
    await gh.post(f"{GIT}/refs", json={"ref": "refs/tags/v1.4.0", "sha": main})
    await gh.post(f"{GIT}/refs", json={"ref": "refs/tags/v1.4.1", "sha": main})

    branch = await gh.get(f"/repos/{REPO}/branches/main")
    missing = await gh.get(f"/repos/{REPO}/branches/nope")
    tags = await gh.get(f"/repos/{REPO}/tags")

    assert branch.json()["name"] == "main"
    assert branch.json()["commit"]["sha"] == main
    assert branch.json()["protected"] is False
    assert missing.status_code == 404
    assert missing.json()["message"] == "Branch not found"
    assert [(t["name"], t["commit"]["sha"]) for t in tags.json()] == [
        ("v1.4.1", main),
        ("v1.4.0", main),
    ]
    assert [p["ref_type"] for p in payloads(sandbox, "create")] == ["tag", "tag"]


async def test_compare_reports_ahead_behind_and_the_files(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    main = await sandbox.branch_head(REPO, "main")
    await sandbox.push_commits(REPO, "topic", {"new.txt": "n\n"}, author="bob", message="one")
    await sandbox.push_commits(REPO, "topic", {"README.md": README + "x\n"}, author="bob")
    await sandbox.create_branch(REPO, "same", user="bob")
    await sandbox.push_commits(REPO, "main", {"m.txt": "m"}, author="bob")

    diverged = (await gh.get(f"/repos/{REPO}/compare/main...topic")).json()
    ahead = (await gh.get(f"/repos/{REPO}/compare/{main}...topic")).json()
    behind = (await gh.get(f"/repos/{REPO}/compare/main...{main}")).json()
    identical = (await gh.get(f"/repos/{REPO}/compare/same...{main}")).json()
    missing = await gh.get(f"/repos/{REPO}/compare/main...nope")

    assert (diverged["status"], diverged["ahead_by"], diverged["behind_by"]) == ("diverged", 2, 1)
    assert diverged["merge_base_commit"]["sha"] == main
    assert [c["commit"]["message"] for c in diverged["commits"]] == ["one", "Update files"]
    assert {f["filename"]: f["status"] for f in diverged["files"]} == {
        "new.txt": "added",
        "README.md": "modified",
    }
    assert (ahead["status"], ahead["total_commits"]) == ("ahead", 2)
    assert (behind["status"], behind["behind_by"]) == ("behind", 1)
    assert identical["status"] == "identical"
    assert missing.status_code == 404


async def test_a_commit_answer_carries_its_files_when_asked_by_ref(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    push = await sandbox.push_commits(REPO, "main", {"x.txt": "x\n"}, author="bob")

    commit = (await gh.get(f"/repos/{REPO}/commits/{push.after}")).json()

    assert commit["sha"] == push.after
    assert commit["commit"]["verification"]["verified"] is False
    assert commit["stats"] == {"total": 1, "additions": 1, "deletions": 0}
    assert [(f["filename"], f["status"], f["patch"]) for f in commit["files"]] == [
        ("x.txt", "added", "@@ -0,0 +1 @@\n+x")
    ]
