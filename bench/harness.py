"""The sandbox GitHub and the real service wired together, quietly, for the benchmarks."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.clock import FakeClock
from bot.logs import configure_logging
from bot.sandbox import Sandbox
from bot.sandbox.cli import throwaway_app_key
from bot.service import Bot
from bot.settings import load_settings


@asynccontextmanager
async def sandbox_and_bot() -> AsyncIterator[tuple[Sandbox, Bot]]:
    """A sandbox on a fake clock and the service pointed at it; the service logs nothing."""
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230
        # The service's logs are not part of the figures.
        configure_logging(stream=devnull)
        clock = FakeClock()
        pem = throwaway_app_key()
        secret = secrets.token_hex(16)
        sandbox = await Sandbox.start(
            app_id=1, private_key_pem=pem, webhook_secret=secret, clock=clock
        )
        settings = load_settings(
            {
                "GITHUB_APP_ID": "1",
                "GITHUB_PRIVATE_KEY": pem,
                "GITHUB_WEBHOOK_SECRET": secret,
                "GITHUB_API_URL": sandbox.url,
                "LTS_BOT_WRITE_INTERVAL": "0",
            }
        )
        bot = Bot.build(settings, clock=clock)
        port = await bot.start("127.0.0.1", 0)
        sandbox.webhook_url = f"http://127.0.0.1:{port}/webhook"
        try:
            yield sandbox, bot
        finally:
            await bot.stop(grace=2)
            await sandbox.stop()
