"""`lts-bot sandbox` and `lts-bot serve` meet as two separate processes, as in a real setup."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx

from bot.github.auth import make_app_jwt


async def _line_with(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    while True:
        raw = await asyncio.wait_for(stream.readline(), timeout=30)
        if not raw:
            raise AssertionError("the process ended early:\n" + "".join(seen))
        seen.append(raw.decode())
        if text in seen[-1]:
            return seen[-1]


async def _spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), timeout=20)
    except TimeoutError:
        proc.kill()
        return await proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _config_runs(env: dict[str, str], pem: str, installation: str) -> list[dict[str, object]]:
    """lts/config runs on acme/widgets' main, read through the sandbox's REST API."""
    jwt = make_app_jwt(int(env["GITHUB_APP_ID"]), pem, time.time())
    async with httpx.AsyncClient(base_url=env["GITHUB_API_URL"]) as http:
        token = await http.post(
            f"/app/installations/{installation}/access_tokens",
            headers={"Authorization": f"Bearer {jwt}"},
        )
        assert token.status_code == 201, token.text
        auth = {"Authorization": f"token {token.json()['token']}"}
        runs = await http.get(
            "/repos/acme/widgets/commits/main/check-runs",
            params={"check_name": "lts/config"},
            headers=auth,
        )
    return list(runs.json()["check_runs"])


async def test_a_real_service_and_a_standalone_sandbox_meet_and_lts_config_appears() -> None:
    bot_port = _free_port()
    sandbox = await _spawn(
        "sandbox", "--webhook-url", f"http://127.0.0.1:{bot_port}/webhook", env={}
    )
    seen: list[str] = []
    service = None
    try:
        assert sandbox.stdout is not None
        exports: dict[str, str] = {}
        while len(exports) < 4:
            line = await _line_with(sandbox.stdout, "export ", seen)
            name, _, value = line.strip().removeprefix("export ").partition("=")
            exports[name] = value
        service = await _spawn(
            "serve",
            env={
                **exports,
                "HOST": "127.0.0.1",
                "PORT": str(bot_port),
                "LTS_BOT_WRITE_INTERVAL": "0",
            },
        )
        line = await _line_with(sandbox.stdout, "App 1 installed on acme/widgets", seen)
        installation = line.rsplit(" ", 1)[1].rstrip(".\n")
        pem = Path(exports["GITHUB_PRIVATE_KEY_PATH"]).read_text()  # noqa: ASYNC240
        runs: list[dict[str, object]] = []
        for _ in range(100):
            runs = await _config_runs(exports, pem, installation)
            if runs:
                break
            await asyncio.sleep(0.1)
        assert [(r["name"], r["conclusion"]) for r in runs] == [("lts/config", "success")]
    finally:
        if service is not None:
            assert await _stop(service) == 0
        assert await _stop(sandbox) == 0
