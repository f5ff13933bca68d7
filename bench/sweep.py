"""The reconciling sweep at scale: API calls and wall time of a full sweep and an idle one.

10 repositories (one installation each), 5,000 open tickets and 500 open LTS pull
requests in mixed states. The first sweep judges everything that may need work (its
budget raised so it finishes in one go); the second finds nothing to do and should cost
little more than its listings, most of them 304s, which GitHub does not count against
the rate limit. Figures only: nothing here fails on timing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from bench.harness import sandbox_and_bot
from bot.sandbox import Sandbox
from bot.service import Bot

REPOS = 10
TICKETS_PER_REPO = 500
PRS_PER_REPO = 50
HOURLY_LIMIT = 5000
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
intake:
  required: {bug: [], security: [], backport: []}
"""
SEVERITIES = ["low"] * 45 + ["medium"] * 45 + ["high"] * 8 + ["critical"] * 2


async def _populate(sandbox: Sandbox, bot: Bot) -> list[str]:
    # One organization (so one installation) per repository.
    names = [f"team-{n}/service" for n in range(REPOS)]
    sandbox.add_user("alice")
    sandbox.add_user("tina")
    for name in names:
        await sandbox.create_repo(name, files={".github/lts.yml": CONFIG, "app.py": "x = 0\n"})
        sandbox.set_permission(name, "tina", "triage")
        sandbox.install([name])
        await sandbox.create_branch(name, "release-lts/v1.4", from_ref="main", user="alice")
    await sandbox.settle(bot)
    # The population is made with the service unreachable: its own events are not the point.
    url, sandbox.webhook_url = sandbox.webhook_url, None
    for name in names:
        for i in range(TICKETS_PER_REPO):
            issue = await sandbox.open_issue(name, user="alice", title=f"Bug {i}", body="bug")
            labels = [f"severity/{SEVERITIES[i % len(SEVERITIES)]}"]
            if i % 5 == 0:
                labels += ["affects/v1.4", "triage/backport", "backport/v1.4"]
            await sandbox.add_labels(name, issue.number, labels, user="tina")
        for i in range(PRS_PER_REPO):
            branch = f"lts/v1.4/issue-{i * 5 + 1}"
            await sandbox.push_commits(
                name,
                branch,
                {"app.py": f"x = {i}\n"},
                message=f"Fix (#{i * 5 + 1})\n\nChangelog: Fix {i}\nBackport to v1.4\n",
                author="alice",
                from_ref="release-lts/v1.4",
            )
            await sandbox.open_pr(
                name, user="alice", head=branch, base="release-lts/v1.4", title=f"[v1.4] {i}"
            )
    await sandbox.outbox.join()
    sandbox.webhook_url = url
    return names


async def _measure(sandbox: Sandbox, bot: Bot) -> dict[str, Any]:
    mark = len(sandbox.calls)
    started = time.perf_counter()
    report = await bot.sweep_now()
    await sandbox.settle(bot, within=600)
    seconds = time.perf_counter() - started
    calls = sandbox.calls.since(mark)
    statuses = Counter(c.status for c in calls)
    per_installation = Counter(c.installation for c in calls if c.status != 304)
    return {
        "seconds": round(seconds, 2),
        "calls": len(calls),
        "not_modified": statuses.get(304, 0),
        "counted": len(calls) - statuses.get(304, 0),
        "busiest_installation": max(per_installation.values(), default=0),
        "queued": len(report.items),
        "deferred": len(report.deferred),
    }


async def run() -> dict[str, Any]:
    async with sandbox_and_bot() as (sandbox, bot):
        setup = time.perf_counter()
        await _populate(sandbox, bot)
        setup_s = time.perf_counter() - setup
        # Three and a half hours on: the critical tickets are near their 4h deadline.
        sandbox.advance_clock(hours=3, minutes=30)
        bot.sweeper.budget = 1.0
        full = await _measure(sandbox, bot)
        bot.sweeper.budget = 0.1
        idle = await _measure(sandbox, bot)
    share = idle["busiest_installation"] / HOURLY_LIMIT
    print(
        f"sweep: {REPOS} repositories, {REPOS * TICKETS_PER_REPO} open tickets, "
        f"{REPOS * PRS_PER_REPO} open LTS PRs (made in {setup_s:.0f}s)"
    )
    for label, got in (("full sweep", full), ("idle sweep", idle)):
        print(
            f"  {label:<11} {got['seconds']:7.2f}s  {got['calls']:5d} calls "
            f"({got['not_modified']} answered 304, {got['counted']} counted), "
            f"{got['queued']} items queued, busiest installation {got['busiest_installation']}"
        )
    print(f"  deferred to a later sweep: full {full['deferred']}, idle {idle['deferred']}")
    print(
        f"  idle sweep: {share:.2%} of one installation's hourly budget of {HOURLY_LIMIT} "
        f"(target < 2%); idle/full counted calls {idle['counted'] / max(full['counted'], 1):.3f}"
    )
    return {"full": full, "idle": idle, "idle_share": share}


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
