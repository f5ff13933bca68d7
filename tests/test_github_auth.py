"""App JWTs and the installation-token cache: claims, single flight, refresh, errors, secrecy."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from bot.clock import FakeClock
from bot.github.auth import InstallationTokens, make_app_jwt
from bot.github.errors import GitHubAuthError
from bot.metrics import Metrics

if TYPE_CHECKING:
    from github_fixtures import TokenIssuer

# Loaded as a plugin, not imported, so pytest registers its fixtures and rewrites its asserts.
pytest_plugins = ["github_fixtures"]

API = "https://api.github.com"
APP_ID = 4242


@pytest.fixture
def tokens(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    github_api: respx.MockRouter,
) -> InstallationTokens:
    return InstallationTokens(
        app_id=APP_ID,
        private_key_pem=private_key_pem,
        api_url=API,
        http=http_client,
        metrics=metrics,
        clock=fake_clock,
    )


def test_app_jwt_is_rs256_backdated_and_short_lived(
    private_key_pem: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    now = 1_800_000_000.0
    token = make_app_jwt(APP_ID, private_key_pem, now)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(
        token, public_pem, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] == now - 60
    assert now < claims["exp"] <= now + 600


def test_app_jwt_is_reused_for_a_few_minutes_then_renewed(
    tokens: InstallationTokens, fake_clock: FakeClock
) -> None:
    first = tokens.app_jwt()
    fake_clock.advance(60)
    assert tokens.app_jwt() == first
    fake_clock.advance(9 * 60)
    assert tokens.app_jwt() != first


def test_a_bad_private_key_is_reported_without_quoting_it(
    http_client: httpx.AsyncClient, metrics: Metrics, fake_clock: FakeClock
) -> None:
    bad = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----\n"
    tokens = InstallationTokens(
        app_id=APP_ID,
        private_key_pem=bad,
        api_url=API,
        http=http_client,
        metrics=metrics,
        clock=fake_clock,
    )
    with pytest.raises(GitHubAuthError) as err:
        tokens.app_jwt()
    assert "not-a-key-at-all" not in str(err.value)
    assert err.value.__cause__ is None


async def test_the_token_request_is_jwt_authenticated_with_github_headers(
    tokens: InstallationTokens, token_issuer: TokenIssuer
) -> None:
    assert await tokens.token(42) == token_issuer.latest()
    request = token_issuer.requests[0]
    assert request.url == f"{API}/app/installations/42/access_tokens"
    assert request.headers["authorization"].startswith("Bearer eyJ")
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == "lts-bot"


async def test_concurrent_callers_share_one_token_request(
    tokens: InstallationTokens, token_issuer: TokenIssuer, metrics: Metrics
) -> None:
    token_issuer.gate = asyncio.Event()
    waiters = [asyncio.create_task(tokens.token(42)) for _ in range(20)]
    await asyncio.sleep(0)
    token_issuer.gate.set()
    results = await asyncio.gather(*waiters)
    assert len(token_issuer.requests) == 1
    assert set(results) == {token_issuer.latest()}
    assert metrics.token_requests.value() == 1


async def test_each_installation_gets_its_own_token(
    tokens: InstallationTokens, token_issuer: TokenIssuer
) -> None:
    results = await asyncio.gather(*(tokens.token(i) for i in [1] * 10 + [2] * 10))
    assert len(token_issuer.requests) == 2
    assert len(set(results)) == 2
    assert set(results[:10]) == {token_issuer.token_for(1, 1)} or set(results[:10]) == {
        token_issuer.token_for(1, 2)
    }


async def test_a_token_is_reused_until_five_minutes_before_it_expires(
    tokens: InstallationTokens, token_issuer: TokenIssuer, fake_clock: FakeClock
) -> None:
    first = await tokens.token(42)
    fake_clock.advance(3600 - 300 - 1)
    assert await tokens.token(42) == first
    fake_clock.advance(2)
    second = await tokens.token(42)
    assert second != first
    assert len(token_issuer.requests) == 2


async def test_invalidate_drops_the_token_so_the_next_call_fetches_a_new_one(
    tokens: InstallationTokens, token_issuer: TokenIssuer
) -> None:
    first = await tokens.token(42)
    tokens.invalidate(42, "ghs_some_other_token_already_replaced")
    assert await tokens.token(42) == first
    tokens.invalidate(42, first)
    assert await tokens.token(42) != first
    assert len(token_issuer.requests) == 2


async def test_an_error_reaches_every_waiter_and_is_not_cached(
    tokens: InstallationTokens, token_issuer: TokenIssuer
) -> None:
    token_issuer.status = 404
    token_issuer.gate = asyncio.Event()
    waiters = [asyncio.create_task(tokens.token(42)) for _ in range(20)]
    await asyncio.sleep(0)
    token_issuer.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert len(token_issuer.requests) == 1
    assert all(isinstance(r, GitHubAuthError) for r in results)
    error = results[0]
    assert isinstance(error, GitHubAuthError)
    assert error.status_code == 404
    assert "installation 42" in str(error)
    assert "installed" in str(error)

    token_issuer.status = 201
    token_issuer.gate = None
    assert await tokens.token(42) == token_issuer.latest()
    assert len(token_issuer.requests) == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_request(
    tokens: InstallationTokens, token_issuer: TokenIssuer
) -> None:
    token_issuer.gate = asyncio.Event()
    impatient = asyncio.create_task(tokens.token(42))
    patient = asyncio.create_task(tokens.token(42))
    await asyncio.sleep(0)
    impatient.cancel()
    token_issuer.gate.set()
    assert await patient == token_issuer.latest()
    assert impatient.cancelled()


async def test_server_errors_and_dropped_connections_are_retried(
    tokens: InstallationTokens,
    github_api: respx.MockRouter,
    fake_clock: FakeClock,
    token_issuer: TokenIssuer,
) -> None:
    calls = 0

    async def flaky(request: httpx.Request, installation_id: str) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused")
        if calls == 2:
            return httpx.Response(502)
        return await token_issuer(request, installation_id)

    github_api.routes[0].side_effect = flaky
    assert await tokens.token(42) == token_issuer.latest()
    assert calls == 3
    assert len(fake_clock.sleeps) == 2


async def test_no_secret_reaches_the_logs_or_the_error(
    tokens: InstallationTokens, token_issuer: TokenIssuer, private_key_pem: str
) -> None:
    with capture_logs() as logs:
        token = await tokens.token(42)
        token_issuer.status = 404
        tokens.invalidate(42)
        with pytest.raises(GitHubAuthError) as err:
            await tokens.token(42)
    app_jwt = tokens.app_jwt()
    texts = [repr(logs), str(err.value), repr(err.value.__cause__)]
    key_body = private_key_pem.splitlines()[1]
    for text in texts:
        assert token not in text
        assert app_jwt not in text
        assert key_body not in text
    assert any(entry["event"] == "installation_token_created" for entry in logs)
