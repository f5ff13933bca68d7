"""Fixtures for end-to-end tests: a sandbox GitHub and the real service pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.clock import FakeClock
from bot.github.auth import make_app_jwt
from bot.sandbox import Sandbox
from bot.service import Bot
from bot.settings import load_settings
from tests.contract.checker import ContractChecker


@pytest.fixture
def sandbox_clock() -> FakeClock:
    """One clock for the sandbox and the bot: JWT and token lifetimes agree, and the
    client's retry back-off sleeps cost no real time."""
    return FakeClock()


@pytest.fixture
def contract() -> ContractChecker:
    """Checks every request the sandbox answers, and its answer, against GitHub's OpenAPI."""
    return ContractChecker()


@pytest.fixture
async def sandbox(
    env: dict[str, str], private_key_pem: str, sandbox_clock: FakeClock, contract: ContractChecker
) -> AsyncIterator[Sandbox]:
    """A sandbox GitHub for the App in `env`, with user alice (no repositories yet).

    Every exchange is contract-checked: a request GitHub would not understand, or an answer
    GitHub would not give, fails the test at teardown.
    """
    sb = await Sandbox.start(
        app_id=int(env["GITHUB_APP_ID"]),
        private_key_pem=private_key_pem,
        webhook_secret=env["GITHUB_WEBHOOK_SECRET"],
        clock=sandbox_clock,
    )
    sb.observe(contract)
    sb.add_user("alice")
    try:
        yield sb
        # A 500 from the sandbox is a bug in the sandbox, whatever the test concluded.
        assert sb.server_errors == []
        violations = "\n".join(contract.violations)
        assert not contract.violations, f"GitHub's published contract is broken:\n{violations}"
    finally:
        await sb.stop()


@pytest.fixture
async def bot(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> AsyncIterator[Bot]:
    """The real service, its API pointed at the sandbox and the sandbox's webhooks at it."""
    settings = load_settings({**env, "GITHUB_API_URL": sandbox.url, "LTS_BOT_WRITE_INTERVAL": "0"})
    service = Bot.build(settings, clock=sandbox_clock)
    port = await service.start("127.0.0.1", 0)
    sandbox.webhook_url = f"http://127.0.0.1:{port}/webhook"
    try:
        yield service
    finally:
        await service.stop(grace=1)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the sandbox's API, for tests that talk to it directly."""
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        yield client


@pytest.fixture
def mint_jwt(
    env: dict[str, str], private_key_pem: str, sandbox_clock: FakeClock
) -> Callable[..., str]:
    """Sign an App JWT as the bot does: `mint_jwt(shift=0.0, pem=None)` seconds from now."""

    def mint(shift: float = 0.0, pem: str | None = None) -> str:
        return make_app_jwt(
            int(env["GITHUB_APP_ID"]), pem or private_key_pem, sandbox_clock.time() + shift
        )

    return mint
