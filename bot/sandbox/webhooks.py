"""Webhook deliveries: signed like GitHub's, sent over real HTTP one at a time, and recorded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.clock import Clock, SystemClock
from bot.sandbox import shapes
from bot.sandbox.shapes import Urls
from bot.sandbox.world import Account, CheckRun, Installation, Repository, World

# GitHub gives a receiver 10 seconds to answer before it records the delivery as failed.
DELIVERY_TIMEOUT = 10.0
# Enough of the receiver's answer to see why it refused a delivery.
RESPONSE_KEPT = 2048


@dataclass
class Delivery:
    """One webhook delivery attempt and how the receiver answered it.

    `status` is None until the delivery has been sent, and stays None if there was no
    webhook URL or the receiver could not be reached (`error` says which).
    """

    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    body: bytes = field(repr=False)
    redelivery: bool = False
    status: int | None = None
    response: str = ""
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    # Each attempt has its own id in GitHub's deliveries API; the GUID is shared.
    id: int = 0
    delivered_at: float | None = None
    duration: float = 0.0

    @property
    def repo(self) -> str | None:
        repo = self.payload.get("repository")
        return repo.get("full_name") if isinstance(repo, dict) else None

    @property
    def installation_id(self) -> int | None:
        inst = self.payload.get("installation")
        return inst.get("id") if isinstance(inst, dict) else None

    @property
    def repository_id(self) -> int | None:
        repo = self.payload.get("repository")
        return repo.get("id") if isinstance(repo, dict) else None


def signature_256(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Outbox:
    """Sends deliveries in the order they were made, to whatever `url()` says at send time.

    Real GitHub promises no order; sending one at a time keeps scenarios reproducible, and
    a receiver that answers at once (as GitHub asks) keeps it fast. GitHub does not retry
    a failed delivery by itself, and neither does this: `redeliver` does it on request.
    """

    def __init__(
        self,
        *,
        secret: bytes,
        url: Callable[[], str | None],
        app_id: int,
        hook_id: int,
        clock: Clock | None = None,
    ) -> None:
        self._secret = secret
        self._clock = clock or SystemClock()
        self._attempt_ids = itertools.count(1)
        self._url = url
        self._app_id = app_id
        self._hook_id = hook_id
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._unfinished = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        self._task = asyncio.create_task(self._run(), name="sandbox-webhooks")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def pending(self) -> int:
        """Deliveries made and not yet answered (or given up on)."""
        return self._unfinished

    async def join(self) -> None:
        """Wait until every delivery made so far has been sent and answered."""
        await self._idle.wait()

    def emit(self, event: str, payload: dict[str, Any]) -> Delivery:
        """Make a new delivery (a fresh GUID) and queue it for sending."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        action = payload.get("action")
        delivery = Delivery(
            guid=str(uuid.uuid4()),
            event=event,
            action=action if isinstance(action, str) else None,
            payload=payload,
            body=body,
        )
        return self._queue_delivery(delivery)

    def redeliver(self, guid: str) -> Delivery:
        """Send an earlier delivery again with the same GUID, as GitHub's Redeliver does."""
        original = next((d for d in self.deliveries if d.guid == guid), None)
        if original is None:
            raise KeyError(f"no delivery {guid!r}")
        again = Delivery(
            guid=original.guid,
            event=original.event,
            action=original.action,
            payload=original.payload,
            body=original.body,
            redelivery=True,
        )
        return self._queue_delivery(again)

    def _queue_delivery(self, delivery: Delivery) -> Delivery:
        delivery.id = next(self._attempt_ids)
        delivery.headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sandbox",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(self._hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(self._app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature": "sha1="
            + hmac.new(self._secret, delivery.body, hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": signature_256(self._secret, delivery.body),
        }
        self.deliveries.append(delivery)
        self._unfinished += 1
        self._idle.clear()
        self._queue.put_nowait(delivery)
        return delivery

    async def _run(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._send(delivery)
            finally:
                self._unfinished -= 1
                if not self._unfinished:
                    self._idle.set()

    async def _send(self, delivery: Delivery) -> None:
        delivery.delivered_at = self._clock.time()
        url = self._url()
        if url is None:
            delivery.error = "no webhook URL"
            return
        assert self._session is not None
        started = time.monotonic()
        try:
            async with self._session.post(
                url, data=delivery.body, headers=delivery.headers
            ) as response:
                delivery.status = response.status
                delivery.response = (await response.text(errors="replace"))[:RESPONSE_KEPT]
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        finally:
            delivery.duration = time.monotonic() - started


class Events:
    """Builds GitHub's webhook payloads and hands them to the outbox, App-style.

    An App hears about a repository only while it is installed there, and every such
    payload names the installation; installation events always reach it.
    """

    def __init__(self, world: World, outbox: Outbox, urls: Callable[[], Urls]) -> None:
        self._world = world
        self._outbox = outbox
        self._urls = urls

    def for_repo(
        self, repo: Repository, event: str, payload: dict[str, Any], sender: Account
    ) -> Delivery | None:
        inst = self._world.installation_for(repo)
        if inst is None or inst.suspended:
            return None
        urls = self._urls()
        body = {
            **payload,
            "repository": payload.get("repository") or shapes.repository(repo, urls),
            "sender": shapes.account(sender, urls),
            "installation": shapes.installation_ref(inst),
        }
        if repo.owner.type == "Organization":
            body["organization"] = shapes.organization(repo.owner, urls)
        return self._outbox.emit(event, body)

    def check_run(self, run: CheckRun, action: str) -> Delivery | None:
        world = self._world
        app = world.apps[run.app_id]
        repo = world.repo_by_id(run.repository_id)
        urls = self._urls()
        payload = {"action": action, "check_run": shapes.check_run(run, repo, world, urls)}
        # An App acts as its bot account, so its own writes come back from `<slug>[bot]`.
        return self.for_repo(repo, "check_run", payload, app.bot)

    def installation(
        self, inst: Installation, action: str, sender: Account, repos: list[Repository]
    ) -> Delivery:
        app = self._world.app
        urls = self._urls()
        payload: dict[str, Any] = {
            "action": action,
            "installation": shapes.installation(inst, app, urls),
            "sender": shapes.account(sender, urls),
            "requester": None,
        }
        briefs = [shapes.repository_brief(r) for r in repos]
        if action in ("created", "deleted"):
            payload["repositories"] = briefs
            return self._outbox.emit("installation", payload)
        payload["repository_selection"] = "selected"
        payload["repositories_added"] = briefs if action == "added" else []
        payload["repositories_removed"] = briefs if action == "removed" else []
        return self._outbox.emit("installation_repositories", payload)
