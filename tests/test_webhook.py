"""POST /webhook over real HTTP: authentication, validation, dedup, ordering and refusal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from gidgethub import routing, sansio

from bot.app import MAX_BODY, signature_matches
from bot.dispatch import Context
from tests.conftest import issue_payload, sign


class Recorder:
    """A router whose handlers record what they saw, optionally slowly or failing."""

    def __init__(self, delay: float = 0.0) -> None:
        self.router = routing.Router()
        self.calls: list[tuple[str, int]] = []
        self.active: dict[int, int] = {}
        self.max_overlap: dict[int, int] = {}
        self.concurrent = 0
        self.max_concurrent = 0
        self.delay = delay
        self.fail_on: set[str] = set()

        @self.router.register("issues")
        async def record(event: sansio.Event, ctx: Context) -> None:
            number = event.data["issue"]["number"]
            self.active[number] = self.active.get(number, 0) + 1
            self.max_overlap[number] = max(self.max_overlap.get(number, 0), self.active[number])
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
            try:
                await asyncio.sleep(self.delay)
                self.calls.append((event.delivery_id, number))
                if event.data.get("action") in self.fail_on:
                    raise RuntimeError("handler exploded")
            finally:
                self.active[number] -= 1
                self.concurrent -= 1

        @self.router.register("issues")
        async def second(event: sansio.Event, ctx: Context) -> None:
            self.calls.append(("second:" + event.delivery_id, 0))


def test_signature_matches_githubs_published_test_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_matches(b"It's a Secret to Everybody", b"Hello, World!", header)
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World?", header)
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World!", header[:-2])


async def test_a_signed_delivery_is_accepted_and_processed(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    status, body = await gh.send("issues", issue_payload(7), delivery_id="d-1")
    assert (status, body) == (202, {"status": "accepted"})
    await bot.queue.wait_idle()
    assert ("d-1", 7) in rec.calls
    assert ("second:d-1", 0) in rec.calls


@pytest.mark.parametrize(
    ("case", "headers", "drop", "status", "error"),
    [
        ("missing", {}, ("X-Hub-Signature-256",), 401, "missing X-Hub-Signature-256"),
        (
            "wrong",
            {"X-Hub-Signature-256": sign(b"other body")},
            (),
            401,
            "signature does not match: check GITHUB_WEBHOOK_SECRET",
        ),
        (
            "truncated",
            {"X-Hub-Signature-256": "__TRUNCATED__"},
            (),
            401,
            "signature does not match: check GITHUB_WEBHOOK_SECRET",
        ),
        (
            "wrong secret",
            {"X-Hub-Signature-256": "__OTHER_SECRET__"},
            (),
            401,
            "signature does not match: check GITHUB_WEBHOOK_SECRET",
        ),
        (
            "sha1 only",
            {"X-Hub-Signature": "sha1=0000"},
            ("X-Hub-Signature-256",),
            401,
            "missing X-Hub-Signature-256",
        ),
        (
            "form encoded",
            {"Content-Type": "application/x-www-form-urlencoded"},
            (),
            415,
            "expected Content-Type application/json: set the webhook's content type to "
            "application/json in the App settings",
        ),
        (
            "no event header",
            {},
            ("X-GitHub-Event",),
            400,
            "missing X-GitHub-Event or X-GitHub-Delivery",
        ),
        (
            "no delivery header",
            {},
            ("X-GitHub-Delivery",),
            400,
            "missing X-GitHub-Event or X-GitHub-Delivery",
        ),
    ],
)
async def test_rejected_requests_never_reach_a_handler(
    start_bot: Any,
    case: str,
    headers: dict[str, str],
    drop: tuple[str, ...],
    status: int,
    error: str,
) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    body = json.dumps(issue_payload()).encode()
    if headers.get("X-Hub-Signature-256") == "__TRUNCATED__":
        headers = {"X-Hub-Signature-256": sign(body)[:-10]}
    if headers.get("X-Hub-Signature-256") == "__OTHER_SECRET__":
        headers = {"X-Hub-Signature-256": sign(body, secret="not the secret")}
    got_status, got = await gh.send("issues", None, body=body, headers=headers, drop=drop)
    assert (got_status, got) == (status, {"error": error})
    await bot.queue.wait_idle()
    assert rec.calls == []
    assert bot.queue.depth == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json at all", "body is not valid JSON"),
        (b"[1, 2, 3]", "body is not a JSON object"),
        (b'"a string"', "body is not a JSON object"),
        (b"", "body is not valid JSON"),
        (b'{"action": "opened"', "body is not valid JSON"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    start_bot: Any, body: bytes, error: str
) -> None:
    rec = Recorder()
    _bot, gh = await start_bot(rec.router)
    status, got = await gh.send("issues", None, body=body)
    assert (status, got) == (400, {"error": error})
    assert rec.calls == []


async def test_an_oversized_body_is_refused_before_it_is_read(start_bot: Any) -> None:
    _bot, gh = await start_bot(Recorder().router)
    port = gh.base.rsplit(":", 1)[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    # Announce 30 MB but send nothing: the answer must come without waiting for the body.
    writer.write(
        (
            "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\nX-Hub-Signature-256: sha256=00\r\n"
            "X-GitHub-Event: issues\r\nX-GitHub-Delivery: big\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413")


async def test_a_chunked_body_over_the_limit_is_cut_off(start_bot: Any) -> None:
    rec = Recorder()
    _bot, gh = await start_bot(rec.router)

    async def chunks() -> Any:
        block = b" " * (1024 * 1024)
        for _ in range(26):
            yield block

    async with gh.session.post(
        f"{gh.base}/webhook",
        data=chunks(),
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=00",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": "chunked",
        },
    ) as resp:
        assert resp.status == 413
    assert rec.calls == []


async def test_an_unknown_event_is_accepted_and_ignored(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    status, body = await gh.send("sponsorship", {"action": "created"})
    assert status == 202
    assert body == {"status": "ignored", "reason": "no handler for this event"}
    assert bot.queue.depth == 0
    assert rec.calls == []


async def test_ping_answers_200_and_queues_nothing(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    status, body = await gh.send("ping", {"zen": "Design for failure.", "hook_id": 1})
    assert (status, body) == (200, {"status": "pong"})
    assert bot.queue.depth == 0
    assert rec.calls == []


async def test_a_redelivery_is_processed_once(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    first = await gh.send("issues", issue_payload(3), delivery_id="same")
    second = await gh.send("issues", issue_payload(3), delivery_id="same")
    await bot.queue.wait_idle()
    third = await gh.send("issues", issue_payload(3), delivery_id="same")
    await bot.queue.wait_idle()
    assert first == (202, {"status": "accepted"})
    assert second[1]["status"] == third[1]["status"] == "duplicate"
    assert [c for c in rec.calls if c[0] == "same"] == [("same", 3)]


async def test_a_failed_delivery_can_be_redelivered(start_bot: Any) -> None:
    rec = Recorder()
    rec.fail_on = {"edited"}
    bot, gh = await start_bot(rec.router)
    payload = issue_payload(4, action="edited")
    await gh.send("issues", payload, delivery_id="flaky")
    await bot.queue.wait_idle()
    _status, body = await gh.send("issues", payload, delivery_id="flaky")
    await bot.queue.wait_idle()
    assert body == {"status": "accepted"}
    assert [c for c in rec.calls if c[0] == "flaky"] == [("flaky", 4), ("flaky", 4)]
    # The other handler ran both times despite its sibling raising.
    assert rec.calls.count(("second:flaky", 0)) == 2
    metrics = bot.services.metrics
    assert metrics.deliveries.value("issues", "failed") == 2


async def test_events_for_one_issue_never_overlap_and_different_issues_do(
    start_bot: Any,
) -> None:
    rec = Recorder(delay=0.05)
    bot, gh = await start_bot(rec.router)
    sends = [gh.send("issues", issue_payload(1), delivery_id=f"a{i}") for i in range(4)]
    sends += [gh.send("issues", issue_payload(2), delivery_id=f"b{i}") for i in range(4)]
    results = await asyncio.gather(*sends)
    assert all(status == 202 for status, _ in results)
    await bot.queue.wait_idle()
    assert rec.max_overlap == {1: 1, 2: 1}
    assert rec.max_concurrent == 2
    # Per issue, deliveries run in the order they were accepted.
    assert [d for d, n in rec.calls if n == 1] == [f"a{i}" for i in range(4)]


async def test_the_global_concurrency_cap_holds(start_bot: Any, env: dict[str, str]) -> None:
    from bot.settings import load_settings

    rec = Recorder(delay=0.05)
    capped = load_settings({**env, "LTS_BOT_WORKERS": "3"})
    bot, gh = await start_bot(rec.router, capped)
    await asyncio.gather(*(gh.send("issues", issue_payload(n)) for n in range(1, 11)))
    await bot.queue.wait_idle()
    assert rec.max_concurrent == 3
    assert len([c for c in rec.calls if c[1]]) == 10


async def test_a_full_queue_answers_503_and_keeps_nothing(
    start_bot: Any, env: dict[str, str]
) -> None:
    from bot.settings import load_settings

    rec = Recorder(delay=0.2)
    small = load_settings({**env, "LTS_BOT_QUEUE_SIZE": "2", "LTS_BOT_WORKERS": "1"})
    bot, gh = await start_bot(rec.router, small)
    answers = [await gh.send("issues", issue_payload(n), delivery_id=f"q{n}") for n in (1, 2, 3)]
    assert [a[0] for a in answers] == [202, 202, 503]
    assert "redelivered" in answers[2][1]["error"]
    await bot.queue.wait_idle()
    # The refused delivery was not remembered: GitHub's redelivery of it is accepted.
    status, _ = await gh.send("issues", issue_payload(3), delivery_id="q3")
    assert status == 202


async def test_shutdown_finishes_in_flight_work_and_refuses_new(start_bot: Any) -> None:
    rec = Recorder(delay=0.3)
    bot, gh = await start_bot(rec.router)
    await gh.send("issues", issue_payload(1), delivery_id="inflight")
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(bot.queue.drain(grace=5))
    await asyncio.sleep(0.05)
    status, _body = await gh.send("issues", issue_payload(2), delivery_id="late")
    async with gh.session.get(f"{gh.base}/healthz") as resp:
        health = (resp.status, await resp.json())
    assert await stopping is True
    assert status == 503
    assert health[0] == 503
    assert health[1]["status"] == "draining"
    assert ("inflight", 1) in rec.calls
    assert all(d != "late" for d, _ in rec.calls)


async def test_shutdown_gives_up_after_the_grace_period(start_bot: Any) -> None:
    rec = Recorder(delay=30)
    bot, gh = await start_bot(rec.router)
    await gh.send("issues", issue_payload(1))
    await asyncio.sleep(0.05)
    assert await bot.queue.drain(grace=0.1) is False


async def test_healthz_and_metrics(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    await gh.send("issues", issue_payload(1))
    await gh.send("issues", None, body=b"{}", headers={"X-Hub-Signature-256": "sha256=bad"})
    await bot.queue.wait_idle()
    async with gh.session.get(f"{gh.base}/healthz") as resp:
        assert resp.status == 200
        health = await resp.json()
    assert health["status"] == "ok"
    assert health["queue_depth"] == 0
    async with gh.session.get(f"{gh.base}/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    assert 'lts_bot_webhook_deliveries_total{event="issues",outcome="accepted"} 1' in text
    assert 'lts_bot_webhook_deliveries_total{event="issues",outcome="processed"} 1' in text
    assert 'lts_bot_webhook_deliveries_total{event="-",outcome="bad_signature"} 1' in text
    assert "lts_bot_queue_depth 0" in text
    assert "# TYPE lts_bot_handler_duration_seconds histogram" in text
    assert 'lts_bot_handler_duration_seconds_count{event="issues"' in text


async def test_every_log_line_of_a_delivery_carries_its_context(start_bot: Any) -> None:
    import io

    from bot.logs import configure_logging

    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    router = routing.Router()

    @router.register("issues", action="opened")
    async def chatty(event: sansio.Event, ctx: Context) -> None:
        ctx.log.info("handler_says_hello")
        raise ValueError("boom")

    bot, gh = await start_bot(router)
    await gh.send("issues", issue_payload(12), delivery_id="ctx-1")
    await bot.queue.wait_idle()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("delivery_id") == "ctx-1"]
    assert {line["msg"] for line in mine} >= {"handler_says_hello", "handler_failed"}
    for line in mine:
        assert line["event"] == "issues"
        assert line["installation"] == 1
        assert line["repo"] == "acme/widgets"
        assert line["action"] == "opened"
    failed = next(line for line in mine if line["msg"] == "handler_failed")
    assert "ValueError: boom" in failed["exception"]
    assert failed["handler"].endswith("chatty")


async def test_the_bots_own_changes_are_acknowledged_and_never_handled(start_bot: Any) -> None:
    rec = Recorder()
    bot, gh = await start_bot(rec.router)
    payload = issue_payload(5, action="labeled")
    payload["sender"] = {"login": "lts-bot[bot]", "type": "Bot"}
    status, body = await gh.send("issues", payload)
    assert (status, body) == (202, {"status": "ignored", "reason": "the bot's own change"})
    # Another App's bot is a sender like any other.
    payload["sender"] = {"login": "ci-app[bot]", "type": "Bot"}
    status, body = await gh.send("issues", payload, delivery_id="other-bot")
    await bot.queue.wait_idle()
    assert body == {"status": "accepted"}
    assert [c for c in rec.calls if c[1]] == [("other-bot", 5)]
