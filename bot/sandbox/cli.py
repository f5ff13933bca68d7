"""`lts-bot sandbox`: a standalone sandbox GitHub that a real `lts-bot serve` can talk to."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import tempfile
from pathlib import Path
from typing import TextIO

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.sandbox import Sandbox

APP_ID = 1
REPO = "acme/widgets"


def throwaway_app_key() -> str:
    """A fresh RSA key in PEM, for an App that lives only as long as a sandbox."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


async def start_sandbox(
    *, port: int, webhook_url: str | None, state_dir: Path
) -> tuple[Sandbox, dict[str, str]]:
    """Start a seeded sandbox; return it and the environment that points lts-bot at it."""
    pem = throwaway_app_key()
    secret = secrets.token_hex(20)
    key_path = state_dir / "app.pem"
    key_path.write_text(pem)
    key_path.chmod(0o600)
    sandbox = await Sandbox.start(
        app_id=APP_ID, private_key_pem=pem, webhook_secret=secret, port=port
    )
    sandbox.webhook_url = webhook_url
    for login in ("maintainer", "contributor", "triager", "qa", "release-manager"):
        sandbox.add_user(login)
    await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
    env = {
        "GITHUB_API_URL": sandbox.url,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY_PATH": str(key_path),
        "GITHUB_WEBHOOK_SECRET": secret,
    }
    return sandbox, env


async def _reachable(url: str, within: float) -> bool:
    """Whether anything answers HTTP at `url` within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    await response.read()
                    return True
            except aiohttp.ClientError:
                if asyncio.get_running_loop().time() > deadline:
                    return False
                await asyncio.sleep(0.2)


async def install_when_listening(
    sandbox: Sandbox, webhook_url: str | None, out: TextIO, *, within: float = 300.0
) -> None:
    """Install the App once its webhook URL answers, so the service sees `installation`.

    Started in either order, the sandbox and the service then meet: GitHub, too, only
    delivers to a URL that is up.
    """
    if webhook_url and not await _reachable(webhook_url, within):
        out.write(f"Nothing answered at {webhook_url}; installing anyway.\n")
    installation = sandbox.install([REPO], by="maintainer")
    out.write(f"App {APP_ID} installed on {REPO}: installation {installation}.\n")
    out.flush()


async def run_sandbox(
    *,
    port: int,
    webhook_url: str | None,
    out: TextIO,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or `stop`), printing how to point lts-bot at it."""
    with tempfile.TemporaryDirectory(prefix="lts-sandbox-") as tmp:
        sandbox, env = await start_sandbox(port=port, webhook_url=webhook_url, state_dir=Path(tmp))
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        out.write(f"Sandbox GitHub serving on {sandbox.url} (loopback only)\n")
        out.write(f"Repository {REPO}; users maintainer, contributor, triager, qa, ")
        out.write("release-manager.\n")
        out.write("Point lts-bot at it (the key file lives as long as this process):\n\n")
        for name, value in env.items():
            out.write(f"  export {name}={value}\n")
        target = webhook_url or "(none: pass --webhook-url http://127.0.0.1:8080/webhook)"
        out.write(f"\n  lts-bot serve\n\nWebhooks go to {target}\n")
        out.flush()
        installing = asyncio.create_task(install_when_listening(sandbox, webhook_url, out))
        try:
            await stop.wait()
        finally:
            installing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await installing
            await sandbox.stop()
    return 0
