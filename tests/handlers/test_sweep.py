"""The reconciling sweep end to end: SLA reminders, escalation, missed events, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox import Sandbox
from bot.service import Bot
from bot.sweep import Sweeper, SweepReport

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  triage: ["@acme/triage"]
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  eng-lead: ["@acme/leads"]
sla:
  holidays: [2027-01-18]
intake:
  # Tickets here are complete as filed: a ticket waiting on its reporter gets no reminder.
  required: {bug: [], security: [], backport: []}
"""
LINES = "".join(f"line {n}\n" for n in range(1, 11))


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """A repository with its roles; the sandbox clock starts on Friday 2027-01-15 08:00 UTC."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": LINES})
    for login in ("tina", "lead", "rita", "quinn", "rel"):
        sandbox.add_user(login)
    sandbox.set_permission(REPO, "rita", "write")
    sandbox.add_team("acme", "triage", ["tina"])
    sandbox.add_team("acme", "leads", ["lead"])
    sandbox.add_team("acme", "qa", ["quinn"])
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.install([REPO])
    await sandbox.create_branch(REPO, "release-lts/v1.4", from_ref="main", user="alice")
    await sandbox.settle(bot)
    return sandbox


async def sweep(world: Sandbox, bot: Bot, sweeper: Sweeper | None = None) -> SweepReport:
    # The service's own sweeper by default: its handlers tell it what they judged.
    sweeper = sweeper or bot.sweeper
    report = await sweeper.plan()
    sweeper.enqueue(report, bot.queue)
    await world.settle(bot)
    return report


async def new_ticket(world: Sandbox, bot: Bot, severity: str) -> int:
    issue = await world.open_issue(REPO, user="alice", title="Crash", body="it crashes")
    await world.comment(REPO, issue.number, user="tina", body=f"/severity {severity}")
    await world.settle(bot)
    return issue.number


def reminders_on(world: Sandbox, number: int, kind: str = "") -> list[str]:
    return [
        c.body
        for c in world.comments_on(REPO, number)
        if c.body.startswith(f"<!-- lts-bot:reminder {kind}")
    ]


async def test_a_reminder_comes_once_at_the_threshold_whatever_the_sweeps_and_restarts(
    world: Sandbox, bot: Bot
) -> None:
    number = await new_ticket(world, bot, "critical")  # triage within 4h

    world.advance_clock(hours=2)
    await sweep(world, bot)
    assert reminders_on(world, number) == []

    world.advance_clock(hours=1, minutes=5)  # 55 minutes left: under a quarter
    sweeper = Sweeper(bot.services)
    await sweep(world, bot, sweeper)
    await sweep(world, bot, sweeper)
    await sweep(world, bot, Sweeper(bot.services))  # a restarted service
    (reminder,) = reminders_on(world, number, "triage:remind")
    assert "@acme/triage" in reminder
    assert "/severity" in reminder or "/triage" in reminder
    status = next(c for c in world.comments_on(REPO, number) if "lts-bot:status" in c.body)
    assert "reminder sent" in status.body


async def test_the_deadline_breach_labels_and_escalates(world: Sandbox, bot: Bot) -> None:
    number = await new_ticket(world, bot, "critical")
    world.advance_clock(hours=4, minutes=1)

    await sweep(world, bot)
    await sweep(world, bot)

    (breach,) = reminders_on(world, number, "triage:breach")
    assert "@acme/leads" in breach
    assert "sla/breached" in world.labels_on(REPO, number)
    # The breach supersedes the reminder that was never sent.
    assert reminders_on(world, number, "triage:remind") == []


async def test_a_paused_clock_gets_no_reminder(world: Sandbox, bot: Bot) -> None:
    number = await new_ticket(world, bot, "critical")
    await world.comment(REPO, number, user="tina", body="/sla pause waiting for the vendor")
    await world.settle(bot)
    world.advance_clock(hours=6)

    await sweep(world, bot)
    assert reminders_on(world, number) == []


async def test_weekends_and_holidays_do_not_count(world: Sandbox, bot: Bot) -> None:
    # Medium: 3 business days from Friday 08:00; Monday 18 January is a holiday, so the
    # deadline is Thursday 08:00 and the reminder is due once 0.75 of a day is left.
    number = await new_ticket(world, bot, "medium")
    world.advance_clock(days=4)  # Tuesday 08:00: 1 day 0h + Wednesday left
    await sweep(world, bot)
    assert reminders_on(world, number) == []

    world.advance_clock(days=1, hours=7)  # Wednesday 15:00: 17h of business time left
    await sweep(world, bot)
    assert len(reminders_on(world, number, "triage:remind")) == 1


async def test_a_fix_merged_while_the_service_was_down_gets_its_backports(
    world: Sandbox, bot: Bot
) -> None:
    number = await new_ticket(world, bot, "high")
    await world.comment(
        REPO,
        number,
        user="tina",
        body="/affects v1.4\n/check api-change=no\n/triage backport\n/backport v1.4",
    )
    await world.settle(bot)
    url, world.webhook_url = world.webhook_url, "http://127.0.0.1:9/webhook"
    await world.push_commits(
        REPO, "fix", {"app.py": LINES.replace("line 3", "three")}, author="alice"
    )
    pr = await world.open_pr(REPO, user="alice", head="fix", title="Fix", body=f"Fixes #{number}")
    await world.merge_pr(REPO, pr.number, method="squash", user="alice")
    await world.outbox.join()  # every delivery tried (and failed) before the service is back
    world.webhook_url = url
    await world.settle(bot)
    assert not any(
        it.pull is not None and it.pull.base_ref == "release-lts/v1.4"
        for it in world.world.repo_by_name(REPO).issues.values()
    )

    await sweep(world, bot)

    heads = [
        it.pull.head_ref
        for it in world.world.repo_by_name(REPO).issues.values()
        if it.pull is not None and it.pull.base_ref == "release-lts/v1.4"
    ]
    assert heads == [f"lts/v1.4/issue-{number}"]


async def test_a_gate_left_stale_by_a_missed_review_is_corrected(world: Sandbox, bot: Bot) -> None:
    number = await new_ticket(world, bot, "high")
    await world.comment(
        REPO,
        number,
        user="tina",
        body="/affects v1.4\n/check api-change=no\n/triage backport\n/backport v1.4",
    )
    pushed = await world.push_commits(
        REPO,
        f"lts/v1.4/issue-{number}",
        {"app.py": "x\n"},
        message=f"Fix (#{number})\n\nChangelog: Fix\nBackport to v1.4\n",
        author="alice",
        from_ref="release-lts/v1.4",
    )
    pr = await world.open_pr(
        REPO, user="alice", head=f"lts/v1.4/issue-{number}", base="release-lts/v1.4", title="x"
    )
    await world.settle(bot)
    (run,) = world.check_runs(REPO, pushed.after, name="lts/approvals")
    assert "0 of 3" in run.output["title"]

    url, world.webhook_url = world.webhook_url, "http://127.0.0.1:9/webhook"
    await world.review(REPO, pr.number, user="rita", state="APPROVE")
    await world.outbox.join()
    world.webhook_url = url
    await sweep(world, bot)

    (run,) = world.check_runs(REPO, pushed.after, name="lts/approvals")
    assert "1 of 3" in run.output["title"]


async def test_a_pr_waiting_only_on_sign_offs_gets_one_reminder(world: Sandbox, bot: Bot) -> None:
    number = await new_ticket(world, bot, "high")
    await world.comment(
        REPO,
        number,
        user="tina",
        body="/affects v1.4\n/check api-change=no\n/triage backport\n/backport v1.4",
    )
    await world.push_commits(
        REPO,
        f"lts/v1.4/issue-{number}",
        {"app.py": "x\n"},
        message=f"Fix (#{number})\n\nChangelog: Fix\nBackport to v1.4\n",
        author="alice",
        from_ref="release-lts/v1.4",
    )
    pr = await world.open_pr(
        REPO, user="alice", head=f"lts/v1.4/issue-{number}", base="release-lts/v1.4", title="x"
    )
    await world.settle(bot)
    await sweep(world, bot)
    world.advance_clock(days=1)  # Saturday: one business day has not passed
    await sweep(world, bot)
    assert not any(
        c.body.startswith("<!-- lts-bot:approval-reminder")
        for c in world.comments_on(REPO, pr.number)
    )
    world.advance_clock(days=4)  # Wednesday (Monday was a holiday)
    await sweep(world, bot)
    await sweep(world, bot, Sweeper(bot.services))

    posted = [
        c.body
        for c in world.comments_on(REPO, pr.number)
        if c.body.startswith("<!-- lts-bot:approval-reminder")
    ]
    assert len(posted) == 1
    assert "@acme/qa" in posted[0]


async def test_two_concurrent_sweeps_post_each_reminder_once(world: Sandbox, bot: Bot) -> None:
    number = await new_ticket(world, bot, "critical")
    world.advance_clock(hours=3, minutes=10)

    first, second = Sweeper(bot.services), Sweeper(bot.services)
    reports = await asyncio.gather(first.plan(), second.plan())
    first.enqueue(reports[0], bot.queue)
    second.enqueue(reports[1], bot.queue)
    await world.settle(bot)

    assert len(reminders_on(world, number, "triage:remind")) == 1
