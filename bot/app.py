"""The aiohttp application: /webhook intake, /healthz and /metrics."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from bot import __version__
from bot.logs import get_logger
from bot.metrics import Metrics
from bot.queue import Delivery, WorkQueue

log = get_logger(__name__)

# GitHub never sends payloads above 25 MB; anything bigger is not from GitHub.
MAX_BODY = 25 * 1024 * 1024

QUEUE_KEY = web.AppKey("queue", WorkQueue)
METRICS_KEY = web.AppKey("metrics", Metrics)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps({"error": message}),
        content_type="application/json",
        headers=headers or None,
    )


_ACCEPTED = orjson.dumps({"status": "accepted"})
_IGNORED: dict[str, bytes] = {}


def _ignored(reason: str) -> bytes:
    body = _IGNORED.get(reason)
    if body is None:
        body = _IGNORED[reason] = orjson.dumps({"status": "ignored", "reason": reason})
    return body


_DUPLICATE = orjson.dumps({"status": "duplicate", "reason": "this delivery id was seen before"})
_PONG = orjson.dumps({"status": "pong"})


def signature_matches(secret: bytes, body: bytes, header: str) -> bool:
    """Check `X-Hub-Signature-256` (sha256=<hex HMAC of the raw body>) in constant time."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


class WebhookView:
    """POST /webhook: authenticate, validate, queue, answer at once."""

    def __init__(
        self,
        *,
        secret: bytes,
        queue: WorkQueue,
        metrics: Metrics,
        ignore_reason: Callable[[str, dict[str, Any]], str | None],
    ) -> None:
        self._secret = secret
        self._queue = queue
        self._metrics = metrics
        self._ignore_reason = ignore_reason

    def _reject(self, outcome: str, status: int, message: str, **headers: str) -> web.Response:
        # Unauthenticated requests are counted under one label: their headers are not trusted.
        self._metrics.deliveries.inc("-", outcome)
        log.info("delivery_rejected", outcome=outcome, status=status)
        return _error(status, message, **headers)

    async def handle(self, request: web.Request) -> web.Response:
        if self._queue.draining:
            return self._reject(
                "draining", 503, "lts-bot is shutting down; redeliver later", **{"Retry-After": "5"}
            )
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return self._reject("too_large", 413, "payload larger than GitHub's 25 MB limit")
        if request.content_type != "application/json":
            return self._reject(
                "bad_content_type",
                415,
                "expected Content-Type application/json: set the webhook's content type to "
                "application/json in the App settings",
            )
        signature = request.headers.get("X-Hub-Signature-256")
        if not signature:
            return self._reject("unsigned", 401, "missing X-Hub-Signature-256")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject("too_large", 413, "payload larger than GitHub's 25 MB limit")
        if not signature_matches(self._secret, body, signature):
            return self._reject(
                "bad_signature", 401, "signature does not match: check GITHUB_WEBHOOK_SECRET"
            )
        event = request.headers.get("X-GitHub-Event")
        delivery_id = request.headers.get("X-GitHub-Delivery")
        if not event or not delivery_id:
            return self._reject("bad_headers", 400, "missing X-GitHub-Event or X-GitHub-Delivery")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._reject("bad_json", 400, "body is not valid JSON")
        if not isinstance(payload, dict):
            return self._reject("bad_json", 400, "body is not a JSON object")
        deliveries = self._metrics.deliveries
        if event == "ping":
            deliveries.inc(event, "pong")
            log.info("ping_received", delivery_id=delivery_id, zen=payload.get("zen"))
            return web.Response(status=200, body=_PONG, content_type="application/json")
        ignored = self._ignore_reason(event, payload)
        if ignored is not None:
            deliveries.inc(event, "ignored")
            return web.Response(status=202, body=_ignored(ignored), content_type="application/json")
        offered = self._queue.offer(Delivery(delivery_id, event, payload))
        if offered == "accepted":
            deliveries.inc(event, "accepted")
            return web.Response(status=202, body=_ACCEPTED, content_type="application/json")
        if offered == "duplicate":
            deliveries.inc(event, "duplicate")
            return web.Response(status=202, body=_DUPLICATE, content_type="application/json")
        deliveries.inc(event, offered)
        log.warning("delivery_refused", delivery_id=delivery_id, reason=offered)
        return _error(
            503,
            "work queue is full; GitHub marks this delivery failed and it can be redelivered"
            if offered == "full"
            else "lts-bot is shutting down; redeliver later",
            **{"Retry-After": "30"},
        )


async def healthz(request: web.Request) -> web.Response:
    queue = request.app[QUEUE_KEY]
    status = "draining" if queue.draining else "ok"
    body = {"status": status, "version": __version__, "queue_depth": queue.depth}
    return web.Response(
        status=503 if queue.draining else 200,
        body=orjson.dumps(body),
        content_type="application/json",
    )


async def metrics_view(request: web.Request) -> web.Response:
    text = request.app[METRICS_KEY].registry.render()
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


def make_app(
    *,
    secret: bytes,
    queue: WorkQueue,
    metrics: Metrics,
    ignore_reason: Callable[[str, dict[str, Any]], str | None],
) -> web.Application:
    """Build the web application around an existing queue (started with the app)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[QUEUE_KEY] = queue
    app[METRICS_KEY] = metrics
    view = WebhookView(secret=secret, queue=queue, metrics=metrics, ignore_reason=ignore_reason)
    app.router.add_post("/webhook", view.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)

    async def _start(_app: web.Application) -> None:
        queue.start()

    app.on_startup.append(_start)
    return app
