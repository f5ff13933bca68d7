"""PR gates end to end: the four lts/* check runs on a patch PR, through the sandbox."""

from __future__ import annotations

import pytest

from bot.sandbox import Sandbox
from bot.service import Bot

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  eng-lead: ["@acme/leads"]
checks:
  required: ["ci/test"]
"""
GOOD = "Fix the crash on an empty config (#1)\n\nChangelog: Fix crash\nBackport to v1.4\n"
CHECKS = ("lts/branch-name", "lts/commit-message", "lts/approvals", "lts/gate")


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """A triaged ticket #1 targeting v1.4 and the people of each role."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": "x = 1\n"})
    for login, role in (
        ("alice", "write"),
        ("rita", "write"),
        ("quinn", "read"),
        ("rel", "read"),
        ("tina", "triage"),
        ("erin", "read"),
    ):
        if login != "alice":
            sandbox.add_user(login)
        sandbox.set_permission(REPO, login, role)
    sandbox.add_team("acme", "qa", ["quinn"])
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.add_team("acme", "leads", ["erin"])
    sandbox.install([REPO])
    await sandbox.create_branch(REPO, "release-lts/v1.4", from_ref="main", user="alice")
    await sandbox.open_issue(REPO, user="alice", title="Crash", body="crash")
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


def conclusions(sandbox: Sandbox, sha: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in CHECKS:
        runs = sandbox.check_runs(REPO, sha, name=name)
        assert len(runs) <= 1, f"{name} has {len(runs)} runs on {sha[:7]}"
        out[name] = runs[0].conclusion if runs else None
    return out


async def open_patch_pr(sandbox: Sandbox, bot: Bot, message: str = GOOD) -> tuple[int, str]:
    pushed = await sandbox.push_commits(
        REPO,
        "lts/v1.4/issue-1",
        {"app.py": "x = 2\n"},
        message=message,
        author="alice",
        from_ref="release-lts/v1.4",
    )
    pr = await sandbox.open_pr(
        REPO, user="alice", head="lts/v1.4/issue-1", base="release-lts/v1.4", title="[v1.4] Fix"
    )
    await sandbox.settle(bot)
    return pr.number, pushed.after


async def test_a_new_patch_pr_gets_all_four_checks_and_the_gate_waits_for_approvals(
    world: Sandbox, bot: Bot
) -> None:
    _number, head = await open_patch_pr(world, bot)

    assert conclusions(world, head) == {
        "lts/branch-name": "success",
        "lts/commit-message": "success",
        "lts/approvals": "failure",
        "lts/gate": "failure",
    }


async def test_a_commit_without_its_changelog_line_fails_and_says_so(
    world: Sandbox, bot: Bot
) -> None:
    _number, head = await open_patch_pr(world, bot, message="Fix it\n\nFixes #1\n")

    (run,) = world.check_runs(REPO, head, name="lts/commit-message")
    assert run.conclusion == "failure"
    assert "Changelog:" in run.output["summary"]
    assert "Backport to v1.4" in run.output["summary"]


async def test_approvals_ci_and_hold_drive_the_gate(world: Sandbox, bot: Bot) -> None:
    number, head = await open_patch_pr(world, bot)

    await world.review(REPO, number, user="rita", state="APPROVE")
    await world.comment(REPO, number, user="quinn", body="/approve qa")
    await world.comment(REPO, number, user="rel", body="/approve release-manager")
    await world.settle(bot)
    assert conclusions(world, head)["lts/approvals"] == "success"
    assert conclusions(world, head)["lts/gate"] == "failure"  # CI has not reported

    await world.complete_check(REPO, head, "ci/test", "success")
    await world.settle(bot)
    assert conclusions(world, head)["lts/gate"] == "success"

    await world.comment(REPO, number, user="tina", body="/hold waiting for the advisory")
    await world.settle(bot)
    (gate_run,) = world.check_runs(REPO, head, name="lts/gate")
    assert gate_run.conclusion == "failure"
    assert "waiting for the advisory" in gate_run.output["summary"]
    # Each part links to its check run's page.
    (approvals_run,) = world.check_runs(REPO, head, name="lts/approvals")
    assert f"/acme/widgets/runs/{approvals_run.id})" in gate_run.output["summary"]

    await world.comment(REPO, number, user="tina", body="/unhold")
    await world.settle(bot)
    assert conclusions(world, head)["lts/gate"] == "success"


async def test_the_author_cannot_approve_and_a_push_that_changes_the_patch_resets_sign_offs(
    world: Sandbox, bot: Bot
) -> None:
    number, head = await open_patch_pr(world, bot)
    world.add_team("acme", "qa", ["quinn", "alice"])
    await world.comment(REPO, number, user="alice", body="/approve qa")
    await world.review(REPO, number, user="rita", state="APPROVE")
    await world.comment(REPO, number, user="rel", body="/approve release-manager")
    await world.settle(bot)
    # alice holds QA but wrote the PR: her sign-off does not count.
    (run,) = world.check_runs(REPO, head, name="lts/approvals")
    assert run.conclusion == "failure"
    assert "qa" in run.output["title"].lower() or "QA" in run.output["summary"]

    await world.comment(REPO, number, user="quinn", body="/approve qa")
    await world.settle(bot)
    assert conclusions(world, head)["lts/approvals"] == "success"

    pushed = await world.push_commits(
        REPO, "lts/v1.4/issue-1", {"app.py": "x = 3\n"}, message=GOOD, author="alice"
    )
    await world.settle(bot)

    (run,) = world.check_runs(REPO, pushed.after, name="lts/approvals")
    assert run.conclusion == "failure"


async def test_recomputing_twice_rewrites_nothing(world: Sandbox, bot: Bot) -> None:
    number, _head = await open_patch_pr(world, bot)
    mark = len(world.calls)

    await world.add_labels(REPO, number, ["needs-review"], user="alice")
    await world.settle(bot)

    writes = [
        c
        for c in world.calls.since(mark)
        if c.method in ("POST", "PATCH") and "check-runs" in c.path
    ]
    assert writes == []


async def test_fast_track_by_an_eng_lead_switches_the_matrix_and_opens_an_audit_on_merge(
    world: Sandbox, bot: Bot
) -> None:
    number, head = await open_patch_pr(world, bot)

    await world.comment(REPO, number, user="tina", body="/fast-track it is on fire")
    await world.settle(bot)
    assert "fast-track" not in world.labels_on(REPO, number)
    refusals = [c.body for c in world.comments_on(REPO, number) if "only an eng lead" in c.body]
    assert len(refusals) == 1

    await world.comment(REPO, number, user="erin", body="/fast-track actively exploited")
    await world.comment(REPO, number, user="erin", body="/approve eng-lead")
    await world.comment(REPO, number, user="rel", body="/approve release-manager")
    await world.complete_check(REPO, head, "ci/test", "success")
    await world.settle(bot)

    assert "fast-track" in world.labels_on(REPO, number)
    assert conclusions(world, head)["lts/approvals"] == "success"
    assert conclusions(world, head)["lts/gate"] == "success"
    ticket = next(c for c in world.comments_on(REPO, 1) if c.body.startswith("<!-- lts-bot:status"))
    assert "fast-track" in ticket.body
    assert len([c for c in world.comments_on(REPO, number) if "only an eng lead" in c.body]) == 1

    await world.merge_pr(REPO, number, method="squash", user="rel")
    await world.settle(bot)
    closed = next(
        d
        for d in world.deliveries_of("pull_request", "closed")
        if d.payload["pull_request"]["number"] == number
    )
    world.redeliver(closed.guid)
    await world.settle(bot)

    audits = [
        n for n in range(1, 50) if _exists(world, n) and "lts/audit" in world.labels_on(REPO, n)
    ]
    assert len(audits) == 1
    audit = world.issue(REPO, audits[0])
    assert [a.login for a in audit.assignees] == ["erin"]
    assert "Postmortem checklist" in (audit.body or "")


def _exists(world: Sandbox, number: int) -> bool:
    try:
        world.issue(REPO, number)
    except (KeyError, LookupError):
        return False
    return True


async def test_a_rebase_that_keeps_the_patch_keeps_the_sign_offs(world: Sandbox, bot: Bot) -> None:
    number, head = await open_patch_pr(world, bot)
    await world.review(REPO, number, user="rita", state="APPROVE")
    await world.comment(REPO, number, user="quinn", body="/approve qa")
    await world.comment(REPO, number, user="rel", body="/approve release-manager")
    await world.settle(bot)
    assert conclusions(world, head)["lts/approvals"] == "success"

    # The base moves on; the same change is replayed on top of it and force-pushed.
    await world.push_commits(
        REPO, "release-lts/v1.4", {"NEWS": "1.4.3\n"}, message="News", author="alice"
    )
    rebased = await world.push_commits(
        REPO,
        "rebase-tmp",
        {"app.py": "x = 2\n"},
        message=GOOD,
        author="alice",
        from_ref="release-lts/v1.4",
    )
    target = world.world.repo_by_name(REPO)
    async with target.lock:
        await world.ops.move_ref(
            target,
            "refs/heads/lts/v1.4/issue-1",
            rebased.after,
            head,
            world.world.account("alice"),
            forced=True,
        )
    await world.settle(bot)

    (run,) = world.check_runs(REPO, rebased.after, name="lts/approvals")
    assert run.conclusion == "success", run.output["summary"]
