"""The GitHub REST client: auth, retries, rate limits, pacing and metrics behind a typed port."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import random
import re
from collections.abc import AsyncGenerator, Iterator, Mapping, MutableMapping, Sequence
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast
from urllib.parse import quote, urlencode, urlsplit

import gidgethub
import gidgethub.httpx
import httpx
from cachetools import LRUCache

from bot import logs
from bot.clock import Clock, SystemClock
from bot.decisions import CheckRunDecision
from bot.github.auth import API_VERSION, InstallationTokens
from bot.metrics import Metrics

DEFAULT_API_URL = "https://api.github.com"

# Methods whose repetition leaves GitHub as one request would (POST is the exception).
_REPEATABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# Failures that happen before any byte of the request reached GitHub.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_posts_idempotent: ContextVar[bool] = ContextVar("lts_bot_posts_idempotent", default=False)

log = logs.get_logger(__name__)


@contextmanager
def idempotent_posts() -> Iterator[None]:
    """Declare the POSTs made inside this block safe to repeat after a 5xx or a timeout.

    Use it for creations GitHub deduplicates itself (a ref that 422s when it exists, a
    rerequest), never for comments or check runs.
    """
    reset = _posts_idempotent.set(True)
    try:
        yield
    finally:
        _posts_idempotent.reset(reset)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before letting gidgethub raise."""

    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_rate_limit_retries: int = 4
    # GitHub: without retry-after or a reset time, wait at least a minute, then back off.
    rate_limit_backoff: float = 60.0
    rate_limit_backoff_cap: float = 600.0
    # A longer wait than this is not slept: the caller gets the error and can reschedule.
    max_rate_limit_wait: float = 900.0


# --- endpoint templates --------------------------------------------------------------

_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_WORD = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# The segment after each of these names one thing; the value is its placeholder.
_NAMED = {
    "orgs": "{org}",
    "users": "{username}",
    "teams": "{team_slug}",
    "members": "{username}",
    "memberships": "{username}",
    "collaborators": "{username}",
    "assignees": "{username}",
    "labels": "{name}",
    "branches": "{branch}",
    "commits": "{ref}",
    "compare": "{basehead}",
    "tags": "{tag}",
    "app-manifests": "{code}",
}
# Numbered collections: only a number after them is an id (`issues/comments` is a word).
_NUMBERED = {
    "issues": "{number}",
    "pulls": "{number}",
    "milestones": "{number}",
}
# Everything after these is one value that may itself contain slashes.
_GREEDY = {
    "contents": "{path}",
    "refs": "{ref}",
    "ref": "{ref}",
    "matching-refs": "{ref}",
}


def endpoint_template(url: str, base_path: str = "") -> str:
    """Reduce a request URL to its route, e.g. `/repos/{owner}/{repo}/issues/{number}`.

    Used as a metric label, so every user-controlled segment becomes a placeholder and
    the number of distinct results stays bounded. The query string is dropped, and so is
    `base_path` (GHES serves the API under `/api/v3`).
    """
    path = urlsplit(url).path
    for prefix in (base_path.rstrip("/"), "/api/v3"):
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :]
            break
    segments = [s for s in path.split("/") if s]
    out: list[str] = []
    i = 0
    if len(segments) >= 3 and segments[0] == "repos":
        out = ["repos", "{owner}", "{repo}"]
        i = 3
    while i < len(segments):
        segment = segments[i]
        parent = segments[i - 1] if i else ""
        if out and parent in _GREEDY and out[-1] == parent:
            out.append(_GREEDY[parent])
            break
        if _SHA.match(segment):
            out.append("{sha}")
        elif out and out[-1] == parent and parent in _NAMED:
            out.append(_NAMED[parent])
        elif segment.isdigit():
            out.append(_NUMBERED.get(parent, "{id}"))
        elif _WORD.match(segment):
            out.append(segment)
        else:
            out.append("{param}")
        i += 1
    return "/" + "/".join(out)


# --- credentials ---------------------------------------------------------------------


class Credentials(Protocol):
    """Where the client gets its `authorization` header from, fresh for every request."""

    label: str

    async def authorization(self) -> str: ...

    def invalidate(self, authorization: str) -> None: ...


class InstallationCredentials:
    """Acts as one installation, with a token from the shared cache."""

    def __init__(self, tokens: InstallationTokens, installation_id: int) -> None:
        self._tokens = tokens
        self._installation_id = installation_id
        self.label = str(installation_id)

    async def authorization(self) -> str:
        return f"token {await self._tokens.token(self._installation_id)}"

    def invalidate(self, authorization: str) -> None:
        self._tokens.invalidate(self._installation_id, authorization.removeprefix("token "))


class AppCredentials:
    """Acts as the App itself (JWT), for the /app endpoints."""

    label = "app"

    def __init__(self, tokens: InstallationTokens) -> None:
        self._tokens = tokens

    async def authorization(self) -> str:
        return f"bearer {self._tokens.app_jwt()}"

    def invalidate(self, authorization: str) -> None:
        self._tokens.invalidate_app_jwt()


# --- the client ----------------------------------------------------------------------


def _retry_after(value: str, now: float) -> float | None:
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


class GitHubClient(gidgethub.httpx.GitHubAPI):
    """A gidgethub client for one installation (or the App) that survives GitHub's weather.

    Each request gets a fresh `authorization` header, so token rotation is invisible; a
    401 drops the token and tries once more. 5xx and transport failures are retried with
    full-jitter backoff, but a POST only when repeating it cannot duplicate its effect.
    Rate-limit answers are waited out as GitHub documents. Writes are spaced
    `write_interval` seconds apart. Once retries run out the last response is handed back
    to gidgethub, which raises its usual exception.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credentials: Credentials,
        metrics: Metrics,
        clock: Clock,
        api_url: str = DEFAULT_API_URL,
        retry: RetryPolicy | None = None,
        write_interval: float = 1.0,
        user_agent: str = "lts-bot",
        cache: MutableMapping[str, Any] | None = None,
        cache_size: int = 500,
        rng: random.Random | None = None,
    ) -> None:
        # gidgethub keys its ETag cache by URL only, so each client needs its own.
        etag_cache = cache if cache is not None else LRUCache(maxsize=cache_size)
        super().__init__(http, user_agent, cache=etag_cache, base_url=api_url.rstrip("/"))
        self._http = http
        self._credentials = credentials
        self._metrics = metrics
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._write_interval = write_interval
        self._rng = rng or random.Random()
        self._base_path = urlsplit(api_url).path.rstrip("/")
        self._last_write = float("-inf")
        self._write_lock = asyncio.Lock()

    @property
    def installation(self) -> str:
        """The installation id this client acts for, or "app"."""
        return self._credentials.label

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    async def _pace(self) -> None:
        if self._write_interval <= 0:
            return
        async with self._write_lock:
            wait = self._last_write + self._write_interval - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
            self._last_write = self._clock.monotonic()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.backoff_cap, self._retry.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)

    def _rate_limit_wait(
        self, status: int, headers: Mapping[str, str], body: bytes, attempt: int
    ) -> tuple[str, float] | None:
        """How long GitHub asks us to wait before trying again, or None if it is no limit."""
        if status not in (403, 429):
            return None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            wait = _retry_after(retry_after, self._clock.time())
            if wait is not None:
                return "retry_after", wait
        reset = headers.get("x-ratelimit-reset")
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            try:
                # One second of slack: GitHub's clock and ours are not the same clock.
                return "rate_limit_reset", max(float(reset) - self._clock.time(), 0.0) + 1.0
            except ValueError:
                pass
        if status == 429 or b"rate limit" in body.lower():
            wait = min(
                self._retry.rate_limit_backoff * 2 ** (attempt - 1),
                self._retry.rate_limit_backoff_cap,
            )
            return "secondary_rate_limit", max(wait, self._retry.rate_limit_backoff)
        return None

    def _observe(self, method: str, endpoint: str, response: httpx.Response) -> None:
        self._metrics.github_calls.inc(method, endpoint, str(response.status_code))
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None:
            try:
                value = float(remaining)
            except ValueError:
                return
            resource = response.headers.get("x-ratelimit-resource", "core")
            self._metrics.rate_limit_remaining.set(value, self.installation, resource)

    async def _wait_to_retry(
        self, reason: str, wait: float, method: str, endpoint: str, attempt: int
    ) -> None:
        self._metrics.github_retries.inc(reason)
        log.warning(
            "github_retry",
            reason=reason,
            wait=round(wait, 3),
            method=method,
            endpoint=endpoint,
            attempt=attempt,
            installation=self.installation,
        )
        if wait > 0:
            await self._clock.sleep(wait)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        endpoint = endpoint_template(url, self._base_path)
        repeatable = method in _REPEATABLE or _posts_idempotent.get()
        request_headers = dict(headers)
        request_headers.setdefault("x-github-api-version", API_VERSION)
        caller_auth = "authorization" in request_headers
        reauthenticated = False
        transient = 0
        limited = 0
        while True:
            injected = None
            if not caller_auth:
                injected = await self._credentials.authorization()
                request_headers["authorization"] = injected
            if method not in ("GET", "HEAD", "OPTIONS"):
                await self._pace()
            try:
                response = await self._http.request(
                    method, url, headers=request_headers, content=body
                )
            except httpx.TransportError as exc:
                self._metrics.github_calls.inc(method, endpoint, "transport_error")
                safe = repeatable or isinstance(exc, _NOTHING_SENT)
                if not safe or transient >= self._retry.max_retries:
                    raise
                transient += 1
                await self._wait_to_retry(
                    type(exc).__name__, self._backoff(transient), method, endpoint, transient
                )
                continue
            self._observe(method, endpoint, response)
            status = response.status_code
            if status == 401 and injected is not None and not reauthenticated:
                # Revoked or rotated under us; one fresh token is worth a try, no more.
                reauthenticated = True
                self._credentials.invalidate(injected)
                await self._wait_to_retry("unauthorized", 0.0, method, endpoint, 1)
                continue
            limit = self._rate_limit_wait(status, response.headers, response.content, limited + 1)
            if limit is not None:
                # Refused outright, so even a POST is safe to send again.
                reason, wait = limit
                if wait > self._retry.max_rate_limit_wait:
                    log.warning(
                        "github_rate_limit_wait_too_long",
                        reason=reason,
                        wait=round(wait, 3),
                        endpoint=endpoint,
                        installation=self.installation,
                    )
                elif limited < self._retry.max_rate_limit_retries:
                    limited += 1
                    await self._wait_to_retry(reason, wait, method, endpoint, limited)
                    continue
            elif status >= 500 and repeatable and transient < self._retry.max_retries:
                transient += 1
                await self._wait_to_retry(
                    f"status_{status}", self._backoff(transient), method, endpoint, transient
                )
                continue
            return status, response.headers, response.content


# --- the typed port ------------------------------------------------------------------

UpsertOutcome = Literal["unchanged", "updated", "created"]


@dataclass(frozen=True)
class FileContent:
    """A file read from a repository at some ref."""

    path: str
    sha: str
    size: int
    content: bytes

    @property
    def text(self) -> str:
        """The content as UTF-8 text (raises UnicodeDecodeError for binary files)."""
        return self.content.decode("utf-8")


def _with_params(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _seg(value: str) -> str:
    return quote(value, safe="")


def _same_check_run(run: Mapping[str, Any], decision: CheckRunDecision) -> bool:
    want = decision.output()
    have = run.get("output") or {}
    return (
        run.get("status") == "completed"
        and run.get("conclusion") == decision.conclusion
        and have.get("title") == want["title"]
        and have.get("summary") == want["summary"]
        and (have.get("text") or None) == want.get("text")
    )


class GitHubPort:
    """The narrow GitHub API handlers use; `raw` is the gidgethub client underneath.

    URLs are concrete paths relative to the API root (`/repos/o/r/issues/1`); template
    variables are not expanded.
    """

    def __init__(self, client: GitHubClient) -> None:
        self.raw = client

    async def get(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET one resource; answered from the ETag cache when GitHub says 304."""
        return await self.raw.getitem(_with_params(url, params))

    async def iterate(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        iterable_key: str = "items",
    ) -> AsyncGenerator[Any, None]:
        """Yield every item of a list endpoint, following `Link: rel="next"`, 100 a page."""
        merged = {"per_page": 100, **(params or {})}
        pages = self.raw.getiter(_with_params(url, merged), iterable_key=iterable_key)
        async with aclosing(pages):
            async for item in pages:
                yield item

    async def post(self, url: str, data: Any = None, *, idempotent: bool = False) -> Any:
        """POST; retried after 5xx or timeouts only if `idempotent` (see idempotent_posts)."""
        body = b"" if data is None else data
        if idempotent:
            with idempotent_posts():
                return await self.raw.post(url, data=body)
        return await self.raw.post(url, data=body)

    async def patch(self, url: str, data: Any = None) -> Any:
        return await self.raw.patch(url, data=b"" if data is None else data)

    async def put(self, url: str, data: Any = None) -> Any:
        return await self.raw.put(url, data=b"" if data is None else data)

    async def delete(self, url: str, data: Any = None) -> None:
        await self.raw.delete(url, data=b"" if data is None else data)

    async def get_repo(self, owner: str, repo: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self.get(f"/repos/{_seg(owner)}/{_seg(repo)}"))

    async def get_file(
        self, owner: str, repo: str, path: str, ref: str | None = None
    ) -> FileContent | None:
        """Read a file at `ref` (default branch if None); None if it is missing or not a file."""
        base = f"/repos/{_seg(owner)}/{_seg(repo)}"
        url = f"{base}/contents/{quote(path.lstrip('/'), safe='/')}"
        try:
            data = await self.get(url, params={"ref": ref})
        except gidgethub.BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        encoded = data.get("content")
        if data.get("encoding") != "base64" or encoded is None:
            # Files over 1 MB come without content; the blob API serves up to 100 MB.
            blob = await self.get(f"{base}/git/blobs/{_seg(data['sha'])}")
            encoded = blob["content"]
        return FileContent(
            path=data["path"],
            sha=data["sha"],
            size=int(data.get("size", 0)),
            content=base64.b64decode(encoded),
        )

    async def upsert_check_run(
        self,
        owner: str,
        repo: str,
        head_sha: str,
        decision: CheckRunDecision,
        *,
        app_id: int | None = None,
        details_url: str | None = None,
        known_runs: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[int, UpsertOutcome]:
        """Make `decision` the completed check run on `head_sha`, changing only what differs.

        Creating is not idempotent, so the existing run is looked up first (only this App's,
        when `app_id` is given) and edited in place. A caller that has just listed the
        head's check runs passes them as `known_runs` and saves the lookup.
        """
        base = f"/repos/{_seg(owner)}/{_seg(repo)}"
        existing: Mapping[str, Any] | None = None

        def ours(run: Mapping[str, Any]) -> bool:
            return app_id is None or (run.get("app") or {}).get("id") == app_id

        if known_runs is not None:
            existing = next(
                (r for r in known_runs if r.get("name") == decision.name and ours(r)), None
            )
        else:
            runs = self.iterate(
                f"{base}/commits/{_seg(head_sha)}/check-runs",
                params={"check_name": decision.name, "filter": "latest"},
                iterable_key="check_runs",
            )
            async with aclosing(runs):
                async for run in runs:
                    if ours(run):
                        existing = run
                        break
        body: dict[str, Any] = {
            "status": "completed",
            "conclusion": decision.conclusion,
            "output": decision.output(),
        }
        if details_url is not None:
            body["details_url"] = details_url
        if existing is not None:
            run_id = int(existing["id"])
            if _same_check_run(existing, decision) and (
                details_url is None or existing.get("details_url") == details_url
            ):
                return run_id, "unchanged"
            await self.patch(f"{base}/check-runs/{run_id}", body)
            return run_id, "updated"
        created = await self.post(
            f"{base}/check-runs", {"name": decision.name, "head_sha": head_sha, **body}
        )
        return int(created["id"]), "created"


# --- the App -------------------------------------------------------------------------


class GitHubApp:
    """One GitHub App: its token cache and one long-lived client per installation."""

    def __init__(
        self,
        *,
        app_id: int,
        private_key_pem: str,
        metrics: Metrics,
        api_url: str = DEFAULT_API_URL,
        clock: Clock | None = None,
        write_interval: float = 1.0,
        http: httpx.AsyncClient | None = None,
        user_agent: str = "lts-bot",
        retry: RetryPolicy | None = None,
        max_installations: int = 1024,
        etag_cache_size: int = 500,
        timeout: float = 30.0,
    ) -> None:
        self.app_id = app_id
        self.api_url = api_url.rstrip("/")
        self._clock = clock or SystemClock()
        self._metrics = metrics
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout))
        )
        self._write_interval = write_interval
        self._user_agent = user_agent
        self._retry = retry or RetryPolicy()
        self._etag_cache_size = etag_cache_size
        self.tokens = InstallationTokens(
            app_id=app_id,
            private_key_pem=private_key_pem,
            api_url=self.api_url,
            http=self._http,
            metrics=metrics,
            clock=self._clock,
            user_agent=user_agent,
            maxsize=max_installations,
        )
        # Kept so each installation's ETag cache and write pacing outlive one event.
        self._ports: LRUCache[int, GitHubPort] = LRUCache(maxsize=max_installations)
        self._app_port: GitHubPort | None = None

    def _client(self, credentials: Credentials) -> GitHubClient:
        return GitHubClient(
            self._http,
            credentials=credentials,
            metrics=self._metrics,
            clock=self._clock,
            api_url=self.api_url,
            retry=self._retry,
            write_interval=self._write_interval,
            user_agent=self._user_agent,
            cache_size=self._etag_cache_size,
        )

    def installation(self, installation_id: int) -> GitHubPort:
        """The port acting as `installation_id`."""
        port = self._ports.get(installation_id)
        if port is None:
            port = GitHubPort(self._client(InstallationCredentials(self.tokens, installation_id)))
            self._ports[installation_id] = port
        return port

    def app(self) -> GitHubPort:
        """The port acting as the App itself (JWT), for /app endpoints."""
        if self._app_port is None:
            self._app_port = GitHubPort(self._client(AppCredentials(self.tokens)))
        return self._app_port

    async def aclose(self) -> None:
        """Stop token requests in flight and close the HTTP client if this App made it."""
        await self.tokens.aclose()
        if self._owns_http:
            await self._http.aclose()
