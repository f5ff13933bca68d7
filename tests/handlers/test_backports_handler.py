"""Automatic backports end to end: a fix merges on main, the sandbox (real git) gets the PRs.

Each cherry-pick case compares the backport branch's tree with what `git cherry-pick -x`
gives in a clone of the same repository, and a conflict with where git conflicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox import PullRequest, Sandbox
from bot.service import Bot
from tests.sandbox.sandbox_helpers import clone, git, git_try

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
  - {version: "1.3", eol: 2099-01-31, phase: maintenance}
roles:
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  eng-lead: ["@acme/leads"]
"""
LINES = "".join(f"line {n}\n" for n in range(1, 21))
FIX_BODY = "Fixes #1\n\nChangelog: Fix the crash on an empty config\n"


def edit(text: str, old: str, new: str) -> str:
    assert f"{old}\n" in text
    return text.replace(f"{old}\n", f"{new}\n")


@dataclass(frozen=True)
class Fix:
    number: int
    commits: tuple[str, ...]
    merge_sha: str


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """Ticket #1 triaged for v1.4, lines v1.4 and v1.3 branched off main, and the roles."""
    await sandbox.create_repo(
        REPO,
        files={
            ".github/lts.yml": CONFIG,
            "app.py": LINES,
            "lib.py": LINES,
            "old_name.py": "legacy = True\n",
            "gone.py": "bye\n",
        },
    )
    for login, role in (("alice", "write"), ("rita", "write"), ("tina", "triage"), ("rob", "read")):
        if login != "alice":
            sandbox.add_user(login)
        sandbox.set_permission(REPO, login, role)
    sandbox.add_user("rel")
    sandbox.set_permission(REPO, "rel", "read")
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.install([REPO])
    await sandbox.create_branch(REPO, "release-lts/v1.4", from_ref="main", user="alice")
    await sandbox.create_branch(REPO, "release-lts/v1.3", from_ref="main", user="alice")
    # main moves on after the lines branched, so picks are real 3-way merges.
    await sandbox.push_commits(
        REPO, "main", {"lib.py": edit(LINES, "line 20", "twenty")}, author="alice"
    )
    await sandbox.open_issue(REPO, user="alice", title="Crash on empty config", body="crash")
    await sandbox.comment(
        REPO,
        1,
        user="tina",
        body="/severity high\n/affects v1.4\n/check api-change=no\n/triage backport\n"
        "/backport v1.4",
    )
    await sandbox.settle(bot)
    assert "backport/v1.4" in sandbox.labels_on(REPO, 1)
    return sandbox


async def merge_fix(
    world: Sandbox,
    bot: Bot,
    commits: list[Mapping[str, str | None]],
    *,
    method: str = "squash",
    body: str = FIX_BODY,
    branch: str = "fix-crash",
    settle: bool = True,
) -> Fix:
    shas = []
    for n, files in enumerate(commits, 1):
        pushed = await world.push_commits(
            REPO, branch, files, message=f"Fix the crash, part {n}", author="alice"
        )
        shas.append(pushed.after)
    pr = await world.open_pr(REPO, user="alice", head=branch, title="Fix the crash", body=body)
    await world.review(REPO, pr.number, user="rita", state="APPROVE")
    merge_sha = await world.merge_pr(REPO, pr.number, method=method, user="alice")
    if settle:
        await world.settle(bot)
    return Fix(pr.number, tuple(shas), merge_sha)


async def open_hand_backport(
    world: Sandbox, bot: Bot, fix: Fix, app_py: str
) -> tuple[PullRequest, str]:
    """alice does the v1.4 backport by hand (`git cherry-pick -x`) and opens its PR."""
    pushed = await world.push_commits(
        REPO,
        "lts/v1.4/issue-1",
        {"app.py": app_py},
        message=f"Fix the crash\n\n(cherry picked from commit {fix.merge_sha})\n"
        "Backport to v1.4\nRefs #1\nChangelog: Fix the crash",
        author="alice",
        from_ref="release-lts/v1.4",
    )
    pr = await world.open_pr(
        REPO, user="alice", head="lts/v1.4/issue-1", base="release-lts/v1.4", title="[v1.4] Fix"
    )
    await world.settle(bot)
    return pr, pushed.after


def backport_prs(world: Sandbox, base: str) -> list[int]:
    return [
        it.number
        for it in world.world.repo_by_name(REPO).issues.values()
        if it.pull is not None and it.pull.base_ref == base
    ]


def refs(world: Sandbox, prefix: str) -> list[str]:
    out = git(world.git_dir(REPO), "for-each-ref", "--format=%(refname)", prefix)
    return out.split()


def cherry_pick_tree(world: Sandbox, tmp: Path, base_sha: str, shas: list[str]) -> str | None:
    """The tree `git cherry-pick -x` makes, or None when git stops on a conflict."""
    work = clone(world.git_dir(REPO), tmp / "clone", "main")
    git(work, "checkout", "-q", base_sha)
    for sha in shas:
        if git_try(work, "cherry-pick", "-x", "--allow-empty", sha).returncode != 0:
            return None
    return git(work, "rev-parse", "HEAD^{tree}")


async def tree_of(world: Sandbox, ref: str) -> str:
    return git(world.git_dir(REPO), "rev-parse", f"{ref}^{{tree}}")


async def test_a_squash_merged_fix_gets_its_backport_pr_equal_to_git_cherry_pick(
    world: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])

    (number,) = backport_prs(world, "release-lts/v1.4")
    pull = world.pull(REPO, number)
    assert pull.head_ref == "lts/v1.4/issue-1"
    assert world.issue(REPO, number).title == "[v1.4] Fix the crash"
    assert await tree_of(world, "lts/v1.4/issue-1") == cherry_pick_tree(
        world, tmp_path, base, [fix.merge_sha]
    )
    message = git(world.git_dir(REPO), "log", "-1", "--format=%B", "lts/v1.4/issue-1")
    assert f"(cherry picked from commit {fix.merge_sha})" in message
    assert "Backport to v1.4" in message
    assert "Changelog: Fix the crash on an empty config" in message
    assert "Co-authored-by:" in message
    # Author and committer are left to GitHub, which signs the commit as the App's.
    head = git(world.git_dir(REPO), "rev-parse", "lts/v1.4/issue-1")
    assert head in world.world.verified
    # Built on the line's head, and no work branch is left.
    assert git(world.git_dir(REPO), "rev-parse", "lts/v1.4/issue-1~1") == base
    assert refs(world, "refs/heads/lts-bot") == []
    # The PR carries the ticket's labels and asks the fix's reviewers.
    assert "severity/high" in world.labels_on(REPO, number)
    assert "rita" in {u.login for u in pull.requested_reviewers}
    # It passes the process checks by construction; fidelity compares it with the fix.
    for name in ("lts/branch-name", "lts/commit-message", "lts/backport-fidelity"):
        (run,) = world.check_runs(REPO, pull.head_sha, name=name)
        assert run.conclusion == "success", (name, run.output)
    # The matrix is on the ticket and on the fix.
    status = next(c for c in world.comments_on(REPO, 1) if "lts-bot:status" in c.body)
    assert f"#{number}" in status.body
    assert "backport PR open" in status.body
    matrix = [c for c in world.comments_on(REPO, fix.number) if "lts-bot:backports" in c.body]
    assert len(matrix) == 1
    assert f"#{number}" in matrix[0].body


async def test_a_rebase_merged_fix_picks_each_rebased_commit(
    world: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None
    step1 = edit(LINES, "line 3", "three")
    fix = await merge_fix(
        world,
        bot,
        [{"app.py": step1}, {"app.py": edit(step1, "line 9", "nine"), "new.txt": "new\n"}],
        method="rebase",
    )
    rebased = git(
        world.git_dir(REPO), "rev-list", "--reverse", f"{fix.merge_sha}~2..{fix.merge_sha}"
    )
    shas = rebased.split()
    assert len(shas) == 2

    (number,) = backport_prs(world, "release-lts/v1.4")
    assert await tree_of(world, "lts/v1.4/issue-1") == cherry_pick_tree(world, tmp_path, base, shas)
    log = git(world.git_dir(REPO), "log", "--format=%B%x00", f"{base}..lts/v1.4/issue-1")
    for sha in shas:
        assert f"(cherry picked from commit {sha})" in log
    assert git(world.git_dir(REPO), "rev-list", "--count", f"{base}..lts/v1.4/issue-1") == "2"
    del number


async def test_a_merge_commit_fix_picks_the_prs_own_commits(
    world: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None
    step1 = edit(LINES, "line 5", "five")
    fix = await merge_fix(
        world, bot, [{"app.py": step1}, {"app.py": edit(step1, "line 6", "six")}], method="merge"
    )

    backport_prs(world, "release-lts/v1.4")
    assert await tree_of(world, "lts/v1.4/issue-1") == cherry_pick_tree(
        world, tmp_path, base, list(fix.commits)
    )
    assert git(world.git_dir(REPO), "rev-list", "--count", f"{base}..lts/v1.4/issue-1") == "2"


FILE_CASES = {
    "adds-deletes-renames": {
        "added/file.txt": "hello\n",
        "gone.py": None,
        "old_name.py": None,
        "new_name.py": "legacy = True\n",
    },
    "binary": {"logo.bin": bytes(range(256)).decode("latin-1")},
    # main changed lib.py after the lines branched: deleting it is a modify/delete conflict.
    "deletes-a-file-main-changed": {"lib.py": None},
    "edits-next-to-mains-change": {"lib.py": edit(edit(LINES, "line 20", "twenty"), "line 1", "1")},
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
async def test_file_changes_come_across_exactly_where_git_cherry_pick_agrees(
    world: Sandbox, bot: Bot, tmp_path: Path, case: str
) -> None:
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None
    fix = await merge_fix(world, bot, [FILE_CASES[case]])

    expected = cherry_pick_tree(world, tmp_path, base, [fix.merge_sha])
    made = await world.branch_head(REPO, "lts/v1.4/issue-1")
    if expected is None:
        assert made is None
        assert "backport-conflict/v1.4" in world.labels_on(REPO, fix.number)
    else:
        assert made is not None
        assert await tree_of(world, "lts/v1.4/issue-1") == expected
    assert refs(world, "refs/heads/lts-bot") == []


async def test_a_change_the_line_already_has_is_reported_not_opened(
    world: Sandbox, bot: Bot
) -> None:
    change = {"app.py": edit(LINES, "line 3", "three")}
    await world.push_commits(REPO, "release-lts/v1.4", change, author="alice")
    fix = await merge_fix(world, bot, [change])

    assert backport_prs(world, "release-lts/v1.4") == []
    assert refs(world, "refs/heads/lts/") == []
    (matrix,) = [c for c in world.comments_on(REPO, fix.number) if "lts-bot:backports" in c.body]
    assert "already in" in matrix.body


async def test_a_conflict_leaves_no_branch_explains_how_and_a_retry_works(
    world: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    await world.push_commits(
        REPO, "release-lts/v1.4", {"app.py": edit(LINES, "line 3", "3 (lts)")}, author="alice"
    )
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    assert cherry_pick_tree(world, tmp_path, base, [fix.merge_sha]) is None  # git agrees

    assert backport_prs(world, "release-lts/v1.4") == []
    assert refs(world, "refs/heads/lts/") == []
    assert refs(world, "refs/heads/lts-bot") == []
    assert "backport-conflict/v1.4" in world.labels_on(REPO, fix.number)
    (how,) = [
        c for c in world.comments_on(REPO, fix.number) if "lts-bot:backport-conflict" in c.body
    ]
    assert f"git cherry-pick -x {fix.merge_sha}" in how.body
    assert "git switch -c lts/v1.4/issue-1 origin/release-lts/v1.4" in how.body
    assert "app.py" in how.body
    status = next(c for c in world.comments_on(REPO, 1) if "lts-bot:status" in c.body)
    assert "conflict" in status.body

    # Someone fixes the line; /backport retries.
    await world.push_commits(REPO, "release-lts/v1.4", {"app.py": LINES}, author="alice")
    await world.comment(REPO, fix.number, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert len(backport_prs(world, "release-lts/v1.4")) == 1
    assert "backport-conflict/v1.4" not in world.labels_on(REPO, fix.number)


async def test_the_line_moving_during_the_pick_does_not_change_what_is_picked(
    world: Sandbox, bot: Bot, tmp_path: Path
) -> None:
    base = await world.branch_head(REPO, "release-lts/v1.4")
    assert base is not None

    async def someone_pushes() -> None:
        await world.push_commits(
            REPO, "release-lts/v1.4", {"lib.py": edit(LINES, "line 1", "one")}, author="alice"
        )

    hook = world.before_next("POST", r"/merges$", someone_pushes)
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])

    assert hook.hits == 1
    assert git(world.git_dir(REPO), "rev-parse", "lts/v1.4/issue-1~1") == base
    assert await tree_of(world, "lts/v1.4/issue-1") == cherry_pick_tree(
        world, tmp_path, base, [fix.merge_sha]
    )
    assert len(backport_prs(world, "release-lts/v1.4")) == 1


async def test_redelivery_resend_and_repeated_commands_create_nothing_twice(
    world: Sandbox, bot: Bot
) -> None:
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    (closed,) = [
        d
        for d in world.deliveries_of("pull_request", "closed")
        if d.payload["pull_request"]["number"] == fix.number
    ]
    world.redeliver(closed.guid)
    world.resend(closed.guid)
    await world.comment(REPO, fix.number, user="tina", body="/backport v1.4")
    await world.settle(bot)

    assert len(backport_prs(world, "release-lts/v1.4")) == 1
    assert refs(world, "refs/heads/lts/") == ["refs/heads/lts/v1.4/issue-1"]
    # The repeated request is answered, not ignored.
    assert any("already done" in c.body for c in world.comments_on(REPO, fix.number))
    matrices = [c for c in world.comments_on(REPO, fix.number) if "lts-bot:backports" in c.body]
    assert len(matrices) == 1


async def test_a_failed_merge_call_leaves_nothing_behind_and_a_retry_works(
    world: Sandbox, bot: Bot
) -> None:
    fault = world.fail_next("POST", r"/merges$", status=500, times=20)
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])

    assert backport_prs(world, "release-lts/v1.4") == []
    assert refs(world, "refs/heads/lts/") == []
    assert refs(world, "refs/heads/lts-bot") == []
    (note,) = [
        c for c in world.comments_on(REPO, fix.number) if "lts-bot:backport-failed" in c.body
    ]
    assert "500" in note.body
    assert "/backport v1.4" in note.body
    world.faults.pending.remove(fault)

    await world.comment(REPO, fix.number, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert len(backport_prs(world, "release-lts/v1.4")) == 1


async def test_a_refused_ref_update_mid_pick_leaves_nothing_behind(
    world: Sandbox, bot: Bot
) -> None:
    world.fail_next("PATCH", r"/git/refs/heads/lts-bot/", status=422, times=1)
    step1 = edit(LINES, "line 3", "three")
    fix = await merge_fix(
        world, bot, [{"app.py": step1}, {"app.py": edit(step1, "line 9", "nine")}], method="rebase"
    )

    assert backport_prs(world, "release-lts/v1.4") == []
    assert refs(world, "refs/heads/lts/") == []
    assert refs(world, "refs/heads/lts-bot") == []

    await world.comment(REPO, fix.number, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert len(backport_prs(world, "release-lts/v1.4")) == 1


async def test_a_merged_backport_marks_the_ticket_and_the_matrix(world: Sandbox, bot: Bot) -> None:
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    (number,) = backport_prs(world, "release-lts/v1.4")

    await world.merge_pr(REPO, number, method="merge", user="alice")
    await world.settle(bot)

    assert "backported/v1.4" in world.labels_on(REPO, 1)
    (matrix,) = [c for c in world.comments_on(REPO, fix.number) if "lts-bot:backports" in c.body]
    assert "merged" in matrix.body


async def test_backport_on_an_open_pr_is_queued_until_it_merges(world: Sandbox, bot: Bot) -> None:
    await world.push_commits(
        REPO, "fix-crash", {"app.py": edit(LINES, "line 3", "three")}, author="alice"
    )
    pr = await world.open_pr(REPO, user="alice", head="fix-crash", title="Fix", body=FIX_BODY)
    await world.comment(REPO, pr.number, user="tina", body="/backport v1.3")
    await world.settle(bot)
    assert "backport/v1.3" in world.labels_on(REPO, pr.number)
    assert any("queued" in c.body for c in world.comments_on(REPO, pr.number))
    assert backport_prs(world, "release-lts/v1.3") == []

    await world.merge_pr(REPO, pr.number, method="squash", user="alice")
    await world.settle(bot)
    # Both the ticket's plan (v1.4) and the PR's request (v1.3).
    assert len(backport_prs(world, "release-lts/v1.3")) == 1
    assert len(backport_prs(world, "release-lts/v1.4")) == 1


async def test_only_the_triage_role_may_request_and_a_fix_needs_a_ticket(
    world: Sandbox, bot: Bot
) -> None:
    fix = await merge_fix(
        world, bot, [{"app.py": edit(LINES, "line 3", "three")}], body="No ticket here"
    )
    assert backport_prs(world, "release-lts/v1.4") == []

    await world.comment(REPO, fix.number, user="rob", body="/backport v1.4")
    await world.settle(bot)
    assert any("only the triage role" in c.body for c in world.comments_on(REPO, fix.number))

    await world.comment(REPO, fix.number, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert any("references no LTS ticket" in c.body for c in world.comments_on(REPO, fix.number))
    assert backport_prs(world, "release-lts/v1.4") == []


async def test_a_workflow_change_the_app_may_not_write_is_explained(
    world: Sandbox, bot: Bot
) -> None:
    # GitHub refuses a ref pointing at workflow changes from an App without `workflows`.
    world.fail_next("POST", r"/merges$", status=404, times=1)
    fix = await merge_fix(world, bot, [{".github/workflows/ci.yml": "on: push\n"}])

    (note,) = [
        c for c in world.comments_on(REPO, fix.number) if "lts-bot:backport-failed" in c.body
    ]
    assert "`workflows` permission" in note.body
    assert ".github/workflows/ci.yml" in note.body


async def test_a_line_planned_after_the_merge_is_backported_from_the_merged_fix(
    world: Sandbox, bot: Bot
) -> None:
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    assert backport_prs(world, "release-lts/v1.3") == []

    await world.comment(REPO, 1, user="tina", body="/affects v1.3\n/backport v1.3")
    await world.settle(bot)

    (number,) = backport_prs(world, "release-lts/v1.3")
    assert world.pull(REPO, number).head_ref == "lts/v1.3/issue-1"
    status = next(c for c in world.comments_on(REPO, 1) if "lts-bot:status" in c.body)
    assert f"Merged fixes: #{fix.number}" in status.body


async def test_a_conflict_is_retried_by_backport_on_the_ticket_and_a_hand_backport_is_linked(
    world: Sandbox, bot: Bot
) -> None:
    await world.push_commits(
        REPO, "release-lts/v1.4", {"app.py": edit(LINES, "line 3", "3 (lts)")}, author="alice"
    )
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    assert backport_prs(world, "release-lts/v1.4") == []

    # Still conflicting: /backport on the ticket tries again and reports the same.
    await world.comment(REPO, 1, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert backport_prs(world, "release-lts/v1.4") == []
    conflicts = [
        c for c in world.comments_on(REPO, fix.number) if "lts-bot:backport-conflict" in c.body
    ]
    assert len(conflicts) == 1

    # Someone resolves it by hand, as the comment says, and opens the PR.
    pr, _ = await open_hand_backport(world, bot, fix, edit(LINES, "line 3", "three"))
    (matrix,) = [c for c in world.comments_on(REPO, fix.number) if "lts-bot:backports" in c.body]
    assert f"#{pr.number}" in matrix.body
    assert "backport-conflict/v1.4" not in world.labels_on(REPO, fix.number)


async def test_fidelity_flags_a_hand_backport_with_conflict_markers_until_a_release_manager_accepts(
    world: Sandbox, bot: Bot
) -> None:
    await world.push_commits(
        REPO, "release-lts/v1.4", {"app.py": edit(LINES, "line 3", "3 (lts)")}, author="alice"
    )
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    botched = edit(LINES, "line 3", "<<<<<<< HEAD\n3 (lts)\n=======\nthree\n>>>>>>> abc1234 (Fix)")
    pr, head = await open_hand_backport(world, bot, fix, botched)

    (fidelity,) = world.check_runs(REPO, head, name="lts/backport-fidelity")
    assert fidelity.conclusion == "failure"
    assert "<<<<<<<" in fidelity.output["summary"] + (fidelity.output.get("text") or "")
    (gate,) = world.check_runs(REPO, head, name="lts/gate")
    assert "lts/backport-fidelity" in gate.output["summary"]
    assert "accepted by" not in gate.output["summary"]

    await world.comment(REPO, pr.number, user="rel", body="/approve release-manager")
    await world.settle(bot)
    (gate,) = world.check_runs(REPO, head, name="lts/gate")
    assert "accepted by @rel" in gate.output["summary"]

    await world.comment(REPO, pr.number, user="rel", body="/approve cancel release-manager")
    await world.settle(bot)
    (gate,) = world.check_runs(REPO, head, name="lts/gate")
    assert "accepted by" not in gate.output["summary"]


async def test_a_crash_after_the_pr_was_opened_is_redelivered_without_a_second_pr(
    world: Sandbox, bot: Bot
) -> None:
    # The PR is opened, then recording the matrix fails: the delivery fails half-way.
    fault = world.fail_next("PATCH", r"/issues/comments/\d+$", status=500, times=50)
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    assert len(backport_prs(world, "release-lts/v1.4")) == 1
    world.faults.pending.remove(fault)

    (closed,) = [
        d
        for d in world.deliveries_of("pull_request", "closed")
        if d.payload["pull_request"]["number"] == fix.number
    ]
    world.redeliver(closed.guid)
    await world.settle(bot)

    # The branch with the same pick and the PR from it are found and linked, not remade.
    (number,) = backport_prs(world, "release-lts/v1.4")
    assert refs(world, "refs/heads/lts/") == ["refs/heads/lts/v1.4/issue-1"]
    status = next(c for c in world.comments_on(REPO, 1) if "lts-bot:status" in c.body)
    assert f"#{number}" in status.body
    assert "backport PR open" in status.body


async def test_a_second_fix_for_the_same_line_gets_its_own_branch(world: Sandbox, bot: Bot) -> None:
    await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    await merge_fix(
        world, bot, [{"lib.py": edit(LINES, "line 7", "seven")}], branch="fix-crash-again"
    )

    heads = sorted(world.pull(REPO, n).head_ref for n in backport_prs(world, "release-lts/v1.4"))
    assert heads == ["lts/v1.4/issue-1", "lts/v1.4/issue-1-2"]
    for n in backport_prs(world, "release-lts/v1.4"):
        (run,) = world.check_runs(REPO, world.pull(REPO, n).head_sha, name="lts/branch-name")
        assert run.conclusion == "success"


async def test_a_backport_label_put_on_a_merged_fix_by_hand_backports_it(
    world: Sandbox, bot: Bot
) -> None:
    fix = await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    assert backport_prs(world, "release-lts/v1.3") == []

    await world.add_labels(REPO, fix.number, ["backport/v1.3"], user="tina")
    await world.settle(bot)

    assert len(backport_prs(world, "release-lts/v1.3")) == 1
    assert "backport/v1.3" in world.labels_on(REPO, fix.number)


async def test_a_retry_on_the_ticket_needs_the_triage_role(world: Sandbox, bot: Bot) -> None:
    await world.push_commits(
        REPO, "release-lts/v1.4", {"app.py": edit(LINES, "line 3", "3 (lts)")}, author="alice"
    )
    await merge_fix(world, bot, [{"app.py": edit(LINES, "line 3", "three")}])
    await world.push_commits(REPO, "release-lts/v1.4", {"app.py": LINES}, author="alice")

    await world.comment(REPO, 1, user="rob", body="/backport v1.4")
    await world.settle(bot)
    assert backport_prs(world, "release-lts/v1.4") == []

    await world.comment(REPO, 1, user="tina", body="/backport v1.4")
    await world.settle(bot)
    assert len(backport_prs(world, "release-lts/v1.4")) == 1


async def test_backport_on_a_pr_into_another_branch_is_refused_without_labels(
    world: Sandbox, bot: Bot
) -> None:
    await world.push_commits(
        REPO, "lts/v1.4/issue-1", {"app.py": "x\n"}, author="alice", from_ref="release-lts/v1.4"
    )
    pr = await world.open_pr(
        REPO, user="alice", head="lts/v1.4/issue-1", base="release-lts/v1.4", title="[v1.4] Fix"
    )
    await world.comment(REPO, pr.number, user="tina", body="/backport v1.3")
    await world.settle(bot)

    assert "backport/v1.3" not in world.labels_on(REPO, pr.number)
    assert any("fixes merged into `main`" in c.body for c in world.comments_on(REPO, pr.number))
