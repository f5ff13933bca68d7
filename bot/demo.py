"""`lts-bot demo`: runs the real service on this machine and plays the workflow against it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.logs import configure_logging
from bot.service import Bot
from bot.settings import load_settings


@dataclass
class Step:
    """One line of the timeline: who did what, what came back, whether it was expected."""

    actor: str
    action: str
    result: str
    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


class Timeline:
    """Collects the demo's steps and prints them as a readable story or as JSON lines."""

    def __init__(self, out: TextIO, *, json_output: bool) -> None:
        self.out = out
        self.json_output = json_output
        self.steps: list[Step] = []
        self.started = time.monotonic()

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.json_output:
            self.out.write(json.dumps({"type": "step", **asdict(step)}) + "\n")
        else:
            mark = "ok " if step.ok else "FAIL"
            self.out.write(f"  [{mark}] {step.actor:<12} {step.action}\n")
            self.out.write(f"         {'':<12} -> {step.result}\n")

    def heading(self, text: str) -> None:
        if not self.json_output:
            self.out.write(f"\n{text}\n")

    def summary(self, extra: dict[str, Any]) -> bool:
        failed = [s for s in self.steps if not s.ok]
        elapsed = round(time.monotonic() - self.started, 2)
        if self.json_output:
            self.out.write(
                json.dumps(
                    {
                        "type": "summary",
                        "steps": len(self.steps),
                        "failed": len(failed),
                        "seconds": elapsed,
                        **extra,
                    }
                )
                + "\n"
            )
        else:
            self.out.write(
                f"\nSummary: {len(self.steps)} steps, {len(failed)} failed, {elapsed}s\n"
            )
            for key, value in extra.items():
                self.out.write(f"  {key}: {value}\n")
            for step in failed:
                self.out.write(f"  FAILED: {step.actor} {step.action}: {step.result}\n")
        return not failed


def _throwaway_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def _deliver(
    session: aiohttp.ClientSession,
    url: str,
    secret: bytes,
    event: str,
    payload: dict[str, Any],
    *,
    delivery_id: str | None = None,
    signature: str | None = None,
) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/lts-bot-demo",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
    }
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def run_demo(*, json_output: bool = False, out: TextIO | None = None) -> int:
    """Play the demo and return the exit code: 0 when every step did what it should."""
    stream = out or sys.stdout
    # The service's own logs would interleave with the story; keep them for failures only.
    service_log = io.StringIO()
    configure_logging(fmt="console", stream=service_log)
    secret = secrets.token_hex(20)
    settings = load_settings(
        {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY": _throwaway_key(),
            "GITHUB_WEBHOOK_SECRET": secret,
            # Nothing listens here: the foundation only shows intake until the sandbox exists.
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "LTS_BOT_WRITE_INTERVAL": "0",
            "LOG_FORMAT": "console",
        }
    )
    timeline = Timeline(stream, json_output=json_output)
    bot = Bot.build(settings)
    port = await bot.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/webhook"
    key = secret.encode()
    timeline.heading(f"lts-bot is serving on {base} (real HTTP, signed webhooks)")

    def expect(actor: str, action: str, got: str, ok: bool, **details: Any) -> None:
        timeline.record(Step(actor, action, got, ok, details))

    try:
        async with aiohttp.ClientSession() as session:
            status, body = await _deliver(
                session, url, key, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1}
            )
            expect(
                "GitHub",
                "sends a signed ping after the App is registered",
                f"HTTP {status} {body}",
                status == 200 and body.get("status") == "pong",
            )
            status, body = await _deliver(
                session, url, key, "ping", {"zen": "forged"}, signature="sha256=" + "0" * 64
            )
            expect(
                "someone",
                "posts a delivery with a forged signature",
                f"HTTP {status} {body.get('error')}",
                status == 401,
            )
            delivery = str(uuid.uuid4())
            push = _push_payload()
            first, _ = await _deliver(session, url, key, "push", push, delivery_id=delivery)
            again, body = await _deliver(session, url, key, "push", push, delivery_id=delivery)
            expect(
                "GitHub",
                "delivers a push to lts/v1.4/issue-123, then redelivers the same delivery id",
                f"HTTP {first} then HTTP {again} {body.get('status')}",
                first == 202 and again == 202 and body.get("status") == "duplicate",
            )
            await bot.queue.wait_idle()
            async with session.get(f"{base}/healthz") as resp:
                health = await resp.json()
            expect(
                "operator",
                "asks GET /healthz",
                f"HTTP {resp.status} {health}",
                resp.status == 200 and health.get("status") == "ok",
            )
            async with session.get(f"{base}/metrics") as resp:
                text = await resp.text()
            wanted = _metric_lines(text, "lts_bot_webhook_deliveries_total")
            expect(
                "operator",
                "scrapes GET /metrics",
                "; ".join(wanted) or "no delivery counters",
                resp.status == 200 and bool(wanted),
            )
    finally:
        drained = await bot.stop(grace=5)
    expect("operator", "stops the service (SIGTERM path)", f"drained={drained}", drained)
    ok = timeline.summary({"service_log_lines": service_log.getvalue().count("\n")})
    if not ok and not json_output:
        stream.write("\nService log:\n" + service_log.getvalue())
    return 0 if ok else 1


def _metric_lines(text: str, name: str, keep: Callable[[str], bool] = bool) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name + "{") and keep(line)]


def _push_payload() -> dict[str, Any]:
    return {
        "ref": "refs/heads/lts/v1.4/issue-123",
        "before": "0" * 40,
        "after": "1" * 40,
        "deleted": False,
        "commits": [],
        "head_commit": None,
        "repository": {
            "full_name": "acme/widgets",
            "name": "widgets",
            "default_branch": "main",
            "owner": {"login": "acme"},
        },
        "installation": {"id": 1},
        "sender": {"login": "maintainer", "type": "User"},
    }
