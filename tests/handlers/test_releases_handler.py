"""Releases end to end: /release, the checklist, publication, the monitoring window, rollback."""

from __future__ import annotations

import pytest

from bot.sandbox import Sandbox
from bot.service import Bot
from bot.sweep import Sweeper, SweepReport

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
BRANCH = "release-lts/v1.4"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  triage: ["@acme/triage"]
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  security: ["@acme/security"]
  eng-lead: ["@acme/leads"]
release:
  package: acme-widgets
intake:
  required: {bug: [], security: [], backport: []}
"""


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """A line v1.4 released once (v1.4.0), roles, and the App installed."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": "v = 1\n"})
    for login in ("tina", "lead", "quinn", "rel", "sec", "dev"):
        sandbox.add_user(login)
    sandbox.set_permission(REPO, "dev", "write")
    sandbox.add_team("acme", "triage", ["tina"])
    sandbox.add_team("acme", "leads", ["lead"])
    sandbox.add_team("acme", "qa", ["quinn"])
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.add_team("acme", "security", ["sec"])
    sandbox.install([REPO])
    await sandbox.create_branch(REPO, BRANCH, from_ref="main", user="rel")
    await sandbox.publish_release(REPO, "v1.4.0", user="rel", target=BRANCH)
    await sandbox.settle(bot)
    return sandbox


async def sweep(world: Sandbox, bot: Bot, sweeper: Sweeper | None = None) -> SweepReport:
    sweeper = sweeper or bot.sweeper
    report = await sweeper.plan()
    sweeper.enqueue(report, bot.queue)
    await world.settle(bot)
    return report


async def fix_on_line(
    world: Sandbox, bot: Bot, ticket: int, *, n: int, changelog: str | None = "Fix the crash"
) -> int:
    """A PR fixing `ticket` merged into the v1.4 line; returns its number."""
    head = f"lts/v1.4/issue-{ticket}"
    trailer = f"\n\nChangelog: {changelog}" if changelog else ""
    await world.push_commits(
        REPO,
        head,
        {f"fix{n}.py": f"fixed = {n}\n"},
        message=f"Fix crash {n} (#{ticket})\n\nBackport to v1.4{trailer}",
        author="dev",
        from_ref=BRANCH,
    )
    pr = await world.open_pr(
        REPO,
        user="dev",
        head=head,
        base=BRANCH,
        title=f"[v1.4] Fix crash {n}",
        body=f"Fixes #{ticket}",
    )
    await world.settle(bot)
    await world.merge_pr(REPO, pr.number, user="rel", method="squash")
    await world.settle(bot)
    return pr.number


async def ticket(world: Sandbox, bot: Bot, title: str = "Crash on start") -> int:
    issue = await world.open_issue(REPO, user="alice", title=title, body="it crashes")
    await world.comment(REPO, issue.number, user="tina", body="/severity high\n/affects v1.4")
    await world.settle(bot)
    return issue.number


def tracking(world: Sandbox) -> dict[str, int]:
    """Tracking issues by tag."""
    return {
        world.issue(REPO, n).title.removeprefix("LTS release "): n
        for n in range(1, 200)
        if _exists(world, n) and "lts/release" in world.labels_on(REPO, n)
    }


def _exists(world: Sandbox, n: int) -> bool:
    try:
        world.issue(REPO, n)
    except (KeyError, LookupError):
        return False
    return True


async def test_release_stages_publishes_and_closes_after_the_window(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    t2 = await ticket(world, bot, "Wrong total")
    pr1 = await fix_on_line(world, bot, t1, n=1)
    pr2 = await fix_on_line(world, bot, t2, n=2, changelog=None)

    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    body = world.issue(REPO, number).body or ""
    assert "LTS release v1.4.1" in body
    assert f"#{pr1}" in body
    assert f"#{pr2}" in body
    assert "- [ ]" in body  # the checklist is not ready: no artifacts yet
    repo = world.world.repo_by_name(REPO)
    (draft,) = [r for r in repo.releases.values() if r.tag_name == "v1.4.1"]
    assert draft.draft
    assert "Fix the crash" in (draft.body or "")
    assert "### Other" in (draft.body or "")
    assert "pip install --upgrade acme-widgets==1.4.1" in (draft.body or "")

    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    for t in (t1, t2):
        assert "released/v1.4.1" in world.labels_on(REPO, t)
        notes = [c.body for c in world.comments_on(REPO, t) if "lts-bot:released v1.4.1" in c.body]
        assert len(notes) == 1
        assert world.issue(REPO, t).state == "open"

    world.advance_clock(hours=49)
    await sweep(world, bot)
    for t in (t1, t2):
        assert world.issue(REPO, t).state == "closed"
    assert world.issue(REPO, number).state == "closed"


async def test_a_regression_in_the_window_keeps_the_tickets_open(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    reg = await world.open_issue(
        REPO, user="alice", title="v1.4.1 breaks imports", body="since 1.4.1 it fails"
    )
    await world.add_labels(REPO, reg.number, ["regression"], user="tina")
    await world.settle(bot)

    world.advance_clock(hours=49)
    await sweep(world, bot)

    assert world.issue(REPO, t1).state == "open"
    number = tracking(world)["v1.4.1"]
    flagged = [c.body for c in world.comments_on(REPO, number) if "lts-bot:flagged" in c.body]
    assert len(flagged) == 1
    assert f"#{reg.number}" in flagged[0]


async def test_rollback_withdraws_and_opens_an_incident(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    await world.comment(REPO, t1, user="rel", body="/rollback v1.4.1 crashes on start-up")
    await world.settle(bot)

    repo = world.world.repo_by_name(REPO)
    (rel,) = [r for r in repo.releases.values() if r.tag_name == "v1.4.1"]
    assert (rel.name or "").startswith("[withdrawn]")
    assert rel.prerelease
    assert "pip install acme-widgets==1.4.0" in (rel.body or "")
    incidents = [
        n for n in range(1, 50) if _exists(world, n) and "lts/incident" in world.labels_on(REPO, n)
    ]
    assert len(incidents) == 1
