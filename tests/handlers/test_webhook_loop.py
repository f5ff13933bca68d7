"""The bot's own changes come back as webhooks and must never set off more changes."""

from __future__ import annotations

import json

from gidgethub import routing, sansio

from bot.clock import FakeClock
from bot.dispatch import Context
from bot.sandbox import Sandbox
from bot.service import Bot
from bot.settings import load_settings

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"


async def test_the_bots_own_label_change_comes_back_from_a_bot_sender_and_stops_there(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    router = routing.Router()
    seen: list[tuple[str, str]] = []

    # A deliberately naive pair of handlers: each label event adds another label. Were the
    # bot's own echo dispatched, this would never stop.
    @router.register("issues", action="opened")
    @router.register("issues", action="labeled")
    async def relabel(event: sansio.Event, ctx: Context) -> None:
        issue = event.data["issue"]
        seen.append((event.data["action"], event.data["sender"]["login"]))
        count = len(issue["labels"])
        await ctx.gh.post(
            f"/repos/{REPO}/issues/{issue['number']}/labels", {"labels": [f"echo-{count}"]}
        )

    settings = load_settings({**env, "GITHUB_API_URL": sandbox.url, "LTS_BOT_WRITE_INTERVAL": "0"})
    service = Bot.build(settings, clock=sandbox_clock, router=router)
    port = await service.start("127.0.0.1", 0)
    sandbox.webhook_url = f"http://127.0.0.1:{port}/webhook"
    try:
        await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
        sandbox.install([REPO])
        issue = await sandbox.open_issue(REPO, user="alice", title="Crash on start")
        await sandbox.settle(service)

        # A person's label is handled once, like any other event.
        await sandbox.add_labels(REPO, issue.number, ["needs-triage"], user="alice")
        await sandbox.settle(service)
    finally:
        await service.stop(grace=1)

    assert seen == [("opened", "alice"), ("labeled", "alice")]
    assert sandbox.labels_on(REPO, issue.number) == ["echo-0", "needs-triage", "echo-2"]
    echoes = [
        d
        for d in sandbox.deliveries_of("issues", "labeled")
        if d.payload["sender"]["type"] == "Bot"
    ]
    assert [d.payload["sender"]["login"] for d in echoes] == ["lts-bot[bot]"] * 2
    assert all(d.status == 202 for d in echoes)
    assert all(json.loads(d.response)["reason"] == "the bot's own change" for d in echoes)
