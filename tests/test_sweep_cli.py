"""`lts-bot sweep`: one sweep from the command line, and the rate-limit budget it keeps to."""

from __future__ import annotations

import io

import pytest

from bot.clock import FakeClock
from bot.sandbox import Sandbox
from bot.service import Bot
from bot.settings import load_settings
from bot.sweep_cli import sweep_once

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
intake:
  required: {bug: [], security: [], backport: []}
"""


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG})
    sandbox.add_user("tina")
    sandbox.set_permission(REPO, "tina", "triage")
    sandbox.install([REPO])
    issue = await sandbox.open_issue(REPO, user="alice", title="Crash", body="crash")
    await sandbox.comment(REPO, issue.number, user="tina", body="/severity critical")
    await sandbox.settle(bot)
    sandbox.advance_clock(hours=3, minutes=30)
    return sandbox


async def test_a_dry_run_prints_what_it_would_do_and_does_nothing(
    world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    settings = load_settings({**env, "GITHUB_API_URL": world.url, "LTS_BOT_WRITE_INTERVAL": "0"})
    out = io.StringIO()
    code = await sweep_once(settings, repo=REPO, dry_run=True, out=out, clock=sandbox_clock)

    assert code == 0
    text = out.getvalue()
    assert "swept 1 repositories: 1 open tickets" in text
    assert "would look at 1 items" in text
    assert f"{REPO}#1 (ticket): triage clock may be at-risk" in text
    assert not any("lts-bot:reminder" in c.body for c in world.comments_on(REPO, 1))


async def test_a_sweep_from_the_command_line_posts_the_reminder(
    world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    settings = load_settings({**env, "GITHUB_API_URL": world.url, "LTS_BOT_WRITE_INTERVAL": "0"})
    out = io.StringIO()
    code = await sweep_once(settings, repo=None, dry_run=False, out=out, clock=sandbox_clock)

    assert code == 0
    assert "queued 1 items" in out.getvalue()
    assert "done" in out.getvalue()
    assert any("lts-bot:reminder triage:remind" in c.body for c in world.comments_on(REPO, 1))


async def test_an_installation_low_on_calls_is_left_for_the_next_sweep(
    world: Sandbox, bot: Bot
) -> None:
    (installation,) = {i.id for i in world.world.installations.values()}
    world.set_rate_limit_remaining(installation, 6)

    report = await bot.sweeper.plan()

    assert report.items == []
    assert report.deferred == [f"{REPO}#1: over this sweep's share"]


def test_the_command_line_refuses_a_malformed_repository(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    from bot.__main__ import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["sweep", "--repo", "widgets"]) == 2
    assert "--repo takes owner/name" in capsys.readouterr().err
