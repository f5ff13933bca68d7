"""What crosses the sandbox's API: the call log, rate-limit budgets, injected faults and hooks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, overload

from bot.clock import Clock

Actor = Literal["installation", "app", "anonymous"]

SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, whole, as observers (the contract check) see them.

    `matched` is False when no route of the sandbox matched the request; `endpoint` is
    then the raw path. Bodies are the raw bytes (empty when there was none).
    """

    method: str
    endpoint: str
    path: str
    query: str
    request_body: bytes
    status: int
    response_body: bytes
    matched: bool
    injected: bool


@dataclass(frozen=True)
class Call:
    """One API request the sandbox answered.

    `endpoint` is the route template (`/repos/{owner}/{repo}/contents/{path}`), or the
    raw path when no route matched. `installation` is the installation whose token made
    the call, or, for a token request, the installation the token was asked for.
    """

    method: str
    endpoint: str
    path: str
    query: str
    status: int
    installation: int | None
    actor: Actor
    injected: bool = False


class CallLog(Sequence[Call]):
    """Every call in order, with the counts tests assert on."""

    def __init__(self, calls: Sequence[Call] = ()) -> None:
        self._calls = list(calls)

    @overload
    def __getitem__(self, index: int) -> Call: ...

    @overload
    def __getitem__(self, index: slice) -> CallLog: ...

    def __getitem__(self, index: int | slice) -> Call | CallLog:
        if isinstance(index, slice):
            return CallLog(self._calls[index])
        return self._calls[index]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls)

    def __repr__(self) -> str:
        return f"CallLog({len(self._calls)} calls: {dict(self.by_endpoint())})"

    def append(self, call: Call) -> None:
        self._calls.append(call)

    def clear(self) -> None:
        self._calls.clear()

    def since(self, mark: int) -> CallLog:
        """The calls made after `len(calls)` was `mark`."""
        return CallLog(self._calls[mark:])

    def count(
        self,
        method: str | None = None,
        endpoint: str | None = None,
        *,
        installation: int | None = None,
        status: int | None = None,
    ) -> int:
        """How many calls match every filter given."""
        return sum(
            1
            for c in self._calls
            if (method is None or c.method == method.upper())
            and (endpoint is None or c.endpoint == endpoint)
            and (installation is None or c.installation == installation)
            and (status is None or c.status == status)
        )

    def by_endpoint(self) -> Counter[tuple[str, str]]:
        """Calls per (method, endpoint template)."""
        return Counter((c.method, c.endpoint) for c in self._calls)

    def by_installation(self) -> Counter[int | None]:
        return Counter(c.installation for c in self._calls)


# --- rate limits -------------------------------------------------------------------------


@dataclass
class _Budget:
    limit: int
    reset: float
    used: int = 0


# Search has its own budget: 30 requests a minute for an installation (10 anonymous).
SEARCH_LIMIT = 30
SEARCH_WINDOW = 60


class RateLimits:
    """GitHub's primary rate limits: per installation (and App, and anonymous), per resource.

    `core` is the hourly budget every REST call spends; `search` is a separate per-minute
    budget that only search calls spend.
    """

    def __init__(self, clock: Clock, limit: int, anonymous_limit: int = 60) -> None:
        self._clock = clock
        self._limit = limit
        self._anonymous_limit = anonymous_limit
        self._budgets: dict[tuple[str, str], _Budget] = {}

    def _budget(self, key: str, resource: str = "core") -> _Budget:
        now = self._clock.time()
        budget = self._budgets.get((key, resource))
        if budget is None or now >= budget.reset:
            if resource == "search":
                limit = 10 if key == "anonymous" else SEARCH_LIMIT
                window = SEARCH_WINDOW
            else:
                limit = self._anonymous_limit if key == "anonymous" else self._limit
                window = 3600
            budget = self._budgets[(key, resource)] = _Budget(limit, float(int(now) + window))
        return budget

    def exhausted(self, key: str, resource: str = "core") -> bool:
        budget = self._budget(key, resource)
        return budget.used >= budget.limit

    def spend(self, key: str, resource: str = "core") -> None:
        self._budget(key, resource).used += 1

    def set_remaining(self, key: str, remaining: int, resource: str = "core") -> None:
        budget = self._budget(key, resource)
        budget.used = max(budget.limit - remaining, 0)

    def snapshot(self, key: str, resource: str = "core") -> dict[str, int]:
        """`{limit, used, remaining, reset}` as GET /rate_limit shows each resource."""
        budget = self._budget(key, resource)
        return {
            "limit": budget.limit,
            "used": budget.used,
            "remaining": max(budget.limit - budget.used, 0),
            "reset": int(budget.reset),
        }

    def headers(self, key: str, resource: str = "core") -> dict[str, str]:
        budget = self._budget(key, resource)
        return {
            "x-ratelimit-limit": str(budget.limit),
            "x-ratelimit-remaining": str(max(budget.limit - budget.used, 0)),
            "x-ratelimit-reset": str(int(budget.reset)),
            "x-ratelimit-used": str(budget.used),
            "x-ratelimit-resource": resource,
        }


# --- faults and hooks -------------------------------------------------------------------


def default_fault_body(status: int) -> dict[str, Any]:
    """What GitHub says with each status when nothing more specific applies."""
    if status in (403, 429):
        return {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again. If you reach out to GitHub Support for help, please "
            "include the request ID.",
            "documentation_url": SECONDARY_LIMIT_DOCS,
            "status": str(status),
        }
    if status == 502:
        message = "Server Error"
    elif status == 401:
        message = "Bad credentials"
    else:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return {"message": message, "documentation_url": "https://docs.github.com/rest"}


class _Matching:
    """What a fault and a hook share: which of the next requests they apply to.

    The next `times` requests whose method is `method` ("*": any) and whose path (no query
    string) `path` is found in.
    """

    method: str
    path: re.Pattern[str]
    times: int
    hits: int

    @property
    def remaining(self) -> int:
        return self.times - self.hits

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method)
            and self.path.search(path) is not None
        )


@dataclass
class Fault(_Matching):
    """The next `times` requests matching `method` and `path` get this answer instead."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # Real seconds to wait before answering: longer than the client's timeout, a timeout.
    delay: float = 0.0
    hits: int = 0

    def answer_body(self) -> Any:
        return self.body if self.body is not None else default_fault_body(self.status)


class Faults:
    """Faults waiting to be served, first declared first served."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.pending.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.matches(method, path):
                fault.hits += 1
                if not fault.remaining:
                    self.pending.remove(fault)
                return fault
        return None


@dataclass
class Hook(_Matching):
    """Await `action` before the next `times` requests matching `method` and `path`.

    Each such request is then handled as usual; `hits` counts them.
    """

    method: str
    path: re.Pattern[str]
    action: Callable[[], Awaitable[object]]
    times: int
    hits: int = 0


class Hooks:
    """Hooks waiting for their requests, first declared first served (one per request)."""

    def __init__(self) -> None:
        self.pending: list[Hook] = []

    def add(self, hook: Hook) -> Hook:
        self.pending.append(hook)
        return hook

    def take(self, method: str, path: str) -> Hook | None:
        """The hook for this request, if any, its hit counted.

        Counted before its action runs, so a request the action makes cannot take the same
        turn again.
        """
        for hook in self.pending:
            if hook.matches(method, path):
                hook.hits += 1
                if not hook.remaining:
                    self.pending.remove(hook)
                return hook
        return None
