"""Runs a background job every N seconds of the service's clock, one run at a time."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable

import structlog

from bot.clock import Clock
from bot.logs import get_logger

log = get_logger(__name__)

Job = Callable[[], Awaitable[object]]
# Called after every run with the job's name, "ok" or "error", and the seconds it took.
Observer = Callable[[str, str, float], None]


class Periodic:
    """Runs `job` at start (after `initial_delay`), then every `interval` seconds.

    Runs never overlap: the next one is due `interval` after the previous one started,
    and a run that takes longer than that makes the next wait a full interval from its
    end rather than start at once. An exception from the job is logged
    (`periodic_job_failed`), counted and reported to `observe`, and the next run goes
    ahead as usual. An interval of 0 disables the job.

    Due times are read from `clock.monotonic()`. The wait between runs is a real timer
    re-checked against the clock, not `clock.sleep`: a FakeClock's sleep returns at once,
    which would spin the loop and race the shared clock ahead. Tests drive the job with
    `clock.advance(...)` then `wake()`; on a FakeClock nothing else starts a delayed run,
    so a job with an `initial_delay` stays out of the way of tests that do not drive it.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        job: Job,
        *,
        clock: Clock,
        initial_delay: float = 0.0,
        observe: Observer | None = None,
    ) -> None:
        if interval < 0 or initial_delay < 0:
            raise ValueError("interval and initial_delay must not be negative")
        self.name = name
        self.interval = interval
        self.initial_delay = initial_delay
        self._job = job
        self._clock = clock
        self._observe = observe
        self.runs = 0
        self.failures = 0
        self.last_error: BaseException | None = None
        self.next_due: float | None = None
        self._busy = False
        self._wakeup = asyncio.Event()
        self._ran = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    @property
    def running(self) -> bool:
        """The job is scheduled: started, enabled and not stopped."""
        return self._task is not None and not self._task.done()

    @property
    def busy(self) -> bool:
        """A run is in progress."""
        return self._busy

    def start(self) -> None:
        """Schedule the first run `initial_delay` seconds from now (no-op if disabled)."""
        if self.running:
            return
        if not self.enabled:
            log.info("periodic_job_disabled", job=self.name)
            return
        self.next_due = self._clock.monotonic() + self.initial_delay
        # A fresh context: the job's log lines must not inherit whatever the caller bound.
        self._task = asyncio.create_task(
            self._loop(), name=f"periodic-{self.name}", context=contextvars.Context()
        )

    def wake(self) -> None:
        """Look at the clock again now: a run that has come due starts without delay."""
        self._wakeup.set()

    async def wait_runs(self, count: int) -> None:
        """Return once `count` runs (successful or not) have finished since start."""
        async with self._ran:
            await self._ran.wait_for(lambda: self.runs >= count)

    async def stop(self) -> None:
        """Cancel the schedule and a run in progress, and wait until both have ended."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        structlog.contextvars.bind_contextvars(job=self.name)
        log.info("periodic_job_started", interval=self.interval, initial_delay=self.initial_delay)
        while True:
            assert self.next_due is not None
            await self._wait_until(self.next_due)
            started = self._clock.monotonic()
            await self._run()
            due = started + self.interval
            finished = self._clock.monotonic()
            if due <= finished:
                log.warning(
                    "periodic_job_overran",
                    seconds=round(finished - started, 3),
                    interval=self.interval,
                )
                due = finished + self.interval
            self.next_due = due

    async def _wait_until(self, due: float) -> None:
        while (remaining := due - self._clock.monotonic()) > 0:
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()

    async def _run(self) -> None:
        self._busy = True
        started = time.monotonic()
        outcome = "ok"
        try:
            await self._job()
        except Exception as exc:
            outcome = "error"
            self.failures += 1
            self.last_error = exc
            log.exception("periodic_job_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._busy = False
        seconds = time.monotonic() - started
        if self._observe is not None:
            self._observe(self.name, outcome, seconds)
        async with self._ran:
            self.runs += 1
            self._ran.notify_all()
