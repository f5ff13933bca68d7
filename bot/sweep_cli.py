"""`lts-bot sweep`: one reconciling sweep from the command line, for cron-style deployments."""

from __future__ import annotations

from typing import TextIO

from bot.clock import Clock
from bot.settings import Settings


async def sweep_once(
    settings: Settings,
    *,
    repo: str | None,
    dry_run: bool,
    out: TextIO,
    clock: Clock | None = None,
) -> int:
    """Plan one sweep, print it, and unless `dry_run` do the work; 1 if anything failed."""
    from bot.service import Bot

    bot = Bot.build(settings, clock=clock)
    sweeper = bot.sweeper
    try:
        report = await sweeper.plan(only_repo=repo)
        for line in report.lines(dry_run=dry_run):
            out.write(line + "\n")
        failed = False
        if not dry_run and report.items:
            bot.queue.start()
            sweeper.enqueue(report, bot.queue)
            await bot.queue.wait_idle()
            failed = bot.services.metrics.deliveries.value("lts_sweep", "failed") > 0
            out.write("done" + (" (some items failed: see the log)" if failed else "") + "\n")
        return 1 if report.errors or failed else 0
    finally:
        await bot.stop(grace=settings.LTS_BOT_SHUTDOWN_GRACE)
