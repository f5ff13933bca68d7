"""Periodic jobs: on schedule by the service's clock, one run at a time, failures survived."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from bot.clock import FakeClock, SystemClock
from bot.periodic import Periodic


class Job:
    """A job that counts its runs and can be told to fail or to hang until released."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.active = 0
        self.max_active = 0
        self.cancelled = 0
        self.fail_next = 0
        self.hold: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.started += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("job exploded")
            self.finished += 1
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1


async def spin(times: int = 20) -> None:
    """Let every ready task run; nothing here waits on a real timer."""
    for _ in range(times):
        await asyncio.sleep(0)


async def within(awaitable: object, seconds: float = 5.0) -> None:
    await asyncio.wait_for(awaitable, seconds)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_the_first_run_is_at_start_and_the_next_one_interval_seconds_later(
    clock: FakeClock,
) -> None:
    job = Job()
    periodic = Periodic("demo", 60, job, clock=clock)
    periodic.start()
    try:
        await within(periodic.wait_runs(1))
        assert job.finished == 1
        assert periodic.next_due == 60

        clock.advance(59)
        periodic.wake()
        await spin()
        assert job.started == 1

        clock.advance(1)
        periodic.wake()
        await within(periodic.wait_runs(2))
        assert job.finished == 2
        assert periodic.next_due == 120
        # Waiting never goes through FakeClock.sleep, which would move the clock itself.
        assert clock.sleeps == []
    finally:
        await periodic.stop()


async def test_an_initial_delay_holds_the_first_run_back(clock: FakeClock) -> None:
    job = Job()
    periodic = Periodic("demo", 60, job, clock=clock, initial_delay=30)
    periodic.start()
    try:
        await spin()
        assert job.started == 0
        clock.advance(30)
        periodic.wake()
        await within(periodic.wait_runs(1))
        assert periodic.next_due == 90
    finally:
        await periodic.stop()


async def test_an_interval_of_zero_disables_the_job(clock: FakeClock) -> None:
    job = Job()
    periodic = Periodic("demo", 0, job, clock=clock)
    periodic.start()
    await spin()
    assert not periodic.enabled
    assert not periodic.running
    assert job.started == 0
    await periodic.stop()


async def test_runs_never_overlap_and_an_overrun_skips_the_missed_runs(clock: FakeClock) -> None:
    job = Job()
    job.hold = asyncio.Event()
    periodic = Periodic("slow", 10, job, clock=clock)
    periodic.start()
    try:
        await spin()
        assert periodic.busy
        with capture_logs() as logs:
            # Ten intervals pass while the first run is still going.
            for _ in range(10):
                clock.advance(10)
                periodic.wake()
                await spin()
            assert job.started == 1
            job.hold.set()
            await within(periodic.wait_runs(1))
            await spin()
        assert job.max_active == 1
        # The next run is a full interval after the overrun, not ten runs back to back.
        assert periodic.next_due == 110
        assert job.started == 1
        assert [e["event"] for e in logs] == ["periodic_job_overran"]
        clock.advance(10)
        periodic.wake()
        await within(periodic.wait_runs(2))
        assert job.max_active == 1
    finally:
        await periodic.stop()


async def test_a_failing_run_is_logged_and_observed_and_the_next_run_goes_ahead(
    clock: FakeClock,
) -> None:
    job = Job()
    job.fail_next = 1
    seen: list[tuple[str, str]] = []
    periodic = Periodic(
        "flaky",
        60,
        job,
        clock=clock,
        observe=lambda name, outcome, _s: seen.append((name, outcome)),
    )
    with capture_logs() as logs:
        periodic.start()
        try:
            await within(periodic.wait_runs(1))
            assert (periodic.runs, periodic.failures) == (1, 1)
            assert isinstance(periodic.last_error, RuntimeError)
            clock.advance(60)
            periodic.wake()
            await within(periodic.wait_runs(2))
        finally:
            await periodic.stop()
    assert (periodic.runs, periodic.failures, job.finished) == (2, 1, 1)
    assert seen == [("flaky", "error"), ("flaky", "ok")]
    (failed,) = [e for e in logs if e["event"] == "periodic_job_failed"]
    assert failed["log_level"] == "error"
    assert failed["error"] == "RuntimeError: job exploded"
    assert failed["exc_info"] is True


async def test_stop_cancels_a_run_in_progress_and_waits_for_it(clock: FakeClock) -> None:
    job = Job()
    job.hold = asyncio.Event()
    periodic = Periodic("hung", 60, job, clock=clock)
    periodic.start()
    await spin()
    assert periodic.busy
    await within(periodic.stop())
    assert job.cancelled == 1
    assert job.active == 0
    assert not periodic.running
    assert not periodic.busy
    # Stopping again, or a job never started, is fine.
    await periodic.stop()
    await Periodic("never", 60, job, clock=clock).stop()


async def test_a_run_does_not_inherit_the_log_context_of_whoever_started_it(
    clock: FakeClock,
) -> None:
    import structlog

    seen: list[dict[str, object]] = []

    async def look() -> None:
        seen.append(structlog.contextvars.get_contextvars())

    structlog.contextvars.bind_contextvars(delivery_id="not-mine")
    try:
        periodic = Periodic("ctx", 60, look, clock=clock)
        periodic.start()
        await within(periodic.wait_runs(1))
        await periodic.stop()
    finally:
        structlog.contextvars.unbind_contextvars("delivery_id")
    assert seen == [{"job": "ctx"}]


async def test_on_the_real_clock_it_keeps_running_every_interval() -> None:
    job = Job()
    periodic = Periodic("real", 0.01, job, clock=SystemClock())
    periodic.start()
    try:
        await within(periodic.wait_runs(3))
    finally:
        await periodic.stop()
    assert job.finished >= 3
    assert job.max_active == 1


def test_a_negative_interval_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="negative"):
        Periodic("bad", -1, Job(), clock=clock)
