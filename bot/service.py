"""Wires settings into a running service and runs it until SIGTERM, then drains."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field, replace

from aiohttp import web
from gidgethub import routing

from bot.app import make_app
from bot.authz import Authorizer
from bot.clock import Clock, SystemClock
from bot.dispatch import Dispatcher, Services
from bot.github.client import GitHubApp, RetryPolicy
from bot.handlers import make_router
from bot.logs import get_logger, register_secret
from bot.metrics import Metrics
from bot.periodic import Job, Periodic
from bot.queue import WorkQueue
from bot.redeliver import HOUR, Redeliverer
from bot.repo_config import ConfigStore
from bot.settings import Settings
from bot.state import derive_key
from bot.sweep import Sweeper, SweepReport

log = get_logger(__name__)

# GitHub records a delivery as failed only after waiting 10 s for an answer: the first
# redelivery pass waits until those in flight while the service was restarting are known.
REDELIVER_STARTUP_DELAY = 30.0
# The first sweep waits for the service to settle (and the redelivery to land).
SWEEP_STARTUP_DELAY = 60.0


@dataclass
class Bot:
    """One lts-bot instance: its web app, queue, GitHub access, metrics and periodic jobs.

    `jobs` run from `start` until `stop`; register more with `add_job`.
    """

    settings: Settings
    app: web.Application
    queue: WorkQueue
    services: Services
    dispatcher: Dispatcher
    redeliverer: Redeliverer | None = None
    jobs: dict[str, Periodic] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        router: routing.Router | None = None,
        metrics: Metrics | None = None,
        retry: RetryPolicy | None = None,
    ) -> Bot:
        clock = clock or SystemClock()
        metrics = metrics or Metrics()
        pem = settings.private_key_pem()
        register_secret(settings.GITHUB_WEBHOOK_SECRET.get_secret_value(), permanent=True)
        github = GitHubApp(
            app_id=settings.GITHUB_APP_ID,
            private_key_pem=pem,
            api_url=settings.GITHUB_API_URL,
            metrics=metrics,
            clock=clock,
            write_interval=settings.LTS_BOT_WRITE_INTERVAL,
            retry=retry,
            timeout=settings.LTS_BOT_HTTP_TIMEOUT,
        )
        services = Services(
            github=github,
            configs=ConfigStore(metrics),
            metrics=metrics,
            clock=clock,
            app_id=settings.GITHUB_APP_ID,
            app_slug=settings.GITHUB_APP_SLUG,
            authz=Authorizer(metrics=metrics, clock=clock),
            state_key=derive_key(settings.webhook_secret),
        )
        # The sweep lists with the services; its handlers report back through them.
        sweeper = Sweeper(services, budget=settings.LTS_BOT_SWEEP_BUDGET)
        services = replace(services, sweeper=sweeper)
        dispatcher = Dispatcher(router or make_router(), services)
        queue = WorkQueue(
            dispatcher,
            metrics=metrics,
            maxsize=settings.LTS_BOT_QUEUE_SIZE,
            workers=settings.LTS_BOT_WORKERS,
            dedup_ttl=settings.LTS_BOT_DEDUP_TTL,
            dedup_size=settings.LTS_BOT_DEDUP_SIZE,
        )
        app = make_app(
            secret=settings.webhook_secret,
            queue=queue,
            metrics=metrics,
            ignore_reason=dispatcher.ignore_reason,
        )
        redeliverer = Redeliverer(
            github.app(),
            clock=clock,
            lookback=settings.LTS_BOT_REDELIVER_LOOKBACK * HOUR,
            limit=settings.LTS_BOT_REDELIVER_MAX,
        )
        bot = cls(
            settings=settings,
            app=app,
            queue=queue,
            services=services,
            dispatcher=dispatcher,
            redeliverer=redeliverer,
        )
        # What failed while the service was down comes back soon after it starts.
        bot.add_job(
            "redeliver",
            settings.LTS_BOT_REDELIVER_INTERVAL,
            redeliverer.run,
            initial_delay=REDELIVER_STARTUP_DELAY,
        )
        bot.add_job(
            "sweep",
            settings.LTS_BOT_SWEEP_INTERVAL,
            lambda: bot.sweep_now(),
            initial_delay=SWEEP_STARTUP_DELAY,
        )
        return bot

    @property
    def sweeper(self) -> Sweeper:
        assert self.services.sweeper is not None  # Bot.build always makes one
        return self.services.sweeper

    async def sweep_now(self, *, repo: str | None = None) -> SweepReport:
        """List every installation's open work and queue what may need action."""
        report = await self.sweeper.plan(only_repo=repo)
        queued = self.sweeper.enqueue(report, self.queue)
        log.info(
            "sweep_done",
            repos=len(report.repos),
            tickets=report.tickets,
            prs=report.prs,
            merged=report.merged,
            queued=queued,
            deferred=len(report.deferred),
            errors=report.errors,
        )
        return report

    def add_job(
        self, name: str, interval: float, job: Job, *, initial_delay: float = 0.0
    ) -> Periodic:
        """Run `job` every `interval` seconds (0: never) while the service runs.

        The first run is `initial_delay` seconds after `start` (at once if the service is
        already started). Runs of one job never overlap; a failure is logged and counted
        in `lts_bot_handler_duration_seconds{event="periodic",handler=name}`.
        """
        if name in self.jobs:
            raise ValueError(f"a periodic job named {name!r} exists already")
        metrics = self.services.metrics

        def observe(job_name: str, outcome: str, seconds: float) -> None:
            metrics.handler_seconds.observe(seconds, "periodic", job_name, outcome)

        periodic = Periodic(
            name,
            interval,
            job,
            clock=self.services.clock,
            initial_delay=initial_delay,
            observe=observe,
        )
        self.jobs[name] = periodic
        if self._runner is not None:
            periodic.start()
        return periodic

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        """Listen on host:port (port 0 picks a free one) and return the bound port."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            host if host is not None else self.settings.HOST,
            port if port is not None else self.settings.PORT,
        )
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        # Only once listening: a job may cause deliveries (redelivery) that must land.
        for job in self.jobs.values():
            job.start()
        return self.port

    async def stop(self, grace: float | None = None) -> bool:
        """Stop the jobs, refuse new deliveries, finish in-flight work within `grace`, close."""
        await asyncio.gather(*(job.stop() for job in self.jobs.values()))
        finished = await self.queue.drain(
            self.settings.LTS_BOT_SHUTDOWN_GRACE if grace is None else grace
        )
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.services.github.aclose()
        return finished


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; exit 0 after a graceful drain."""
    bot = Bot.build(settings)
    port = await bot.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "service_started",
        host=settings.HOST,
        port=port,
        api_url=settings.GITHUB_API_URL,
        app_id=settings.GITHUB_APP_ID,
    )
    await stop.wait()
    log.info("shutdown_started", queue_depth=bot.queue.depth)
    finished = await bot.stop()
    log.info("shutdown_finished", drained=finished)
    return 0
