"""Runs every handler registered for a delivery, each isolated from the others' failures."""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import structlog
from gidgethub import routing, sansio

from bot.clock import Clock
from bot.logs import get_logger
from bot.metrics import Metrics
from bot.queue import Delivery

if TYPE_CHECKING:
    from bot.authz import Authorizer
    from bot.github.client import GitHubApp, GitHubPort
    from bot.repo_config import ConfigStore
    from bot.sweep import Sweeper

log = get_logger(__name__)


def fetch_in_order(router: routing.Router, event: sansio.Event) -> list[Any]:
    """The handlers for `event` in the order they were registered and composed.

    gidgethub's `Router.fetch` returns a frozenset, so handlers would run in an order that
    changes from one process to the next. Handlers of one event build on each other (the
    backports handler reads the plan the triage handler just saved), so they run in the
    order `handlers.make_router` composes them; gidgethub's route lists keep that order.
    """
    found: list[Any] = list(router._shallow_routes.get(event.event, ()))
    for key, by_value in router._deep_routes.get(event.event, {}).items():
        value = event.data.get(key)
        if isinstance(value, Hashable) and value in by_value:
            found.extend(by_value[value])
    known = router.fetch(event)
    ordered = list(dict.fromkeys(found))
    # Whatever a future gidgethub keeps elsewhere still runs, after the ordered ones.
    return ordered + [h for h in known if h not in ordered]


@dataclass(frozen=True)
class Services:
    """What every handler shares: GitHub access, config store, metrics and the clock."""

    github: GitHubApp
    configs: ConfigStore
    metrics: Metrics
    clock: Clock
    app_id: int
    app_slug: str
    authz: Authorizer
    # Signs the machine state in status comments (derived from the webhook secret).
    state_key: bytes
    # The sweep, when one runs in this process: its handlers tell it what they judged.
    sweeper: Sweeper | None = None


@dataclass(frozen=True)
class Context:
    """One delivery's view of the services: its installation's GitHub port and logger."""

    delivery: Delivery
    services: Services
    handler: str

    @property
    def log(self) -> Any:
        """A logger that adds the handler's name to the delivery's bound context."""
        return log.bind(handler=self.handler)

    @property
    def gh(self) -> GitHubPort:
        installation = self.delivery.installation_id
        if installation is None:
            raise LookupError(f"{self.delivery.event} delivery has no installation")
        return self.services.github.installation(installation)

    @property
    def bot_login(self) -> str:
        return f"{self.services.app_slug}[bot]"

    def now(self) -> datetime:
        """The service clock's current time, timezone-aware UTC (policies never read a clock)."""
        return datetime.fromtimestamp(self.services.clock.time(), tz=UTC)


def github_time(raw: object, default: datetime) -> datetime:
    """A timestamp as GitHub writes it ("2026-11-26T15:00:00Z"), or `default` if unreadable."""
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return default


class Handler(Protocol):
    __name__: str

    async def __call__(self, event: sansio.Event, ctx: Context, /) -> None: ...


class Dispatcher:
    """Finds the handlers for a delivery and runs each one, whatever the others do.

    gidgethub's own `Router.dispatch` stops at the first exception; one broken handler
    must not silence the rest, so we call the routed handlers ourselves.
    """

    def __init__(self, router: routing.Router, services: Services) -> None:
        self.router = router
        self.services = services
        self._bot_login = f"{services.app_slug}[bot]"
        # (event, action) pairs come from authenticated deliveries only, so this stays
        # as small as GitHub's list of events and actions. Handlers register by action
        # only (never by another payload key), which is what makes the pair a valid key.
        self._handles: dict[tuple[str, str | None], bool] = {}

    def ignore_reason(self, event: str, payload: dict[str, Any]) -> str | None:
        """Why a verified delivery needs no work, or None when handlers should see it.

        The bot's own changes (labels it set, comments and check runs it wrote) come back
        as webhooks from `<slug>[bot]`. Every handler recomputes from GitHub's current
        state, so such an echo could only repeat what was just done: dropping it at the
        door is what rules out ping-pong, and it saves the API calls.
        """
        sender = payload.get("sender")
        if isinstance(sender, dict) and sender.get("login") == self._bot_login:
            return "the bot's own change"
        if not self.handles(event, payload):
            return "no handler for this event"
        return None

    def handles(self, event: str, payload: dict[str, Any]) -> bool:
        """Whether any handler is registered for this event and action (called per request)."""
        action = payload.get("action")
        key = (event, action if isinstance(action, str) else None)
        known = self._handles.get(key)
        if known is None:
            fake = sansio.Event(payload, event=event, delivery_id="-")
            known = self._handles[key] = bool(self.router.fetch(fake))
        return known

    async def __call__(self, delivery: Delivery) -> bool:
        event = sansio.Event(delivery.payload, event=delivery.event, delivery_id=delivery.id)
        handlers = cast(list[Handler], fetch_in_order(self.router, event))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            delivery_id=delivery.id,
            event=delivery.event,
            action=delivery.action,
            installation=delivery.installation_id,
            repo=delivery.repo,
        )
        metrics = self.services.metrics
        ok = True
        try:
            waited = time.monotonic() - delivery.received
            log.debug("delivery_started", handlers=len(handlers), queued_seconds=round(waited, 3))
            for handler in handlers:
                name = f"{handler.__module__}.{handler.__name__}"
                ctx = Context(delivery=delivery, services=self.services, handler=name)
                started = time.monotonic()
                outcome = "ok"
                try:
                    await handler(event, ctx)
                except Exception:
                    ok = False
                    outcome = "error"
                    log.exception("handler_failed", handler=name)
                finally:
                    metrics.handler_seconds.observe(
                        time.monotonic() - started, delivery.event, name, outcome
                    )
            metrics.deliveries.inc(delivery.event, "processed" if ok else "failed")
            log.info("delivery_processed" if ok else "delivery_failed", handlers=len(handlers))
        finally:
            structlog.contextvars.clear_contextvars()
        return ok
