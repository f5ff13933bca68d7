"""`lts-bot report`: the process metrics of a repository, from a sandbox history with known
answers, printed as JSON or Markdown, and filed as one issue per ISO week."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.report_cli import report_once, week_of
from bot.sandbox import Sandbox
from bot.service import Bot
from bot.settings import Settings, load_settings
from bot.sweep import SweepReport

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
BRANCH = "release-lts/v1.4"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  triage: ["@acme/triage"]
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  security: ["@acme/security"]
  eng-lead: ["@acme/leads"]
release:
  package: acme-widgets
intake:
  required: {bug: [], security: [], backport: []}
"""
# The sandbox clock starts on Friday 2027-01-15 08:00 UTC (FakeClock's default).
T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def settings_for(world: Sandbox, env: dict[str, str]) -> Settings:
    return load_settings({**env, "GITHUB_API_URL": world.url, "LTS_BOT_WRITE_INTERVAL": "0"})


async def run_report(
    world: Sandbox,
    env: dict[str, str],
    clock: FakeClock,
    *,
    fmt: str = "json",
    since: date | None = None,
    post: bool = False,
    repo: str = REPO,
) -> tuple[int, str]:
    out = io.StringIO()
    code = await report_once(
        settings_for(world, env),
        repo=repo,
        since=since,
        fmt="json" if fmt == "json" else "markdown",
        post=post,
        out=out,
        err=out,
        clock=clock,
    )
    return code, out.getvalue()


def groups_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["key"]: g for g in data["groups"]}


async def sweep(world: Sandbox, bot: Bot) -> SweepReport:
    report = await bot.sweeper.plan()
    bot.sweeper.enqueue(report, bot.queue)
    await world.settle(bot)
    return report


async def say(world: Sandbox, bot: Bot, number: int, body: str, *, user: str = "tina") -> None:
    await world.comment(REPO, number, user=user, body=body)
    await world.settle(bot)


async def open_ticket(world: Sandbox, bot: Bot, title: str, commands: str) -> int:
    issue = await world.open_issue(REPO, user="alice", title=title, body="it breaks")
    await say(world, bot, issue.number, commands)
    return issue.number


async def fix_on_line(world: Sandbox, bot: Bot, ticket: int) -> int:
    """A PR fixing `ticket` merged into the v1.4 line; returns its number."""
    head = f"lts/v1.4/issue-{ticket}"
    await world.push_commits(
        REPO,
        head,
        {"fix.py": "fixed = 1\n"},
        message=f"Fix the crash (#{ticket})\n\nBackport to v1.4\n\nChangelog: Fix the crash",
        author="dev",
        from_ref=BRANCH,
    )
    pr = await world.open_pr(
        REPO,
        user="dev",
        head=head,
        base=BRANCH,
        title="[v1.4] Fix the crash",
        body=f"Fixes #{ticket}",
    )
    await world.settle(bot)
    await world.merge_pr(REPO, pr.number, user="rel", method="squash")
    await world.settle(bot)
    return pr.number


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """Line v1.4 with v1.4.0 published at T0, roles, and the App installed."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": "v = 1\n"})
    for login in ("tina", "lead", "quinn", "rel", "sec", "dev"):
        sandbox.add_user(login)
    sandbox.set_permission(REPO, "dev", "write")
    sandbox.add_team("acme", "triage", ["tina"])
    sandbox.add_team("acme", "leads", ["lead"])
    sandbox.add_team("acme", "qa", ["quinn"])
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.add_team("acme", "security", ["sec"])
    sandbox.install([REPO])
    await sandbox.create_branch(REPO, BRANCH, from_ref="main", user="rel")
    await sandbox.publish_release(REPO, "v1.4.0", user="rel", target=BRANCH)
    await sandbox.settle(bot)
    return sandbox


@dataclass(frozen=True)
class History:
    """The numbers of the tickets `history` opened."""

    a: int
    b: int
    c: int
    d: int


@pytest.fixture
async def history(world: Sandbox, bot: Bot) -> History:
    """Hours from T0 (Friday 08:00):

    0   A (high) and B (medium) opened, given a severity, v1.4 and the API answer
    2   A triaged `/triage backport`                    time to triage 2 h
    7   A planned `/backport v1.4`                      time to plan 5 h
    10  B triaged `/triage defer`                       time to triage 10 h
    10  C (low, never triaged) and D (critical) opened
    14.5 a sweep: D's 4 h triage deadline has passed    one triage breach
    14.5 A's fix merged into release-lts/v1.4, `/release v1.4`
    20  v1.4.1 published                                A's time to release 20 h
    23  v1.4.1 rolled back                              time to rollback 3 h
    24  the report runs
    """
    setup = "/affects v1.4\n/check api-change=no"
    a = await open_ticket(world, bot, "Crash on start", f"/severity high\n{setup}")
    b = await open_ticket(world, bot, "Wrong total", f"/severity medium\n{setup}")
    world.advance_clock(hours=2)
    await say(world, bot, a, "/triage backport crashes for every user")
    world.advance_clock(hours=5)
    await say(world, bot, a, "/backport v1.4")
    world.advance_clock(hours=3)
    await say(world, bot, b, "/triage defer waiting for a reproducer")
    c = await open_ticket(world, bot, "Typo in the docs", "/severity low")
    d = await open_ticket(world, bot, "Data loss", "/severity critical")
    world.advance_clock(hours=4, minutes=30)
    await sweep(world, bot)
    assert "sla/breached" in world.labels_on(REPO, d)
    await fix_on_line(world, bot, a)
    await say(world, bot, a, "/release v1.4", user="rel")
    world.advance_clock(hours=5, minutes=30)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    assert "released/v1.4.1" in world.labels_on(REPO, a)
    world.advance_clock(hours=3)
    await say(world, bot, a, "/rollback v1.4.1 crashes on start-up", user="rel")
    (rel,) = [r for r in world.world.repo_by_name(REPO).releases.values() if r.tag_name == "v1.4.1"]
    assert (rel.name or "").startswith("[withdrawn]")
    world.advance_clock(hours=1)
    return History(a, b, c, d)


def durations(group: dict[str, Any], name: str) -> tuple[int, float | None, float | None]:
    d = group[name]
    return d["count"], d["median_hours"], d["p90_hours"]


async def test_the_json_report_has_the_figures_of_the_history(
    history: History, world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    code, text = await run_report(world, env, sandbox_clock)

    assert code == 0, text
    data = json.loads(text)
    assert data["version"] == 1
    assert data["since"] is None
    assert data["now"] == "2027-01-16T08:00:00Z"
    groups = groups_of(data)
    # All, the four severities and none, then the one line.
    assert [(g["kind"], g["key"]) for g in data["groups"]] == [
        ("all", "all"),
        ("severity", "critical"),
        ("severity", "high"),
        ("severity", "medium"),
        ("severity", "low"),
        ("severity", "none"),
        ("line", "1.4"),
    ]

    every = groups["all"]
    # The tracking issue, the incident and the fix PR are no tickets.
    assert every["tickets"] == {"total": 4, "triaged": 2, "planned": 1, "released": 1, "open": 4}
    # Nearest rank of [2, 10]: the median is the smaller, the 90th percentile the larger.
    assert durations(every, "time_to_triage") == (2, 2.0, 10.0)
    assert durations(every, "time_to_plan") == (1, 5.0, 5.0)
    assert durations(every, "time_to_release") == (1, 20.0, 20.0)
    assert every["sla_breaches"] == {
        "tickets": 1,
        "triage": 1,
        "plan": 0,
        "release": 0,
        "unknown": 0,
    }
    # v1.4.0 (at T0) and v1.4.1, which was withdrawn 3 h after its publication.
    assert every["releases"] == {
        "published": 2,
        "withdrawn": 1,
        "rollback_rate": 0.5,
        "time_to_rollback": {"count": 1, "median_hours": 3.0, "p90_hours": 3.0},
    }
    assert every["backports"] == {"outcomes": 0, "conflicts": 0, "conflict_rate": None}

    critical, high, medium, low, none = (
        groups[k] for k in ("critical", "high", "medium", "low", "none")
    )
    assert critical["tickets"] == {
        "total": 1,
        "triaged": 0,
        "planned": 0,
        "released": 0,
        "open": 1,
    }
    assert critical["sla_breaches"]["triage"] == 1
    assert durations(critical, "time_to_triage") == (0, None, None)
    assert high["tickets"] == {"total": 1, "triaged": 1, "planned": 1, "released": 1, "open": 1}
    assert durations(high, "time_to_triage") == (1, 2.0, 2.0)
    assert durations(high, "time_to_plan") == (1, 5.0, 5.0)
    assert durations(high, "time_to_release") == (1, 20.0, 20.0)
    assert high["sla_breaches"]["tickets"] == 0
    assert medium["tickets"]["total"] == medium["tickets"]["triaged"] == 1
    assert durations(medium, "time_to_triage") == (1, 10.0, 10.0)
    assert durations(medium, "time_to_plan") == (0, None, None)
    assert low["tickets"] == {"total": 1, "triaged": 0, "planned": 0, "released": 0, "open": 1}
    assert none["tickets"]["total"] == 0
    # A release ships fixes of every severity: its rollback belongs to none of them.
    assert all(groups[k]["releases"] is None for k in ("critical", "high", "medium", "low"))

    line = groups["1.4"]
    # Only A plans or shipped on v1.4; B is affected but deferred.
    assert line["tickets"] == {"total": 1, "triaged": 1, "planned": 1, "released": 1, "open": 1}
    assert durations(line, "time_to_triage") == (1, 2.0, 2.0)
    assert durations(line, "time_to_plan") == (1, 5.0, 5.0)
    assert durations(line, "time_to_release") == (1, 20.0, 20.0)
    assert line["releases"] == every["releases"]
    assert line["sla_breaches"]["tickets"] == 0

    assert data["breached"] == [{"number": history.d, "title": "Data loss", "clocks": ["triage"]}]


async def test_the_markdown_report_shows_the_key_figures(
    history: History, world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    code, text = await run_report(world, env, sandbox_clock, fmt="markdown")

    assert code == 0, text
    assert text.startswith(f"# LTS process report for {REPO}\n")
    assert "All tickets and releases up to" in text
    # Times: median / p90 (count) for triage, plan, release, rollback.
    assert (
        "| All tickets | 2.0 h / 10.0 h (2) | 5.0 h / 5.0 h (1) | 20.0 h / 20.0 h (1) "
        "| 3.0 h / 3.0 h (1) |"
    ) in text
    # Tickets, open, triaged, planned, released, breaches, releases, rollback rate, conflicts.
    assert ("| All tickets | 4 | 4 | 2 | 1 | 1 | 1 (triage 1) | 2 | 50.0% (1 of 2) | — |") in text
    assert "| critical | 1 | 1 | 0 | 0 | 0 | 1 (triage 1) | n/a | n/a | — |" in text
    assert "| medium | 10.0 h / 10.0 h (1) | — | — | n/a |" in text
    assert "| v1.4 | 2.0 h / 2.0 h (1) | 5.0 h / 5.0 h (1) | 20.0 h / 20.0 h (1) " in text
    assert "| v1.4 | 1 | 1 | 1 | 1 | 1 | 0 | 2 | 50.0% (1 of 2) | — |" in text
    assert f"- #{history.d}: triage" in text


async def test_since_leaves_out_what_came_before_the_date(
    world: Sandbox, bot: Bot, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    # Friday 08:00: E opened, triaged an hour later; v1.4.0 was published at T0.
    e = await open_ticket(world, bot, "Old crash", "/severity high")
    world.advance_clock(hours=1)
    await say(world, bot, e, "/affects v1.4\n/check api-change=no\n/triage backport old")
    # Saturday 00:00 exactly: F opened, triaged 3 h later; E is touched after midnight too.
    world.advance_clock(hours=15)
    f = await open_ticket(world, bot, "New crash", "/severity medium")
    world.advance_clock(hours=3)
    await say(world, bot, f, "/triage defer later")
    await say(world, bot, e, "/check reproduced=yes")

    code, text = await run_report(world, env, sandbox_clock, since=date(2027, 1, 16))

    assert code == 0, text
    data = json.loads(text)
    assert data["since"] == "2027-01-16T00:00:00Z"
    every = groups_of(data)["all"]
    assert every["tickets"]["total"] == 1
    assert durations(every, "time_to_triage") == (1, 3.0, 3.0)
    assert groups_of(data)["medium"]["tickets"]["total"] == 1
    assert groups_of(data)["high"]["tickets"]["total"] == 0
    assert every["releases"]["published"] == 0
    # No ticket plans a line and no release was published since: no line group.
    assert [g["kind"] for g in data["groups"]].count("line") == 0

    code, text = await run_report(world, env, sandbox_clock)
    every = groups_of(json.loads(text))["all"]
    assert every["tickets"]["total"] == 2
    assert durations(every, "time_to_triage") == (2, 1.0, 3.0)
    assert every["releases"]["published"] == 1

    code, text = await run_report(
        world, env, sandbox_clock, since=date(2027, 1, 16), fmt="markdown"
    )
    assert "Tickets opened and releases published from" in text


def report_issues(world: Sandbox) -> list[int]:
    repo = world.world.repo_by_name(REPO)
    return sorted(
        n
        for n, it in repo.issues.items()
        if it.pull is None and "lts/report" in [lab.name for lab in it.labels]
    )


async def test_post_files_one_issue_per_week_and_updates_it(
    world: Sandbox, bot: Bot, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    await open_ticket(world, bot, "Crash", "/severity high")
    assert week_of(T0) == "2027-W02"

    code, text = await run_report(world, env, sandbox_clock, fmt="markdown", post=True)
    assert code == 0, text
    (number,) = report_issues(world)
    assert text.endswith(f"report issue #{number}: created\n")
    issue = world.issue(REPO, number)
    assert issue.title == "LTS process report, week 2027-W02"
    assert world.labels_on(REPO, number) == ["lts/report"]
    body = issue.body or ""
    assert body.startswith("<!-- lts-bot:report 2027-W02 -->\n")
    assert f"# LTS process report for {REPO}" in body

    # The same figures: nothing to write.
    code, text = await run_report(world, env, sandbox_clock, post=True)
    assert code == 0, text
    assert text.endswith(f"report issue #{number}: unchanged\n")

    # Later in the same week: the same issue, brought up to date.
    world.advance_clock(hours=1)
    code, text = await run_report(world, env, sandbox_clock, post=True)
    assert code == 0, text
    assert text.endswith(f"report issue #{number}: updated\n")
    assert report_issues(world) == [number]
    assert world.issue(REPO, number).body != body

    # The report is no ticket: not triaged, and not counted in the next report.
    await world.settle(bot)
    assert not any("<!-- lts-bot:status -->" in c.body for c in world.comments_on(REPO, number))
    assert not [lab for lab in world.labels_on(REPO, number) if lab != "lts/report"]
    code, text = await run_report(world, env, sandbox_clock)
    assert groups_of(json.loads(text))["all"]["tickets"]["total"] == 1

    # A new week, a new issue.
    world.advance_clock(days=7)
    code, text = await run_report(world, env, sandbox_clock, fmt="markdown", post=True)
    assert code == 0, text
    first, second = report_issues(world)
    assert first == number
    assert text.endswith(f"report issue #{second}: created\n")
    assert world.issue(REPO, second).title == "LTS process report, week 2027-W03"
    await world.settle(bot)
    assert not any("<!-- lts-bot:status -->" in c.body for c in world.comments_on(REPO, second))


async def test_a_repository_the_app_is_not_installed_on_fails(
    world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    await world.create_repo("other/gadgets", files={"README.md": "hi\n"})

    code, text = await run_report(world, env, sandbox_clock, repo="other/gadgets")

    assert code == 1
    assert text == "lts-bot is not installed on other/gadgets's account; nothing to report\n"


async def test_a_repository_missing_from_the_installation_fails(
    world: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    code, text = await run_report(world, env, sandbox_clock, repo="acme/nothing")

    assert code == 1
    assert text.startswith("cannot read acme/nothing: ")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("repo", ["nope", "a/b/c"])
def test_the_command_line_refuses_a_malformed_repository(
    capsys: pytest.CaptureFixture[str], repo: str
) -> None:
    from bot.__main__ import main

    assert main(["report", "--repo", repo]) == 2
    captured = capsys.readouterr()
    assert f"--repo takes owner/name, got {repo!r}" in captured.err
    assert captured.out == ""


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("since", ["2026-13-01", "yesterday", "2026-02-30"])
def test_the_command_line_refuses_a_malformed_date(
    capsys: pytest.CaptureFixture[str], since: str
) -> None:
    from bot.__main__ import main

    assert main(["report", "--repo", REPO, "--since", since]) == 2
    captured = capsys.readouterr()
    assert f"--since takes a date such as 2026-11-01, got {since!r}" in captured.err
    assert captured.out == ""


@pytest.mark.usefixtures("cli_env")
def test_the_command_line_refuses_an_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["report", "--repo", REPO, "--format", "xml"])
    assert exc.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


async def test_a_pasted_status_marker_does_not_hide_the_record(
    world: Sandbox, bot: Bot, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    # While the service is unreachable, someone pastes the marker before the bot's comment.
    url, world.webhook_url = world.webhook_url, "http://127.0.0.1:9/webhook"
    issue = await world.open_issue(REPO, user="alice", title="Crash", body="it breaks")
    await world.comment(REPO, issue.number, user="alice", body="<!-- lts-bot:status --> me too")
    await world.outbox.join()
    world.webhook_url = url
    await say(world, bot, issue.number, "/severity high\n/affects v1.4\n/check api-change=no")
    world.advance_clock(hours=2)
    await say(world, bot, issue.number, "/triage backport crashes")
    assert "triage/backport" in world.labels_on(REPO, issue.number)

    code, text = await run_report(world, env, sandbox_clock)

    assert code == 0, text
    every = groups_of(json.loads(text))["all"]
    assert every["tickets"]["triaged"] == 1
    assert durations(every, "time_to_triage") == (1, 2.0, 2.0)
