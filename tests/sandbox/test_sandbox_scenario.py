"""The sandbox's scenario API: the clock, settling with the service, and the deliveries API."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sandbox_helpers import REPO

from bot.clock import FakeClock, SystemClock
from bot.sandbox import Sandbox
from bot.service import Bot

pytest_plugins = ["sandbox_fixtures"]


async def test_advancing_the_clock_moves_timestamps_and_expires_tokens(
    sandbox: Sandbox, gh: httpx.AsyncClient, sandbox_clock: FakeClock
) -> None:
    before = sandbox_clock.time()
    first = await sandbox.open_issue(REPO, user="bob", title="Old")

    now = sandbox.advance_clock(minutes=59)
    second = await sandbox.open_issue(REPO, user="bob", title="New")
    fresh = await gh.get(f"/repos/{REPO}/issues/{second.number}")
    sandbox.advance_clock(minutes=1)
    expired = await gh.get(f"/repos/{REPO}/issues/{second.number}")

    # The FakeClock shared with the service moved too.
    assert now == before + 59 * 60
    assert sandbox_clock.time() == before + 60 * 60
    assert second.created_at - first.created_at == 59 * 60
    assert fresh.json()["created_at"] == "2027-01-15T08:59:00Z"
    assert expired.status_code == 401


async def test_a_sandbox_on_the_real_clock_keeps_its_own_offset(
    env: dict[str, str], private_key_pem: str
) -> None:
    clock = SystemClock()
    async with await Sandbox.start(
        app_id=1, private_key_pem=private_key_pem, webhook_secret="s", clock=clock
    ) as sandbox:
        moved = sandbox.advance_clock(days=3)

        assert moved - clock.time() > 3 * 86400 - 5
        assert sandbox.world.now() - clock.time() > 3 * 86400 - 5


async def test_settle_waits_for_the_service_to_handle_every_new_kind_of_delivery(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    issue = await sandbox.open_issue(REPO, user="bob", title="Crash", labels=["bug"])
    await sandbox.comment(REPO, issue.number, user="carol", body="+1")
    await sandbox.push_commits(REPO, "fix", {"f": "f"}, author="bob")
    pr = await sandbox.open_pr(REPO, user="bob", head="fix", title="Fix")
    await sandbox.review(REPO, pr.number, user="carol", state="COMMENT", body="ok")
    await sandbox.merge_pr(REPO, pr.number, user="carol")
    await sandbox.publish_release(REPO, "v1.0.0", user="bob")

    await sandbox.settle(bot)

    assert sandbox.outbox.pending == 0
    assert all(d.status == 202 for d in sandbox.deliveries), [
        (d.event, d.status, d.response) for d in sandbox.deliveries if d.status != 202
    ]
    assert sandbox.server_errors == []


async def test_the_app_lists_its_deliveries_and_asks_for_a_redelivery(
    sandbox: Sandbox,
    api: httpx.AsyncClient,
    widgets: int,
    mint_jwt: Callable[..., str],
) -> None:
    await sandbox.open_issue(REPO, user="bob", title="Crash")
    await sandbox.settle()
    app = {"Authorization": f"Bearer {mint_jwt()}"}

    listed = await api.get("/app/hook/deliveries", params={"per_page": 1}, headers=app)
    rest = await api.get(listed.links["next"]["url"], headers=app)
    retried = await api.post(f"/app/hook/deliveries/{listed.json()[0]['id']}/attempts", headers=app)
    await sandbox.settle()

    [newest] = listed.json()
    assert (newest["event"], newest["action"]) == ("issues", "opened")
    assert newest["installation_id"] == widgets
    assert newest["status"] == "no webhook URL"
    assert [d["event"] for d in rest.json()] == ["installation"]
    assert retried.status_code == 202
    assert sandbox.deliveries[-1].redelivery
    assert sandbox.deliveries[-1].guid == newest["guid"]


async def test_only_the_app_may_list_deliveries(
    api: httpx.AsyncClient, gh: httpx.AsyncClient
) -> None:
    answer = await gh.get("/app/hook/deliveries")

    assert answer.status_code == 401
