"""Fixtures for the GitHub layer: a fake clock, metrics, and GitHub's REST API under respx."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from bot.clock import FakeClock
from bot.metrics import Metrics

API = "https://api.github.com"
APP_ID = 4242


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenIssuer:
    """Plays `POST /app/installations/{id}/access_tokens`: a new token per call, one hour long.

    Set `status` to make it refuse; set `gate` (an asyncio.Event) to hold answers until set.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.issued: list[tuple[int, str]] = []
        self.requests: list[httpx.Request] = []
        self.status = 201
        self.lifetime = 3600.0
        self.gate: asyncio.Event | None = None

    def token_for(self, installation_id: int, n: int) -> str:
        return f"ghs_inst{installation_id}n{n:04d}abcdefghijklmnopqrstuvwxyz"

    async def __call__(self, request: httpx.Request, installation_id: str) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.status != 201:
            return httpx.Response(self.status, json={"message": "Not Found"})
        token = self.token_for(int(installation_id), len(self.issued) + 1)
        self.issued.append((int(installation_id), token))
        return httpx.Response(
            201,
            json={"token": token, "expires_at": iso(self.clock.time() + self.lifetime)},
        )

    def latest(self) -> str:
        return self.issued[-1][1]


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def token_issuer(fake_clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(fake_clock)


@pytest.fixture
def github_api(token_issuer: TokenIssuer) -> Iterator[respx.MockRouter]:
    """GitHub's REST API at api.github.com; tests add routes, tokens are already served."""
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post(path__regex=r"/app/installations/(?P<installation_id>\d+)/access_tokens").mock(
            side_effect=token_issuer
        )
        yield router


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
