"""All webhook handlers, composed into the one router the dispatcher uses."""

from __future__ import annotations

from gidgethub import routing

from bot.handlers import backports, config, gates, releases, sweep, triage


def make_router() -> routing.Router:
    return routing.Router(
        config.router,
        triage.router,
        gates.router,
        backports.router,
        releases.router,
        sweep.router,
    )
