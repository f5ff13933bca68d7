"""Bounded work queue: dedup by delivery id, one job at a time per issue, graceful drain."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from cachetools import TTLCache

from bot.logs import get_logger
from bot.metrics import Metrics

# A line that may hold /release or /rollback (also as `@lts-bot release`): cheap and
# generous, since a false match only serializes one comment more than needed.
_RELEASE_COMMAND = re.compile(r"^[ \t]{0,3}(?:/|@\S+[ \t]+/?)(?:release|rollback)\b", re.I | re.M)

log = get_logger(__name__)

Offer = Literal["accepted", "duplicate", "full", "draining"]
WorkKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified webhook delivery, parsed once, waiting for the handlers."""

    id: str
    event: str
    payload: dict[str, Any]
    received: float = field(default_factory=time.monotonic)

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def installation_id(self) -> int | None:
        inst = self.payload.get("installation")
        if isinstance(inst, dict) and isinstance(inst.get("id"), int):
            return int(inst["id"])
        return None

    @property
    def repo(self) -> str | None:
        repo = self.payload.get("repository")
        if isinstance(repo, dict) and isinstance(repo.get("full_name"), str):
            return str(repo["full_name"])
        return None

    @property
    def number(self) -> int | None:
        """The issue or PR this delivery is about, if any."""
        p = self.payload
        for name in ("issue", "pull_request"):
            obj = p.get(name)
            if isinstance(obj, dict) and isinstance(obj.get("number"), int):
                return int(obj["number"])
        for name in ("check_run", "check_suite"):
            obj = p.get(name)
            if isinstance(obj, dict):
                prs = obj.get("pull_requests")
                if isinstance(prs, list) and prs and isinstance(prs[0], dict):
                    number = prs[0].get("number")
                    if isinstance(number, int):
                        return number
        return None

    @property
    def key(self) -> WorkKey:
        """Deliveries with the same key never run at the same time."""
        repo = self.repo
        if repo is None:
            return ("installation", str(self.installation_id))
        if self._release_work():
            # Releases are one per version across the repository: /release said on two
            # tickets at once must find each other's tracking issue and draft.
            return (repo, "repo")
        number = self.number
        # Repository-wide events (push, release, ...) are serialized among themselves.
        return (repo, "#" + str(number) if number is not None else "repo")

    def _release_work(self) -> bool:
        """A `/release` or `/rollback` comment, or the sweep's look at a tracking issue."""
        if self.event == "lts_sweep":
            return self.payload.get("action") == "release"
        if self.event != "issue_comment":
            return False
        comment = self.payload.get("comment")
        body = comment.get("body") if isinstance(comment, dict) else None
        return isinstance(body, str) and _RELEASE_COMMAND.search(body[:65_536]) is not None


Process = Callable[[Delivery], Awaitable[bool]]


class WorkQueue:
    """Accepts deliveries at once and runs them in the background on a fixed worker pool.

    `process` returns False when a handler failed: the delivery id is then forgotten, so
    a manual redelivery from GitHub's UI is processed again instead of being deduplicated.
    """

    def __init__(
        self,
        process: Process,
        *,
        metrics: Metrics,
        maxsize: int = 1000,
        workers: int = 8,
        dedup_ttl: float = 3 * 24 * 3600.0,
        dedup_size: int = 50_000,
    ) -> None:
        self._process = process
        self._metrics = metrics
        self._maxsize = maxsize
        self._workers = workers
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=dedup_size, ttl=dedup_ttl)
        self._active: dict[WorkKey, deque[Delivery]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False

    @property
    def depth(self) -> int:
        """Deliveries accepted and not yet finished (queued, waiting on their key, running)."""
        return self._outstanding

    @property
    def draining(self) -> bool:
        return self._draining

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._worker(), name=f"lts-bot-worker-{i}")
                for i in range(self._workers)
            ]

    def offer(self, delivery: Delivery) -> Offer:
        """Queue a delivery unless it is a duplicate, the queue is full or we are stopping."""
        if self._draining:
            return "draining"
        if delivery.id in self._seen:
            return "duplicate"
        if self._outstanding >= self._maxsize:
            return "full"
        self._seen[delivery.id] = True
        self._outstanding += 1
        self._metrics.queue_depth.set(self._outstanding)
        self._idle.clear()
        self._queue.put_nowait(delivery)
        return "accepted"

    async def wait_idle(self) -> None:
        """Return once every accepted delivery has been processed."""
        await self._idle.wait()

    async def drain(self, grace: float) -> bool:
        """Stop accepting, give in-flight work `grace` seconds, then stop the workers.

        Returns True when everything accepted was processed.
        """
        self._draining = True
        finished = True
        if self._outstanding:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=grace)
            except TimeoutError:
                finished = False
                log.warning(
                    "shutdown_grace_expired",
                    unfinished=self._outstanding,
                    hint="GitHub keeps the deliveries: redeliver them from the App's settings",
                )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        return finished

    async def _worker(self) -> None:
        while True:
            delivery = await self._queue.get()
            key = delivery.key
            backlog = self._active.get(key)
            if backlog is not None:
                # Another worker is on this issue: it will run this one after its own.
                backlog.append(delivery)
                continue
            backlog = self._active[key] = deque()
            try:
                await self._run(delivery)
                while backlog:
                    await self._run(backlog.popleft())
            finally:
                del self._active[key]

    async def _run(self, delivery: Delivery) -> None:
        try:
            ok = await self._process(delivery)
        except Exception:
            # `process` isolates handlers itself; this guards the worker against its bugs.
            log.exception("delivery_crashed", delivery_id=delivery.id, event=delivery.event)
            ok = False
        if not ok:
            self._seen.pop(delivery.id, None)
        self._outstanding -= 1
        self._metrics.queue_depth.set(self._outstanding)
        if self._outstanding == 0:
            self._idle.set()
