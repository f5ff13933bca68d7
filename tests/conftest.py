"""Shared fixtures: one throwaway App key, settings, and a running service over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import routing

from bot.service import Bot
from bot.settings import Settings, load_settings

WEBHOOK_SECRET = "It's a Secret to Everybody"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_key_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def env(private_key_pem: str) -> dict[str, str]:
    """A complete, valid environment for the service."""
    return {
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY": private_key_pem,
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "LTS_BOT_WRITE_INTERVAL": "0",
        "LTS_BOT_SHUTDOWN_GRACE": "5",
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Posts deliveries to a running service the way GitHub does."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def send(
        self,
        event: str,
        payload: Any,
        *,
        delivery_id: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        raw = body if body is not None else json.dumps(payload).encode()
        hdrs = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(raw),
            "User-Agent": "GitHub-Hookshot/test",
        }
        hdrs.update(headers or {})
        for name in drop:
            hdrs.pop(name, None)
        async with self.session.post(f"{self.base}/webhook", data=raw, headers=hdrs) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else {})


BotFactory = Callable[..., Any]


@pytest.fixture
async def start_bot(
    settings: Settings,
) -> AsyncIterator[Callable[..., Any]]:
    """Start a real service on a free port with a given router; stopped after the test."""
    bots: list[Bot] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(
        router: routing.Router | None = None, settings_: Settings | None = None, **kw: Any
    ) -> tuple[Bot, WebhookSender]:
        bot = Bot.build(settings_ or settings, router=router, **kw)
        port = await bot.start("127.0.0.1", 0)
        bots.append(bot)
        session = aiohttp.ClientSession()
        sessions.append(session)
        return bot, WebhookSender(session, f"http://127.0.0.1:{port}")

    yield start
    for session in sessions:
        await session.close()
    for bot in bots:
        await bot.stop(grace=1)


def issue_payload(
    number: int = 1, repo: str = "acme/widgets", action: str = "opened"
) -> dict[str, Any]:
    return {
        "action": action,
        "issue": {"number": number, "title": "t", "body": "", "labels": []},
        "repository": {"full_name": repo, "name": repo.split("/")[1], "default_branch": "main"},
        "installation": {"id": 1},
        "sender": {"login": "alice", "type": "User"},
    }
