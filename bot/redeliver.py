"""Asks GitHub to redeliver webhook deliveries that never reached the service.

GitHub never retries a failed delivery by itself. Deliveries missed while the service was
down or refusing work (503) are found through the App's deliveries API and redelivered
once, with the same GUID, so the service handles each of them as it would have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import gidgethub
from cachetools import TTLCache

from bot.clock import Clock
from bot.github.client import GitHubPort
from bot.logs import get_logger

log = get_logger(__name__)

HOUR = 3600.0
# GitHub keeps an App's deliveries for 3 days; nothing older can be listed or redelivered.
MAX_LOOKBACK = 72 * HOUR
DEFAULT_LOOKBACK = 24 * HOUR
DEFAULT_LIMIT = 50
_PAGE_SIZE = 100
# GUIDs redelivered are remembered as long as GitHub keeps them, within this many.
_MEMORY_SIZE = 20_000


@dataclass(frozen=True)
class RedeliveryReport:
    """What one pass over the deliveries found and did."""

    checked: int = 0
    """Delivery attempts read, newest first, back to the lookback window."""
    failed: int = 0
    """GUIDs none of whose attempts succeeded."""
    redelivered: int = 0
    """Failed GUIDs GitHub accepted a redelivery for."""
    skipped: int = 0
    """Failed GUIDs left alone: redelivered before, still pending, or refused (404, 422)."""
    deferred: int = 0
    """Failed GUIDs over the per-run limit, left for the next run."""


class RedeliveredGuids:
    """The GUIDs this process has asked GitHub to redeliver, for as long as GitHub keeps them.

    One redelivery per GUID: a delivery the service keeps refusing is not sent every run.
    """

    def __init__(
        self, clock: Clock, *, ttl: float = MAX_LOOKBACK, maxsize: int = _MEMORY_SIZE
    ) -> None:
        self._guids: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl, timer=clock.time)

    def __contains__(self, guid: object) -> bool:
        return guid in self._guids

    def __len__(self) -> int:
        return len(self._guids)

    def add(self, guid: str) -> None:
        self._guids[guid] = True


def _delivered_at(item: Mapping[str, Any]) -> float | None:
    value = item.get("delivered_at")
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _succeeded(item: Mapping[str, Any]) -> bool:
    code = item.get("status_code")
    return isinstance(code, int) and 200 <= code < 300


def _pending(item: Mapping[str, Any]) -> bool:
    # Queued and not yet answered: no HTTP status, and no failure reason either.
    status = item.get("status")
    return not item.get("status_code") and (
        not isinstance(status, str) or status.strip().lower() in ("", "pending", "queued")
    )


async def redeliver_failed(
    github: GitHubPort,
    *,
    clock: Clock,
    redelivered: RedeliveredGuids,
    lookback: float = DEFAULT_LOOKBACK,
    limit: int = DEFAULT_LIMIT,
) -> RedeliveryReport:
    """Redeliver, once, each delivery of the last `lookback` seconds that never succeeded.

    `github` acts as the App itself (`GitHubApp.app()`, JWT). Deliveries are read newest
    first and reading stops at the first one older than the window (at most the 3 days
    GitHub keeps). A GUID has failed when none of its attempts got a 2xx; its newest
    attempt is redelivered, oldest GUID first, at most `limit` per run. GUIDs in
    `redelivered` are skipped, and so are GUIDs whose newest attempt is still pending;
    GUIDs redelivered now are added to it. GitHub refusing one redelivery (404, 422) is
    logged and skipped; any other error ends the run and is raised.
    """
    window = min(max(lookback, 0.0), MAX_LOOKBACK)
    cutoff = clock.time() - window
    # Newest attempt first within each GUID; GUIDs in order of their newest attempt.
    attempts: dict[str, list[Mapping[str, Any]]] = {}
    checked = 0
    items = github.iterate("/app/hook/deliveries", params={"per_page": _PAGE_SIZE})
    async with aclosing(items):
        async for item in items:
            when = _delivered_at(item)
            if when is not None and when < cutoff:
                break
            checked += 1
            guid = item.get("guid")
            if isinstance(guid, str) and isinstance(item.get("id"), int):
                attempts.setdefault(guid, []).append(item)

    failed = [
        (guid, tries[0])
        for guid, tries in reversed(attempts.items())
        if not any(_succeeded(t) for t in tries)
    ]
    sent: list[str] = []
    skipped = deferred = 0
    for guid, newest in failed:
        if guid in redelivered or _pending(newest):
            skipped += 1
            continue
        if len(sent) >= limit:
            deferred += 1
            continue
        attempt = int(newest["id"])
        try:
            # Asking twice is harmless: the service drops a GUID it has already handled.
            await github.post(f"/app/hook/deliveries/{attempt}/attempts", idempotent=True)
        except gidgethub.BadRequest as exc:
            status = int(exc.status_code)
            if status not in (404, 422):
                raise
            log.warning(
                "delivery_redelivery_refused",
                guid=guid,
                attempt=attempt,
                github_event=newest.get("event"),
                status=status,
                reason=str(exc),
            )
            # GitHub will not take it later either; asking every run would only add noise.
            redelivered.add(guid)
            skipped += 1
            continue
        redelivered.add(guid)
        sent.append(guid)

    report = RedeliveryReport(
        checked=checked,
        failed=len(failed),
        redelivered=len(sent),
        skipped=skipped,
        deferred=deferred,
    )
    log.info(
        "deliveries_redelivered",
        checked=report.checked,
        failed=report.failed,
        redelivered=report.redelivered,
        skipped=report.skipped,
        deferred=report.deferred,
        lookback_hours=round(window / HOUR, 2),
        guids=sent,
    )
    return report


class Redeliverer:
    """The redelivery job of one service: its App port, limits, and memory of GUIDs sent."""

    def __init__(
        self,
        github: GitHubPort,
        *,
        clock: Clock,
        lookback: float = DEFAULT_LOOKBACK,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.github = github
        self.clock = clock
        self.lookback = min(lookback, MAX_LOOKBACK)
        self.limit = limit
        self.redelivered = RedeliveredGuids(clock)

    async def run(self) -> RedeliveryReport:
        """One pass: redeliver what failed since the lookback window began."""
        return await redeliver_failed(
            self.github,
            clock=self.clock,
            redelivered=self.redelivered,
            lookback=self.lookback,
            limit=self.limit,
        )
