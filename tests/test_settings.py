"""Settings from the environment: every bad variable named, exit 2, secrets never shown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.logs import configure_logging, get_logger, register_secret
from bot.settings import SettingsError, load_settings
from tests.conftest import WEBHOOK_SECRET, sign

REQUIRED = ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET")


def _run_cli(
    args: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_complete_environment_loads(env: dict[str, str]) -> None:
    settings = load_settings(env)
    assert settings.GITHUB_APP_ID == 4242
    assert settings.GITHUB_API_URL == "http://127.0.0.1:9"
    assert settings.PORT == 8080
    assert settings.HOST == "0.0.0.0"
    assert settings.LOG_FORMAT == "json"


def test_defaults_and_ghes_url(env: dict[str, str]) -> None:
    settings = load_settings({**env, "GITHUB_API_URL": "https://ghe.example.com/api/v3/"})
    assert settings.GITHUB_API_URL == "https://ghe.example.com/api/v3"
    settings = load_settings({**env, "LOG_LEVEL": "debug", "LOG_FORMAT": "CONSOLE"})
    assert (settings.LOG_LEVEL, settings.LOG_FORMAT) == ("DEBUG", "console")


def test_the_key_can_come_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(env["GITHUB_PRIVATE_KEY"])
    rest = {k: v for k, v in env.items() if k != "GITHUB_PRIVATE_KEY"}
    settings = load_settings({**rest, "GITHUB_PRIVATE_KEY_PATH": str(key)})
    assert settings.private_key_pem() == env["GITHUB_PRIVATE_KEY"]


def test_a_key_with_escaped_newlines_is_accepted(env: dict[str, str]) -> None:
    flat = env["GITHUB_PRIVATE_KEY"].replace("\n", "\\n")
    settings = load_settings({**env, "GITHUB_PRIVATE_KEY": flat})
    assert settings.private_key_pem() == env["GITHUB_PRIVATE_KEY"]


@pytest.mark.parametrize("name", REQUIRED)
def test_each_missing_variable_is_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({k: v for k, v in env.items() if k != name})
    assert info.value.problems == [f"{name}: required but not set"]


def test_a_missing_key_names_both_ways_to_give_it(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({k: v for k, v in env.items() if k != "GITHUB_PRIVATE_KEY"})
    assert len(info.value.problems) == 1
    assert "GITHUB_PRIVATE_KEY" in info.value.problems[0]
    assert "GITHUB_PRIVATE_KEY_PATH" in info.value.problems[0]


def test_every_bad_variable_is_reported_at_once(env: dict[str, str]) -> None:
    bad = {
        **env,
        "GITHUB_APP_ID": "abc",
        "PORT": "99999",
        "LOG_FORMAT": "xml",
        "GITHUB_API_URL": "api.github.com",
    }
    with pytest.raises(SettingsError) as info:
        load_settings(bad)
    names = sorted(p.split(":")[0] for p in info.value.problems)
    assert names == ["GITHUB_API_URL", "GITHUB_APP_ID", "LOG_FORMAT", "PORT"]


def test_a_malformed_key_is_reported_without_its_text(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({**env, "GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff"})
    assert info.value.problems == [
        "GITHUB_PRIVATE_KEY: not a PEM private key (expected '-----BEGIN RSA PRIVATE KEY-----')"
    ]
    assert "secretstuff" not in info.value.render()


def test_an_unreadable_key_file_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    rest = {k: v for k, v in env.items() if k != "GITHUB_PRIVATE_KEY"}
    with pytest.raises(SettingsError) as info:
        load_settings({**rest, "GITHUB_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem")})
    assert info.value.problems == [
        "GITHUB_PRIVATE_KEY_PATH: cannot read the key file (No such file or directory)"
    ]


def test_secrets_stay_out_of_repr_and_errors(env: dict[str, str]) -> None:
    settings = load_settings(env)
    text = repr(settings) + str(settings) + str(settings.model_dump())
    assert WEBHOOK_SECRET not in text
    assert "PRIVATE KEY" not in text
    with pytest.raises(SettingsError) as info:
        load_settings({**env, "GITHUB_APP_ID": "x"})
    assert WEBHOOK_SECRET not in info.value.render()


def test_serve_exits_2_naming_each_missing_variable() -> None:
    result = _run_cli(["serve"], {})
    assert result.returncode == 2
    for name in ("GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_log_redaction_masks_registered_secrets_and_token_shapes() -> None:
    import io

    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    register_secret("s3cr3t-value-xyz")
    log = get_logger("test")
    log.info("thing", note="the secret is s3cr3t-value-xyz", token="ghs_abcdefghijklmnopqrstuvwxyz")
    log.info("header", value="Authorization: token ghs_ABCDEFGHIJKLMNOPQRSTU1234")
    out = stream.getvalue()
    assert "s3cr3t-value-xyz" not in out
    assert "ghs_" not in out
    assert out.count("[redacted]") == 3


def _service_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PORT": "0", "HOST": "127.0.0.1", "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}


async def _read_port(proc: asyncio.subprocess.Process, lines: list[str]) -> int:
    assert proc.stderr is not None
    while True:
        raw = await asyncio.wait_for(proc.stderr.readline(), timeout=20)
        if not raw:
            raise AssertionError("service exited before starting:\n" + "".join(lines))
        line = raw.decode()
        lines.append(line)
        if '"service_started"' in line:
            return int(json.loads(line)["port"])


async def test_serve_runs_answers_and_stops_cleanly_on_sigterm(env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env={"PATH": os.environ.get("PATH", ""), **_service_env(env)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        port = await _read_port(proc, lines)
        body = json.dumps({"zen": "Speak like a human.", "hook_id": 9}).encode()
        headers: dict[str, Any] = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "p-1",
            "X-Hub-Signature-256": sign(body),
        }
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}"
            async with session.post(f"{url}/webhook", data=body, headers=headers) as resp:
                assert resp.status == 200
            bad = {**headers, "X-Hub-Signature-256": "sha256=" + "1" * 64}
            async with session.post(f"{url}/webhook", data=body, headers=bad) as resp:
                assert resp.status == 401
            async with session.get(f"{url}/healthz") as resp:
                assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stderr is not None
    lines.append((await proc.stderr.read()).decode())
    log = "".join(lines)
    assert code == 0
    assert '"shutdown_finished"' in log
    assert '"ping_received"' in log
    assert WEBHOOK_SECRET not in log
    assert "PRIVATE KEY" not in log
    assert env["GITHUB_PRIVATE_KEY"].splitlines()[1] not in log
