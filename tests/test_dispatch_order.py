"""Handlers of one event run in the order they are composed, whatever gidgethub's sets say."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.dispatch import fetch_in_order
from bot.handlers import backports, make_router, triage


def _event(event: str, **data: Any) -> sansio.Event:
    return sansio.Event(data, event=event, delivery_id="1")


def test_handlers_come_in_registration_order_across_composed_routers() -> None:
    calls: list[str] = []
    first, second, third = routing.Router(), routing.Router(), routing.Router()

    async def a(event: sansio.Event) -> None:
        calls.append("a")

    async def b(event: sansio.Event) -> None:
        calls.append("b")

    async def c(event: sansio.Event) -> None:
        calls.append("c")

    async def d(event: sansio.Event) -> None:
        calls.append("d")

    first.add(c, "issue_comment", action="created")
    second.add(a, "issue_comment")
    third.add(b, "issue_comment", action="created")
    third.add(d, "issue_comment", action="edited")
    router = routing.Router(first, second, third)

    found = fetch_in_order(router, _event("issue_comment", action="created"))
    # Event-wide handlers first, then those for the action, each in composition order.
    assert found == [a, c, b]
    assert set(found) == set(router.fetch(_event("issue_comment", action="created")))
    assert fetch_in_order(router, _event("push")) == []


def test_the_triage_handler_saves_a_plan_before_the_backports_handler_reads_it() -> None:
    found = fetch_in_order(make_router(), _event("issue_comment", action="created"))
    assert found.index(triage.on_comment) < found.index(backports.on_comment)
