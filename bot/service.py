"""Wires settings into a running service and runs it until SIGTERM, then drains."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

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
from bot.queue import WorkQueue
from bot.repo_config import ConfigStore
from bot.settings import Settings
from bot.state import derive_key

log = get_logger(__name__)


@dataclass
class Bot:
    """One lts-bot instance: its web app, queue, GitHub access and metrics."""

    settings: Settings
    app: web.Application
    queue: WorkQueue
    services: Services
    dispatcher: Dispatcher
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
        return cls(
            settings=settings, app=app, queue=queue, services=services, dispatcher=dispatcher
        )

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
        return self.port

    async def stop(self, grace: float | None = None) -> bool:
        """Refuse new deliveries, finish in-flight work within the grace period, close."""
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
