"""Redelivery of failed webhook deliveries, end to end against the sandbox GitHub."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.clock import FakeClock
from bot.redeliver import RedeliveredGuids, RedeliveryReport, redeliver_failed
from bot.sandbox import Sandbox
from bot.sandbox.webhooks import Delivery
from bot.service import REDELIVER_STARTUP_DELAY, Bot
from bot.settings import SettingsError, load_settings
from bot.state import MARKER

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
"""
DELIVERIES = r"/app/hook/deliveries$"
ATTEMPTS = r"/app/hook/deliveries/\d+/attempts$"


def closed_port_url() -> str:
    """A webhook URL on which nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"


@contextlib.asynccontextmanager
async def unreachable(sandbox: Sandbox) -> AsyncIterator[None]:
    """The service cannot be reached: every delivery made in the block fails."""
    url = sandbox.webhook_url
    sandbox.webhook_url = closed_port_url()
    try:
        yield
        await sandbox.outbox.join()
    finally:
        sandbox.webhook_url = url


@pytest.fixture
async def repo(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """acme/widgets with a policy and the App installed."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG})
    sandbox.install([REPO])
    await sandbox.settle(bot)
    return sandbox


async def open_issue(sandbox: Sandbox, title: str) -> tuple[int, str]:
    """Alice opens an issue; its number and the GUID of its `issues opened` delivery."""
    issue = await sandbox.open_issue(REPO, user="alice", title=title, body="It crashes.")
    delivery = sandbox.deliveries_of("issues", "opened")[-1]
    assert delivery.payload["issue"]["number"] == issue.number
    return issue.number, delivery.guid


def attempts(sandbox: Sandbox, guid: str) -> list[Delivery]:
    return [d for d in sandbox.deliveries if d.guid == guid]


def has_status_comment(sandbox: Sandbox, number: int) -> bool:
    return any(
        c.user.login == "lts-bot[bot]" and c.body.startswith(MARKER)
        for c in sandbox.comments_on(REPO, number)
    )


async def redeliver(
    bot: Bot, memory: RedeliveredGuids | None = None, **kw: Any
) -> RedeliveryReport:
    clock = bot.services.clock
    return await redeliver_failed(
        bot.services.github.app(),
        clock=clock,
        redelivered=memory if memory is not None else RedeliveredGuids(clock),
        **kw,
    )


async def test_deliveries_missed_during_an_outage_are_redelivered_once_and_handled(
    repo: Sandbox, bot: Bot
) -> None:
    async with unreachable(repo):
        number, guid = await open_issue(repo, "Crash on empty config")
    (missed,) = attempts(repo, guid)
    assert missed.status is None
    assert missed.error is not None
    assert not has_status_comment(repo, number)

    memory = RedeliveredGuids(bot.services.clock)
    with capture_logs() as logs:
        report = await redeliver(bot, memory)
    await repo.settle(bot)

    assert (report.failed, report.redelivered, report.skipped, report.deferred) == (1, 1, 0, 0)
    assert report.checked >= 2
    _first, again = attempts(repo, guid)
    assert again.redelivery
    assert again.status == 202
    assert has_status_comment(repo, number)
    (line,) = [e for e in logs if e["event"] == "deliveries_redelivered"]
    assert line["guids"] == [guid]
    assert line["redelivered"] == 1

    # Now that it succeeded, nothing is left to redeliver, whatever the memory says.
    report = await redeliver(bot, memory)
    assert (report.failed, report.redelivered) == (0, 0)
    assert await redeliver(bot) == report
    assert len(attempts(repo, guid)) == 2


async def test_a_delivery_with_a_later_successful_attempt_is_not_redelivered(
    repo: Sandbox, bot: Bot
) -> None:
    async with unreachable(repo):
        _, fixed = await open_issue(repo, "First")
        number, lost = await open_issue(repo, "Second")
    repo.redeliver(fixed)
    await repo.settle(bot)
    assert attempts(repo, fixed)[-1].status == 202

    report = await redeliver(bot)
    await repo.settle(bot)

    assert (report.failed, report.redelivered) == (1, 1)
    assert len(attempts(repo, fixed)) == 2
    assert [d.redelivery for d in attempts(repo, lost)] == [False, True]
    assert has_status_comment(repo, number)


async def test_at_most_limit_deliveries_are_redelivered_per_run_oldest_first(
    repo: Sandbox, bot: Bot
) -> None:
    async with unreachable(repo):
        opened = [await open_issue(repo, f"Issue {i}") for i in range(3)]
    memory = RedeliveredGuids(bot.services.clock)

    report = await redeliver(bot, memory, limit=2)
    await repo.settle(bot)

    assert (report.failed, report.redelivered, report.deferred) == (3, 2, 1)
    assert [len(attempts(repo, guid)) for _, guid in opened] == [2, 2, 1]

    report = await redeliver(bot, memory, limit=2)
    await repo.settle(bot)

    assert (report.failed, report.redelivered, report.deferred) == (1, 1, 0)
    assert [len(attempts(repo, guid)) for _, guid in opened] == [2, 2, 2]
    assert all(has_status_comment(repo, number) for number, _ in opened)


async def test_a_delivery_is_redelivered_once_even_if_the_redelivery_fails_too(
    repo: Sandbox, bot: Bot
) -> None:
    memory = RedeliveredGuids(bot.services.clock)
    async with unreachable(repo):
        _, guid = await open_issue(repo, "Still down")
        first = await redeliver(bot, memory)
        await repo.outbox.join()
        second = await redeliver(bot, memory)
    await repo.outbox.join()

    assert (first.failed, first.redelivered) == (1, 1)
    assert (second.failed, second.redelivered, second.skipped) == (1, 0, 1)
    assert [d.status for d in attempts(repo, guid)] == [None, None]


async def test_a_redelivery_github_refuses_is_logged_and_skipped(repo: Sandbox, bot: Bot) -> None:
    async with unreachable(repo):
        number_a, refused = await open_issue(repo, "A")
        number_b, _fine = await open_issue(repo, "B")
    fault = repo.fail_next("POST", ATTEMPTS, 422)

    with capture_logs() as logs:
        report = await redeliver(bot)
    await repo.settle(bot)

    assert fault.hits == 1
    assert (report.failed, report.redelivered, report.skipped) == (2, 1, 1)
    assert len(attempts(repo, refused)) == 1
    assert not has_status_comment(repo, number_a)
    assert has_status_comment(repo, number_b)
    (warning,) = [e for e in logs if e["event"] == "delivery_redelivery_refused"]
    assert (warning["guid"], warning["status"]) == (refused, 422)


async def test_deliveries_older_than_the_lookback_window_are_left_alone(
    repo: Sandbox, bot: Bot, sandbox_clock: FakeClock
) -> None:
    async with unreachable(repo):
        _, old = await open_issue(repo, "Old")
    repo.advance_clock(hours=5)
    async with unreachable(repo):
        _number, recent = await open_issue(repo, "Recent")

    report = await redeliver(bot, lookback=4 * 3600)
    await repo.settle(bot)

    assert (report.failed, report.redelivered) == (1, 1)
    assert len(attempts(repo, old)) == 1
    assert len(attempts(repo, recent)) == 2
    # Never further back than GitHub keeps deliveries, whatever is asked.
    repo.advance_clock(days=3, minutes=1)
    assert (await redeliver(bot, lookback=30 * 86400)).checked == 0


async def test_a_github_error_on_the_listing_fails_one_run_and_the_next_run_recovers(
    repo: Sandbox, bot: Bot, sandbox_clock: FakeClock
) -> None:
    job = bot.jobs["redeliver"]
    assert job.runs == 0
    async with unreachable(repo):
        number, guid = await open_issue(repo, "Lost in the outage")
    # More 502s than the client retries: the listing fails for this run.
    fault = repo.fail_next("GET", DELIVERIES, 502, times=5)

    with capture_logs() as logs:
        sandbox_clock.advance(3600)
        job.wake()
        await job.wait_runs(1)
    assert fault.hits == 5
    assert job.failures == 1
    (failed,) = [e for e in logs if e["event"] == "periodic_job_failed"]
    assert failed["error"].startswith("GitHubBroken")
    assert len(attempts(repo, guid)) == 1

    sandbox_clock.advance(3600)
    job.wake()
    await job.wait_runs(2)
    await repo.settle(bot)

    assert job.failures == 1
    assert len(attempts(repo, guid)) == 2
    assert has_status_comment(repo, number)
    metrics = bot.services.metrics
    assert metrics.handler_seconds.count("periodic", "redeliver", "error") == 1
    assert metrics.handler_seconds.count("periodic", "redeliver", "ok") == 1


async def test_deliveries_missed_while_the_service_was_down_come_back_when_it_starts(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    sandbox.webhook_url = closed_port_url()
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG})
    sandbox.install([REPO])
    number, _guid = await open_issue(sandbox, "Filed while the bot was down")
    await sandbox.outbox.join()
    missed = list(sandbox.deliveries)
    assert missed
    assert all(d.status is None for d in missed)

    settings = load_settings({**env, "GITHUB_API_URL": sandbox.url})
    service = Bot.build(settings, clock=sandbox_clock)
    port = await service.start("127.0.0.1", 0)
    sandbox.webhook_url = f"http://127.0.0.1:{port}/webhook"
    try:
        job = service.jobs["redeliver"]
        await asyncio.sleep(0.05)
        assert job.runs == 0
        # The first pass waits for deliveries still in flight to be recorded.
        sandbox_clock.advance(REDELIVER_STARTUP_DELAY)
        job.wake()
        await job.wait_runs(1)
        await sandbox.settle(service)

        assert has_status_comment(sandbox, number)
        for d in missed:
            assert [a.status for a in attempts(sandbox, d.guid)] == [None, 202]
    finally:
        await service.stop(grace=1)
    assert not service.jobs["redeliver"].running


async def test_redelivery_can_be_turned_off(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    settings = load_settings(
        {**env, "GITHUB_API_URL": sandbox.url, "LTS_BOT_REDELIVER_INTERVAL": "0"}
    )
    service = Bot.build(settings, clock=sandbox_clock)
    await service.start("127.0.0.1", 0)
    try:
        assert not service.jobs["redeliver"].running
        assert sandbox.calls.count("GET", "/app/hook/deliveries") == 0
    finally:
        await service.stop(grace=1)


async def test_a_job_added_to_the_bot_runs_while_it_runs(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    settings = load_settings({**env, "GITHUB_API_URL": sandbox.url})
    service = Bot.build(settings, clock=sandbox_clock)
    ran: list[float] = []

    async def sweep() -> None:
        ran.append(sandbox_clock.time())

    job = service.add_job("nightly", 300, sweep)
    with pytest.raises(ValueError, match="exists already"):
        service.add_job("nightly", 300, sweep)
    assert ran == []
    assert not job.running
    await service.start("127.0.0.1", 0)
    try:
        await job.wait_runs(1)
        sandbox_clock.advance(300)
        job.wake()
        await job.wait_runs(2)
        late = service.add_job("late", 60, sweep)
        await late.wait_runs(1)
    finally:
        await service.stop(grace=1)
    assert len(ran) == 3
    assert not job.running
    assert not late.running


def test_the_redelivery_and_sweep_settings_have_defaults_and_bounds(env: dict[str, str]) -> None:
    settings = load_settings(env)
    assert settings.LTS_BOT_REDELIVER_INTERVAL == 3600
    assert settings.LTS_BOT_REDELIVER_MAX == 50
    assert settings.LTS_BOT_REDELIVER_LOOKBACK == 24
    assert settings.LTS_BOT_SWEEP_INTERVAL == 300
    assert settings.LTS_BOT_SWEEP_BUDGET == 0.1

    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                **env,
                "LTS_BOT_REDELIVER_INTERVAL": "-1",
                "LTS_BOT_REDELIVER_MAX": "0",
                "LTS_BOT_REDELIVER_LOOKBACK": "73",
                "LTS_BOT_SWEEP_INTERVAL": "-5",
                "LTS_BOT_SWEEP_BUDGET": "1.5",
            }
        )
    named = sorted(p.split(":")[0] for p in info.value.problems)
    assert named == [
        "LTS_BOT_REDELIVER_INTERVAL",
        "LTS_BOT_REDELIVER_LOOKBACK",
        "LTS_BOT_REDELIVER_MAX",
        "LTS_BOT_SWEEP_BUDGET",
        "LTS_BOT_SWEEP_INTERVAL",
    ]
    with pytest.raises(SettingsError):
        load_settings({**env, "LTS_BOT_SWEEP_BUDGET": "0"})
