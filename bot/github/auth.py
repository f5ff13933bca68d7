"""GitHub App credentials: the app JWT and a single-flight cache of installation tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cachetools import TLRUCache

from bot import logs
from bot.clock import Clock
from bot.github.errors import GitHubAuthError
from bot.metrics import Metrics

API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
# GitHub rejects a JWT whose iat is in its future; backdating absorbs clock drift.
JWT_BACKDATE_SECONDS = 60
# GitHub allows at most 10 minutes; staying under it leaves room for drift the other way.
JWT_LIFETIME_SECONDS = 540
# Reuse a JWT for a while (signing costs ~1 ms) but replace it well before it expires.
JWT_REUSE_SECONDS = 480
# Tokens live an hour; handing one out with minutes to spare keeps long handlers safe.
TOKEN_REFRESH_MARGIN_SECONDS = 300.0

log = logs.get_logger(__name__)


def make_app_jwt(app_id: int, private_key_pem: str, now: float) -> str:
    """Sign the RS256 JWT that authenticates as the App itself (for /app endpoints)."""
    payload = {
        "iat": int(now) - JWT_BACKDATE_SECONDS,
        "exp": int(now) + JWT_LIFETIME_SECONDS,
        "iss": str(app_id),
    }
    return jwt.encode(payload, private_key_pem, algorithm="RS256")


@dataclass(frozen=True)
class InstallationToken:
    """An installation access token and when GitHub says it expires (epoch seconds)."""

    token: str = field(repr=False)
    expires_at: float


def _parse_expiry(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _github_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f" ({message})" if isinstance(message, str) and message else ""


def _hint(status: int) -> str:
    if status == 404:
        return "is the App still installed there?"
    if status == 401:
        return "are the app id and private key right, and is this server's clock in sync?"
    if status == 403:
        return "is the installation suspended, or the App missing a permission?"
    if status == 422:
        return "does the request ask for repositories or permissions the App lacks?"
    return "GitHub may be having trouble; this is retried on the next request"


class InstallationTokens:
    """Installation tokens for one App, cached until shortly before they expire.

    Concurrent callers for one installation share a single request to GitHub; a failure
    reaches every one of them and is not cached, so the next call asks again.
    """

    def __init__(
        self,
        *,
        app_id: int,
        private_key_pem: str,
        api_url: str,
        http: httpx.AsyncClient,
        metrics: Metrics,
        clock: Clock,
        user_agent: str = "lts-bot",
        refresh_margin: float = TOKEN_REFRESH_MARGIN_SECONDS,
        maxsize: int = 1024,
        retries: int = 2,
    ) -> None:
        self.app_id = app_id
        self._private_key_pem = private_key_pem
        self._api_url = api_url.rstrip("/")
        self._http = http
        self._metrics = metrics
        self._clock = clock
        self._user_agent = user_agent
        self._refresh_margin = refresh_margin
        self._retries = retries
        # Expiry is per token (from expires_at), so a TLRU cache on the wall clock.
        self._cache: TLRUCache[int, InstallationToken] = TLRUCache(
            maxsize=maxsize, ttu=self._use_until, timer=clock.time
        )
        self._inflight: dict[int, asyncio.Task[InstallationToken]] = {}
        self._jwt: tuple[str, float] | None = None

    def _use_until(self, _key: int, value: InstallationToken, _now: float) -> float:
        return value.expires_at - self._refresh_margin

    def app_jwt(self) -> str:
        """Return a JWT for the App, reusing one for a few minutes."""
        now = self._clock.time()
        if self._jwt is None or now >= self._jwt[1]:
            try:
                token = make_app_jwt(self.app_id, self._private_key_pem, now)
            except Exception:
                # The library's message may quote the key material; say what is wrong instead.
                raise GitHubAuthError(
                    f"app {self.app_id}: could not sign the app JWT; "
                    "is the private key an RSA key in PEM format?"
                ) from None
            self._jwt = (token, now + JWT_REUSE_SECONDS)
        return self._jwt[0]

    def invalidate_app_jwt(self) -> None:
        """Forget the cached JWT, so the next call signs a fresh one."""
        self._jwt = None

    def invalidate(self, installation_id: int, token: str | None = None) -> None:
        """Drop the cached token (after a 401); with `token`, only if it is still that one.

        Passing the rejected token keeps concurrent 401s from throwing away the fresh
        token another request has already fetched.
        """
        cached = self._cache.get(installation_id)
        if cached is not None and (token is None or cached.token == token):
            self._cache.pop(installation_id, None)

    async def token(self, installation_id: int) -> str:
        """Return a token for the installation with at least `refresh_margin` seconds left."""
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.token
        task = self._inflight.get(installation_id)
        if task is None:
            task = asyncio.create_task(
                self._fetch(installation_id), name=f"installation-token-{installation_id}"
            )
            self._inflight[installation_id] = task
            task.add_done_callback(functools.partial(self._fetched, installation_id))
        # Shielded: one waiter being cancelled must not cancel the request the others share.
        return (await asyncio.shield(task)).token

    def _fetched(self, installation_id: int, task: asyncio.Task[InstallationToken]) -> None:
        if self._inflight.get(installation_id) is task:
            del self._inflight[installation_id]
        if not task.cancelled():
            # Mark the exception retrieved even if every waiter was cancelled.
            task.exception()

    def _headers(self) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.app_jwt()}",
            "accept": ACCEPT,
            "x-github-api-version": API_VERSION,
            "user-agent": self._user_agent,
        }

    async def _fetch(self, installation_id: int) -> InstallationToken:
        url = f"{self._api_url}/app/installations/{installation_id}/access_tokens"
        attempt = 0
        while True:
            self._metrics.token_requests.inc()
            try:
                response = await self._http.post(url, headers=self._headers())
            except httpx.TransportError as exc:
                # Asking for a token twice only mints a spare one, so retrying is safe.
                if attempt < self._retries:
                    attempt += 1
                    await self._backoff(installation_id, attempt, type(exc).__name__)
                    continue
                raise GitHubAuthError(
                    f"installation {installation_id}: could not reach GitHub to create an "
                    f"access token ({type(exc).__name__})",
                    installation_id=installation_id,
                ) from exc
            if response.status_code >= 500 and attempt < self._retries:
                attempt += 1
                await self._backoff(installation_id, attempt, f"status_{response.status_code}")
                continue
            return self._accept(installation_id, response)

    async def _backoff(self, installation_id: int, attempt: int, reason: str) -> None:
        wait = float(2 ** (attempt - 1))
        log.warning(
            "installation_token_retry", installation=installation_id, reason=reason, wait=wait
        )
        await self._clock.sleep(wait)

    def _accept(self, installation_id: int, response: httpx.Response) -> InstallationToken:
        status = response.status_code
        if status not in (200, 201):
            raise GitHubAuthError(
                f"installation {installation_id}: GitHub answered {status} "
                f"{response.reason_phrase}{_github_message(response)} when asked for an "
                f"access token; {_hint(status)}",
                installation_id=installation_id,
                status_code=status,
            )
        try:
            body: Any = response.json()
            token = body["token"]
            expires_at = _parse_expiry(body["expires_at"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GitHubAuthError(
                f"installation {installation_id}: GitHub's access-token answer has no "
                "token or expires_at",
                installation_id=installation_id,
                status_code=status,
            ) from None
        if not isinstance(token, str) or not token:
            raise GitHubAuthError(
                f"installation {installation_id}: GitHub's access-token answer has an empty token",
                installation_id=installation_id,
                status_code=status,
            )
        logs.register_secret(token)
        item = InstallationToken(token=token, expires_at=expires_at)
        self._cache[installation_id] = item
        log.info(
            "installation_token_created",
            installation=installation_id,
            expires_in=round(expires_at - self._clock.time()),
        )
        return item

    async def aclose(self) -> None:
        """Cancel token requests still in flight."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
