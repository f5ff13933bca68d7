"""Intake and triage end to end: the real service, the sandbox GitHub, real webhooks."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox import Sandbox
from bot.service import Bot
from bot.state import MARKER, parse

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
  - {version: "1.3", eol: 2099-12-31, phase: security-only}
"""
FULL_BODY = """\
### Description

The parser crashes on an empty file.

### Steps to reproduce

1. touch empty.cfg
2. widgets --config empty.cfg

### Logs or traceback

```
Traceback (most recent call last):
ValueError: empty
```

### Affected versions

1.4.2

### Python version

3.11.7

### Package versions

widgets==1.4.2

### Environment

Debian 12

### Severity

high
"""
NEEDS_INFO = "<!-- lts-bot:needs-info -->"


@pytest.fixture
async def repo(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """acme/widgets with a policy, the App installed, and its people."""
    await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG})
    for login, role in (("tina", "triage"), ("mallory", "read"), ("maya", "maintain")):
        sandbox.add_user(login)
        sandbox.set_permission(REPO, login, role)
    sandbox.install([REPO])
    await sandbox.settle(bot)
    return sandbox


def bot_comments(sandbox: Sandbox, number: int, marker: str) -> list[str]:
    return [
        c.body
        for c in sandbox.comments_on(REPO, number)
        if c.user.login == "lts-bot[bot]" and c.body.startswith(marker)
    ]


def human_replies(sandbox: Sandbox, number: int) -> list[str]:
    return [
        c.body
        for c in sandbox.comments_on(REPO, number)
        if c.user.login == "lts-bot[bot]" and not c.body.startswith(("<!-- lts-bot:",))
    ]


def state_of(sandbox: Sandbox, bot: Bot, number: int):  # type: ignore[no-untyped-def]
    (body,) = bot_comments(sandbox, number, MARKER)
    parsed = parse(body, bot.services.state_key, number=number)
    assert parsed.problem is None
    return parsed.state


async def open_issue(sandbox: Sandbox, bot: Bot, body: str = FULL_BODY, **kw: object) -> int:
    issue = await sandbox.open_issue(
        REPO, user="alice", title=str(kw.get("title", "Crash on empty config")), body=body
    )
    await sandbox.settle(bot)
    return issue.number


async def say(sandbox: Sandbox, bot: Bot, number: int, who: str, body: str) -> int:
    comment = await sandbox.comment(REPO, number, user=who, body=body)
    await sandbox.settle(bot)
    return comment.id


async def test_a_complete_report_gets_a_status_comment_and_no_needs_info(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)

    assert "needs-info" not in repo.labels_on(REPO, number)
    assert bot_comments(repo, number, NEEDS_INFO) == []
    state = state_of(repo, bot, number)
    assert state.affects == ("1.4",)
    assert state.python_versions == ("3.11.7",)


async def test_missing_fields_are_listed_once_and_cleared_when_the_author_fills_them_in(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot, body="### Description\n\nIt crashes.\n")

    assert "needs-info" in repo.labels_on(REPO, number)
    (comment,) = bot_comments(repo, number, NEEDS_INFO)
    for field in ("Steps to reproduce", "Logs or traceback", "Python version"):
        assert field in comment

    await repo.edit_issue(REPO, number, user="alice", body=FULL_BODY)
    await repo.settle(bot)

    assert "needs-info" not in repo.labels_on(REPO, number)
    (updated,) = bot_comments(repo, number, NEEDS_INFO)
    assert updated != comment
    assert len(bot_comments(repo, number, MARKER)) == 1


async def test_a_cve_marks_the_ticket_security_and_is_recorded(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot, body=FULL_BODY + "\n### CVE ID\n\nCVE-2026-12345\n")

    assert "security" in repo.labels_on(REPO, number)
    assert state_of(repo, bot, number).cve == ("CVE-2026-12345",)


async def test_a_triager_sets_severity_and_lines_with_one_comment(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)

    comment = await say(repo, bot, number, "tina", "/severity high\n/affects v1.4 v1.3")

    labels = repo.labels_on(REPO, number)
    assert {"severity/high", "affects/v1.4", "affects/v1.3"} <= set(labels)
    state = state_of(repo, bot, number)
    assert state.severity == "high"
    assert [e.actor for e in state.audit[-2:]] == ["tina", "tina"]
    reactions = [
        r.content for c in repo.comments_on(REPO, number) if c.id == comment for r in c.reactions
    ]
    assert reactions == ["+1"]
    assert human_replies(repo, number) == []
    assert len(bot_comments(repo, number, MARKER)) == 1


async def test_someone_without_the_role_is_refused_with_the_reason(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)

    await say(repo, bot, number, "mallory", "/severity critical")

    assert not any(label.startswith("severity/") for label in repo.labels_on(REPO, number))
    (reply,) = human_replies(repo, number)
    assert "only the triage role" in reply


async def test_a_typo_gets_did_you_mean_and_code_blocks_are_ignored(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)

    await say(repo, bot, number, "tina", "```\n/severity low\n```\n> /severity medium\n")
    assert human_replies(repo, number) == []
    assert not any(label.startswith("severity/") for label in repo.labels_on(REPO, number))

    await say(repo, bot, number, "tina", "/sevrity high")
    (reply,) = human_replies(repo, number)
    assert "did you mean /severity" in reply


async def test_a_hand_set_label_is_reverted_without_the_role_and_kept_with_it(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)

    await repo.add_labels(REPO, number, ["severity/critical"], user="mallory")
    await repo.settle(bot)
    assert "severity/critical" not in repo.labels_on(REPO, number)
    assert any("severity/critical" in reply for reply in human_replies(repo, number))

    await repo.add_labels(REPO, number, ["severity/low"], user="tina")
    await repo.settle(bot)
    assert "severity/low" in repo.labels_on(REPO, number)
    assert state_of(repo, bot, number).severity == "low"


async def test_eligibility_rules_refuse_a_bug_fix_on_a_security_only_line(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)
    await say(
        repo,
        bot,
        number,
        "tina",
        "/severity high\n/affects v1.4\n/check api-change=no\n/triage backport",
    )

    await say(repo, bot, number, "tina", "/backport v1.3")

    assert "triage/backport" in repo.labels_on(REPO, number)
    assert "backport/v1.3" not in repo.labels_on(REPO, number)
    (reply,) = human_replies(repo, number)
    assert "security-only" in reply

    await say(repo, bot, number, "tina", "/backport v1.4")
    assert "backport/v1.4" in repo.labels_on(REPO, number)
    (status,) = bot_comments(repo, number, MARKER)
    assert "lts/v1.4/issue-" in status


async def test_two_comments_at_once_lose_no_update(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)

    await asyncio.gather(
        repo.comment(REPO, number, user="tina", body="/severity medium"),
        repo.comment(REPO, number, user="tina", body="/regression"),
    )
    await repo.settle(bot)

    state = state_of(repo, bot, number)
    assert state.severity == "medium"
    assert state.regression


async def test_an_edited_status_comment_is_restored_and_the_edit_recorded(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)
    await say(repo, bot, number, "tina", "/severity high")
    status = next(c for c in repo.comments_on(REPO, number) if c.body.startswith(MARKER))

    await repo.edit_comment(
        REPO, status.id, user="maya", body=MARKER + "\nall fine, nothing to see"
    )
    await repo.settle(bot)

    state = state_of(repo, bot, number)
    assert state.severity == "high"
    assert state.audit[-1].action == "status comment edited"
    assert state.audit[-1].actor == "maya"


async def test_help_lists_the_commands_the_caller_may_run(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)

    await say(repo, bot, number, "mallory", "/help")

    (reply,) = human_replies(repo, number)
    assert "/status" in reply
    assert "/severity" not in reply


async def test_another_bots_comment_never_runs_a_command(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)
    repo.add_user("ci-helper[bot]")
    repo.set_permission(REPO, "ci-helper[bot]", "admin")

    await say(repo, bot, number, "ci-helper[bot]", "/severity critical")

    assert not any(label.startswith("severity/") for label in repo.labels_on(REPO, number))
    assert human_replies(repo, number) == []


async def test_an_edited_comment_runs_only_its_new_command_lines(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)
    comment = await say(repo, bot, number, "tina", "/severity high")
    await say(repo, bot, number, "tina", "/severity low")

    await repo.edit_comment(REPO, comment, user="tina", body="/severity high\n/regression")
    await repo.settle(bot)

    state = state_of(repo, bot, number)
    # The unchanged /severity high line is not run again: low (set later) stays.
    assert state.severity == "low"
    assert state.regression


async def test_an_sla_pause_is_labelled_shown_and_resumed(repo: Sandbox, bot: Bot) -> None:
    number = await open_issue(repo, bot)

    await say(repo, bot, number, "tina", "/sla pause waiting for the reporter's logs")
    assert "sla/paused" in repo.labels_on(REPO, number)
    assert state_of(repo, bot, number).paused

    await say(repo, bot, number, "tina", "/sla resume")
    assert "sla/paused" not in repo.labels_on(REPO, number)
    (pause,) = state_of(repo, bot, number).pauses
    assert pause.reason == "waiting for the reporter's logs"
    assert pause.end is not None


async def test_a_forged_state_block_is_detected_and_the_state_rebuilt_from_labels(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)
    await say(repo, bot, number, "tina", "/severity high\n/affects v1.4")
    status = next(c for c in repo.comments_on(REPO, number) if c.body.startswith(MARKER))
    # Changed behind the bot's back (no webhook): e.g. while the service was down.
    status.body = status.body.replace("lts-bot:state v1 ", "lts-bot:state v1 eyJ2IjoxfQ")

    await say(repo, bot, number, "tina", "/regression")

    state = state_of(repo, bot, number)
    assert state.severity == "high"
    assert state.affects == ("1.4",)
    assert state.regression
    assert any(entry.action == "status comment rebuilt" for entry in state.audit)


async def test_a_redelivery_after_a_late_failure_does_not_answer_twice(
    repo: Sandbox, bot: Bot
) -> None:
    number = await open_issue(repo, bot)
    # The reply goes out, then assigning fails through every retry: the delivery is
    # reported failed.
    fault = repo.fail_next("POST", r"/assignees$", 502, times=5)
    comment = await repo.comment(REPO, number, user="tina", body="/severity urgent\n/assign @tina")
    await repo.settle(bot)
    assert fault.hits == 5
    assert bot.services.metrics.deliveries.value("issue_comment", "failed") == 1
    assert len(human_replies(repo, number)) == 1
    delivery = next(
        d
        for d in repo.deliveries_of("issue_comment", "created")
        if d.payload["comment"]["id"] == comment.id
    )

    repo.redeliver(delivery.guid)
    await repo.settle(bot)

    assert len(human_replies(repo, number)) == 1
    assert [a.login for a in repo.issue(REPO, number).assignees] == ["tina"]
