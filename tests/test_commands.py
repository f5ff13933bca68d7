"""Slash-command grammar: parsing, ignored Markdown contexts, edits, help and the reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import (
    COMMANDS,
    MAX_BODY_CHARS,
    VERBS,
    AffectsCommand,
    ApproveCommand,
    AssignCommand,
    BackportCommand,
    CheckCommand,
    Command,
    CommandError,
    FastTrackCommand,
    HelpCommand,
    HoldCommand,
    ParseResult,
    RegressionCommand,
    ReleaseCommand,
    RemoveAffectsCommand,
    RemoveBackportCommand,
    RollbackCommand,
    SecurityCommand,
    SeverityCommand,
    SlaCommand,
    StatusCommand,
    TriageCommand,
    UnassignCommand,
    UnholdCommand,
    Who,
    changed_commands,
    help_text,
    parse_comment,
    render_reference,
    spec_for,
)
from bot.config import RoleName

ROOT = Path(__file__).resolve().parent.parent


def only_command(body: str, **kwargs: Any) -> Command:
    result = parse_comment(body, **kwargs)
    assert result.errors == ()
    assert len(result.commands) == 1, result.commands
    return result.commands[0]


def only_error(body: str) -> CommandError:
    result = parse_comment(body)
    assert result.commands == ()
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def nothing(body: str, **kwargs: Any) -> bool:
    result = parse_comment(body, **kwargs)
    return result.commands == () and result.errors == ()


# --- each verb ---------------------------------------------------------------------------

PARSED: list[tuple[str, Command]] = [
    ("/severity critical", SeverityCommand(line=1, raw="", level="critical")),
    ("/severity HIGH", SeverityCommand(line=1, raw="", level="high")),
    ("/SEVERITY Medium", SeverityCommand(line=1, raw="", level="medium")),
    ("/affects v1.4 1.3", AffectsCommand(line=1, raw="", versions=("1.4", "1.3"))),
    ("/affects v1.4, v1.3,1.2", AffectsCommand(line=1, raw="", versions=("1.4", "1.3", "1.2"))),
    ("/affects V1.10 v1.10 1.10", AffectsCommand(line=1, raw="", versions=("1.10",))),
    ("/remove-affects 1.3", RemoveAffectsCommand(line=1, raw="", versions=("1.3",))),
    ("/triage backport", TriageCommand(line=1, raw="", decision="backport")),
    (
        "/triage Reject  not an   LTS fix",
        TriageCommand(line=1, raw="", decision="reject", reason="not an LTS fix"),
    ),
    ("/backport v1.4 v1.3", BackportCommand(line=1, raw="", versions=("1.4", "1.3"))),
    ("/remove-backport v0.9", RemoveBackportCommand(line=1, raw="", versions=("0.9",))),
    ("/security", SecurityCommand(line=1, raw="")),
    ("/regression", RegressionCommand(line=1, raw="")),
    (
        "/check reproduced=yes exploit=NO workaround=no api-change=yes effort=Large",
        CheckCommand(
            line=1,
            raw="",
            reproduced=True,
            exploit=False,
            workaround=False,
            api_change=True,
            effort="large",
        ),
    ),
    ("/check api_change=no", CheckCommand(line=1, raw="", api_change=False)),
    ("/assign @alice @Bob, @ALICE", AssignCommand(line=1, raw="", users=("alice", "Bob"))),
    ("/unassign @carol-1", UnassignCommand(line=1, raw="", users=("carol-1",))),
    (
        "/sla pause waiting for logs",
        SlaCommand(line=1, raw="", action="pause", reason="waiting for logs"),
    ),
    ("/sla Resume", SlaCommand(line=1, raw="", action="resume")),
    ("/status", StatusCommand(line=1, raw="")),
    ("/help", HelpCommand(line=1, raw="")),
    ("/approve qa", ApproveCommand(line=1, raw="", role="qa")),
    ("/approve Release-Manager", ApproveCommand(line=1, raw="", role="release-manager")),
    ("/approve cancel security", ApproveCommand(line=1, raw="", role="security", cancel=True)),
    ("/approve eng-lead", ApproveCommand(line=1, raw="", role="eng-lead")),
    ("/hold", HoldCommand(line=1, raw="")),
    ("/hold until Monday", HoldCommand(line=1, raw="", reason="until Monday")),
    ("/unhold", UnholdCommand(line=1, raw="")),
    ("/fast-track CVE exploited", FastTrackCommand(line=1, raw="", reason="CVE exploited")),
    ("/release v1.4", ReleaseCommand(line=1, raw="", version="1.4")),
    ("/release 1.4.12", ReleaseCommand(line=1, raw="", version="1.4.12")),
    (
        "/rollback v1.4.2 breaks start-up",
        RollbackCommand(line=1, raw="", version="1.4.2", reason="breaks start-up"),
    ),
]


@pytest.mark.parametrize(("body", "expected"), PARSED, ids=[body for body, _ in PARSED])
def test_each_verb_parses_into_its_typed_command(body: str, expected: Command) -> None:
    command = only_command(body)
    assert type(command) is type(expected)
    assert command == type(expected)(**{**vars(expected), "raw": body})


def test_the_table_covers_every_verb_once() -> None:
    assert len(VERBS) == len(set(VERBS)) == len(COMMANDS)
    assert {type(command).verb for _, command in PARSED} == set(VERBS)


@pytest.mark.parametrize(
    "body",
    [
        "@lts-bot severity high",
        "@LTS-Bot severity high",
        "@lts-bot: severity high",
        "@lts-bot, severity high",
        "@lts-bot /severity high",
        "@lts-bot[bot] severity high",
        "  @lts-bot   severity   high  ",
    ],
)
def test_mentioning_the_app_is_an_alias(body: str) -> None:
    assert only_command(body) == SeverityCommand(line=1, raw=body.strip(), level="high")


def test_the_alias_follows_the_app_slug() -> None:
    assert only_command("@acme-lts status", app_slug="acme-lts") == StatusCommand(
        line=1, raw="@acme-lts status"
    )
    assert nothing("@lts-bot status", app_slug="acme-lts")


@pytest.mark.parametrize(
    "body",
    ["@someone severity high", "@lts-bot", "@lts-bot thanks!", "@lts-bot please release it"],
)
def test_mentions_that_are_not_commands_get_no_reply(body: str) -> None:
    assert nothing(body)


def test_several_commands_in_one_comment_keep_order_and_line_numbers() -> None:
    body = (
        "Thanks for the report.\r\n\r\n/severity high\r\n/affects v1.4\n@lts-bot security\r/status"
    )
    result = parse_comment(body)
    assert result.errors == ()
    assert result.commands == (
        SeverityCommand(line=3, raw="/severity high", level="high"),
        AffectsCommand(line=4, raw="/affects v1.4", versions=("1.4",)),
        SecurityCommand(line=5, raw="@lts-bot security"),
        StatusCommand(line=6, raw="/status"),
    )
    assert result.chars_read == len(body)


def test_errors_and_commands_are_reported_side_by_side() -> None:
    result = parse_comment("/severity hihg\n/affects v1.4\n/sevrity low")
    assert result.commands == (AffectsCommand(line=2, raw="/affects v1.4", versions=("1.4",)),)
    assert [(error.line, error.raw, error.verb) for error in result.errors] == [
        (1, "/severity hihg", "severity"),
        (3, "/sevrity low", None),
    ]


def test_at_most_max_commands_are_read_and_the_rest_is_refused_once() -> None:
    body = "\n".join(f"/hold {n}" for n in range(30))
    result = parse_comment(body, max_commands=5)
    assert [command.line for command in result.commands] == [1, 2, 3, 4, 5]
    assert result.errors == (
        CommandError(
            6,
            "/hold 5",
            "too many commands in one comment: only the first 5 are read; "
            "post the rest in another comment",
        ),
    )
    assert len(parse_comment(body).commands) == 20


# --- errors ------------------------------------------------------------------------------

SEVERITIES = "critical, high, medium, low"
SEVERITY_USAGE = "usage: /severity critical|high|medium|low"
APPROVE_USAGE = "usage: /approve [cancel] qa|release-manager|security|eng-lead"
ERRORS = [
    ("/severity hihg", 'unknown severity "hihg"; use one of: critical, high, medium, low'),
    ("/severity", f"/severity needs a severity; {SEVERITY_USAGE}"),
    ("/severity high low", f'unexpected "low"; {SEVERITY_USAGE}'),
    ("/severity " + "x" * 50, f'unknown severity "{"x" * 39}…"; use one of: {SEVERITIES}'),
    ("/sevrity high", 'unknown command "/sevrity"; did you mean /severity?'),
    ("/Sevrity high", 'unknown command "/Sevrity"; did you mean /severity?'),
    ("/stat", 'unknown command "/stat"; did you mean /status?'),
    ("/fast_track now", 'unknown command "/fast_track"; did you mean /fast-track?'),
    ("/unasign @a", 'unknown command "/unasign"; did you mean /unassign?'),
    ("/affects", "/affects needs at least one version; usage: /affects vX.Y [vX.Y ...]"),
    ("/affects 1.x", '"1.x" is not a version; write a line such as v1.4'),
    ("/affects v01.4", '"v01.4" is not a version; write a line such as v1.4'),
    ("/backport v1.4.2", '"v1.4.2" is a release; name its line: v1.4'),
    (
        "/backport " + " ".join(f"1.{n}" for n in range(21)),
        "too many versions (21); give at most 20",
    ),
    ("/triage", "/triage needs a decision; usage: /triage backport|defer|reject [reason]"),
    ("/triage rejct", 'unknown decision "rejct"; use one of: backport, defer, reject'),
    ("/security now", '/security takes no arguments, got "now"; write just "/security"'),
    ("/regression x", '/regression takes no arguments, got "x"; write just "/regression"'),
    ("/status please", '/status takes no arguments, got "please"; write just "/status"'),
    ("/help me", '/help takes no arguments, got "me"; write just "/help"'),
    ("/unhold now", '/unhold takes no arguments, got "now"; write just "/unhold"'),
    ("/check", "/check needs at least one answer; usage: /check key=value ..."),
    (
        "/check reproducd=yes",
        'unknown checklist item "reproducd"; '
        "use one of: reproduced, exploit, workaround, api-change, effort",
    ),
    ("/check reproduced", "reproduced needs a value; write reproduced=yes|no"),
    ("/check effort=", "effort needs a value; write effort=small|medium|large"),
    ("/check exploit=maybe", 'unknown answer "maybe" for exploit; use one of: yes, no'),
    ("/check effort=huge", 'unknown effort "huge"; use one of: small, medium, large'),
    ("/check exploit=yes exploit=no", "exploit is given twice; give each answer once"),
    ("/check effort=small Effort=large", "effort is given twice; give each answer once"),
    ("/assign", "/assign needs at least one user; usage: /assign @user [@user ...]"),
    ("/assign alice", '"alice" is not a mention; write @alice'),
    ("/assign to @alice", '"to" is not a mention; write @to'),
    ("/assign @acme/team", '"@acme/team" is a team; /assign takes users, such as @octocat'),
    ("/unassign @-bad", '"@-bad" is not a GitHub user; write @login'),
    ("/sla", "/sla needs pause or resume; usage: /sla pause <reason> | resume"),
    ("/sla stop", 'unknown sla action "stop"; use one of: pause, resume'),
    ("/sla pause", "/sla pause needs a reason; usage: /sla pause <reason> | resume"),
    ("/sla resume now", '/sla resume takes no arguments, got "now"; write just "/sla resume"'),
    ("/approve", f"/approve needs a role; {APPROVE_USAGE}"),
    ("/approve cancel", f"/approve cancel needs a role; {APPROVE_USAGE}"),
    ("/approve qe", 'unknown role "qe"; use one of: qa, release-manager, security, eng-lead'),
    (
        "/approve reviewer",
        'unknown role "reviewer"; use one of: qa, release-manager, security, eng-lead',
    ),
    ("/approve qa security", f'unexpected "security"; {APPROVE_USAGE}'),
    ("/approve cancel qa now", f'unexpected "now"; {APPROVE_USAGE}'),
    ("/fast-track", "/fast-track needs a reason; usage: /fast-track <reason>"),
    ("/release", "/release needs a version; usage: /release vX.Y[.Z]"),
    ("/release v1", '"v1" is not a release version; write v1.4 (the line) or v1.4.2'),
    ("/release v1.4 now", 'unexpected "now"; usage: /release vX.Y[.Z]'),
    ("/rollback", "/rollback needs a version and a reason; usage: /rollback vX.Y.Z <reason>"),
    ("/rollback v1.4 bad", '"v1.4" is not a release version; write a release such as v1.4.2'),
    ("/rollback v1.4.2", "/rollback needs a reason; usage: /rollback vX.Y.Z <reason>"),
]


@pytest.mark.parametrize(("body", "message"), ERRORS, ids=[body[:40] for body, _ in ERRORS])
def test_a_failed_command_says_what_is_wrong_and_what_works(body: str, message: str) -> None:
    error = only_error(body)
    assert error.message == message
    assert (error.line, error.raw) == (1, body)


def test_errors_name_the_known_verb_for_the_caller() -> None:
    assert only_error("@lts-bot severity hihg").verb == "severity"
    assert only_error("/sevrity").verb is None


# --- where commands are and are not read ---------------------------------------------------

IGNORED = [
    "```\n/severity high\n```",
    "~~~\n/severity high\n~~~",
    "```python title\n/severity high\n```",
    "````\n```\n/severity high\n````",
    "~~~\n```\n/severity high\n```\n/severity low\n~~~",
    "```\n/severity high",
    "Some text\n```\n/severity high\n```",
    "  ```\n/severity high\n   ```",
    "    /severity high",
    "\t/severity high",
    "text\n\n    /severity high\n\n    /affects v1.4",
    "text\n    /severity high",
    "> /severity high",
    ">/severity high",
    "> > /severity high",
    "   > /severity high",
    "> Can you set it?\n/severity high",
    "> a\n> > b\n/severity high\n/affects v1.4",
    "> a\n    /severity high",
    "<!-- /severity high -->",
    "<!--\n/severity high\n-->",
    "<!--\n\n/severity high\n\n-->",
    "<!-- note\n/severity high",
    "text <!--\n/severity high\n-->",
    "<pre>\n/severity high\n</pre>",
    "`/severity high`",
    "Run `foo\n/severity high\nbar` now",
    "Run ``a ` b\n/severity high``",
    "/etc/hosts",
    "/path/to/file",
    "/usr/bin/env python",
    "/tmp",
    "/ severity high",
    "//severity high",
    "/severity/high",
    "/severity: high",
    "https://example.com/severity high",
    "see /severity high",
    "- /severity high",
    "# /severity high",
    "1. /severity high",
    "\\/severity high",
    "/ñ",
]


@pytest.mark.parametrize("body", IGNORED)
def test_lines_that_are_not_commands_are_ignored_silently(body: str) -> None:
    assert nothing(body)


READ = [
    ("```\ncode\n```\n/severity high", 4),
    ("~~~\n```\n~~~\n/severity high", 4),
    ("```\n  ```  \n/severity high", 3),
    ("> quote\n\n/severity high", 3),
    ("> ```\n/severity high", 2),
    ("> quote\n# Heading\n/severity high", 3),
    ("<!-- note -->\n/severity high", 2),
    ("<!--\nnote\n-->\n/severity high", 4),
    ("   /severity high", 1),
    ("Please triage.\n/severity high", 2),
    ("- item\n/severity high", 2),
    ("`code` here\n/severity high", 2),
    ("a `b\n\n/severity high\nc`", 3),
    ("a <!-- never closed\n\n/severity high", 3),
    ("    code\n/severity high", 2),
    ("<pre>x</pre>\n/severity high", 2),
]


@pytest.mark.parametrize(("body", "line"), READ)
def test_commands_around_ignored_blocks_are_read(body: str, line: int) -> None:
    assert only_command(body) == SeverityCommand(line=line, raw="/severity high", level="high")


def test_comments_inside_a_command_line_are_not_arguments() -> None:
    assert only_command("/severity high <!-- was medium -->") == SeverityCommand(
        line=1, raw="/severity high <!-- was medium -->", level="high"
    )
    command = only_command("/hold wait <!-- internal\nnote --> for QA")
    assert command == HoldCommand(line=1, raw="/hold wait <!-- internal", reason="wait")


def test_inline_code_in_a_reason_is_kept_as_written() -> None:
    command = only_command("/triage reject see `foo()`")
    assert isinstance(command, TriageCommand)
    assert command.reason == "see `foo()`"


# --- edited comments -----------------------------------------------------------------------


def items(result: ParseResult) -> list[Command | CommandError]:
    return [*result.commands, *result.errors]


def lines_of(result: ParseResult) -> list[str]:
    return [item.raw for item in items(result)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("/severity high", "/severity high\n/affects v1.4", ["/affects v1.4"]),
        ("/severity high", "/severity low", ["/severity low"]),
        ("/severity high\n/severity high", "/severity high\n/severity high", []),
        ("/severity high", "/severity high\n\n/severity high", ["/severity high"]),
        ("/severity high\ntext", "text edited\n/severity high", []),
        ("/severity high", "  /severity high  ", []),
        ("```\n/severity high\n```", "/severity high", ["/severity high"]),
        ("/sevrity high\nfoo", "/sevrity high\nbar", []),
        ("/sevrity high", "/severity high", ["/severity high"]),
        ("", "/status", ["/status"]),
        ("/status", "", []),
    ],
)
def test_an_edit_reruns_only_new_or_changed_command_lines(
    old: str, new: str, expected: list[str]
) -> None:
    assert lines_of(changed_commands(old, new)) == expected


def test_an_edit_applies_the_command_limit_to_the_changed_lines() -> None:
    old = "\n".join(f"/hold {n}" for n in range(20))
    new = old + "\n" + "\n".join(f"/hold new {n}" for n in range(3))
    result = changed_commands(old, new, max_commands=2)
    assert lines_of(result)[:2] == ["/hold new 0", "/hold new 1"]
    assert result.errors[0].message.startswith("too many commands")


# --- roles, help and the reference ---------------------------------------------------------


def test_the_roles_are_those_of_the_configuration() -> None:
    assert set(get_args(Who)) == {"anyone", "author", *get_args(RoleName)}
    for spec in COMMANDS:
        assert spec.roles
        assert set(spec.roles) <= set(get_args(Who))


@pytest.mark.parametrize(
    ("verb", "roles"),
    [
        ("severity", ("triage",)),
        ("check", ("triage",)),
        ("sla", ("triage",)),
        ("status", ("anyone",)),
        ("help", ("anyone",)),
        ("approve", ("qa", "release-manager", "security", "eng-lead")),
        ("hold", ("triage", "reviewer", "qa", "release-manager", "security", "eng-lead")),
        ("unhold", ("triage", "reviewer", "qa", "release-manager", "security", "eng-lead")),
        ("fast-track", ("eng-lead",)),
        ("release", ("release-manager",)),
        ("rollback", ("release-manager",)),
    ],
)
def test_each_spec_carries_who_may_run_it(verb: str, roles: tuple[str, ...]) -> None:
    spec = spec_for(verb.upper())
    assert spec is not None
    assert spec.roles == roles


def test_approving_takes_the_role_named_in_the_command() -> None:
    assert only_command("/approve cancel security").roles == ("security",)
    assert only_command("/severity low").roles == ("triage",)
    assert spec_for("approve") is not None
    assert spec_for("nope") is None


def help_verbs(text: str) -> list[str]:
    return [line.split("`")[1].split()[0][1:] for line in text.splitlines() if line.startswith("-")]


def test_help_lists_every_command_one_line_each() -> None:
    text = help_text(None)
    assert help_verbs(text) == list(VERBS)
    assert "- `/severity critical|high|medium|low`: Set the issue's severity" in text


@pytest.mark.parametrize(
    ("roles", "verbs"),
    [
        (set(), ["status", "help"]),
        ({"author"}, ["status", "help"]),
        ({"qa"}, ["status", "help", "approve", "hold", "unhold"]),
        (
            {"release-manager"},
            ["status", "help", "approve", "hold", "unhold", "release", "rollback"],
        ),
        ({"eng-lead"}, ["status", "help", "approve", "hold", "unhold", "fast-track"]),
        (
            {"triage"},
            [*VERBS[: VERBS.index("status")], "status", "help", "hold", "unhold"],
        ),
    ],
)
def test_help_shows_only_what_the_caller_may_run(roles: set[str], verbs: list[str]) -> None:
    assert help_verbs(help_text(roles)) == verbs


def test_every_documented_example_parses_as_its_own_command() -> None:
    for spec in COMMANDS:
        assert type(only_command(spec.example)).verb == spec.verb


def test_docs_commands_md_matches_the_table() -> None:
    committed = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert committed == render_reference(), (
        "docs/commands.md is stale: run `python -m bot.commands > docs/commands.md`"
    )


def test_running_the_module_prints_the_reference() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot.commands"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout == render_reference()


def test_the_reference_table_escapes_pipes_and_names_every_verb() -> None:
    reference = render_reference()
    assert "`critical\\|high\\|medium\\|low`" in reference
    for verb in VERBS:
        assert f"| `/{verb}` |" in reference


# --- properties and bounds -----------------------------------------------------------------

COMMAND_LINES = [spec.example for spec in COMMANDS] + [
    "/sevrity high",
    "/severity hihg",
    "@lts-bot severity low",
    "   /status",
]
command_line = st.sampled_from(COMMAND_LINES)
# Text that cannot close a fence or comment it is wrapped in, and cannot break a line.
plain_line = st.text(st.characters(codec="utf-8", exclude_characters="\r\n`~"), max_size=30).filter(
    lambda text: "-->" not in text
)
content = st.lists(st.one_of(command_line, plain_line), min_size=1, max_size=8)

MARKDOWN_BITS = [
    "/", "`", "```", "~~~", "\n", "\r\n", " ", "    ", "\t", "> ", ">", "<!--", "-->", "\\",
    "@lts-bot ", "severity", " high", " v1.4", "/severity high", "/sevrity", "- ", "# ",
    "<pre>", "</pre>", "x", "=", ",", "@",
]  # fmt: skip
markdownish = st.lists(
    st.one_of(st.sampled_from(MARKDOWN_BITS), st.text(max_size=4)), max_size=60
).map("".join)


def body_lines(body: str) -> list[str]:
    return body.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@settings(max_examples=300, deadline=None)
@given(markdownish)
def test_arbitrary_text_never_raises_and_reports_real_lines(body: str) -> None:
    result = parse_comment(body)
    lines = body_lines(body)
    for item in items(result):
        assert 1 <= item.line <= len(lines)
        assert item.raw == lines[item.line - 1].strip()
    for command in result.commands:
        assert command.raw[:1] in ("/", "@")
    assert len(result.commands) + len(result.errors) <= 21
    assert changed_commands(body, body) == ParseResult(chars_read=len(body))
    assert changed_commands("", body) == result


@settings(deadline=None)
@given(st.text(max_size=200))
def test_any_unicode_text_never_raises(body: str) -> None:
    parse_comment(body)


@settings(deadline=None)
@given(
    st.sampled_from([("```", "```"), ("````", "````"), ("~~~", "~~~"), ("```c++ x", "   ```")]),
    content,
    st.booleans(),
    st.booleans(),
)
def test_nothing_inside_a_fenced_block_is_a_command(
    fence: tuple[str, str], lines: list[str], closed: bool, prose_before: bool
) -> None:
    opener, closer = fence
    before = ["Some prose"] if prose_before else []
    body = "\n".join([*before, opener, *lines, *([closer, "/status"] if closed else [])])
    result = parse_comment(body)
    assert result.errors == ()
    expected = (StatusCommand(line=len(body_lines(body)), raw="/status"),) if closed else ()
    assert result.commands == expected


@settings(deadline=None)
@given(st.sampled_from([">", "> ", "  > ", "> > ", ">>"]), content, st.booleans())
def test_nothing_inside_a_block_quote_is_a_command(
    marker: str, lines: list[str], lazy: bool
) -> None:
    quoted = [marker + line for line in lines]
    if lazy:
        # An unmarked line right after quoted text continues the quote.
        quoted = [f"{marker}quoted text", "/severity high", *quoted]
    body = "\n".join([*quoted, "", "/status"])
    assert parse_comment(body).commands == (
        StatusCommand(line=len(body_lines(body)), raw="/status"),
    )


@settings(deadline=None)
@given(content, st.booleans())
def test_nothing_inside_an_html_comment_is_a_command(lines: list[str], inline: bool) -> None:
    opener = "<!--"
    if inline:
        # A comment inside a paragraph ends with it, at a blank line or a heading.
        opener = "Note <!--"
        lines = [line if line in COMMAND_LINES else f"x{line}" for line in lines]
    body = "\n".join([opener, *lines, "-->", "/status"])
    assert parse_comment(body).commands == (
        StatusCommand(line=len(body_lines(body)), raw="/status"),
    )


@settings(deadline=None)
@given(content)
def test_nothing_in_an_indented_code_block_is_a_command(lines: list[str]) -> None:
    body = "\n".join(["Prose.", "", *("    " + line for line in lines), "", "/status"])
    assert parse_comment(body).commands == (
        StatusCommand(line=len(body_lines(body)), raw="/status"),
    )


@pytest.mark.parametrize(
    "body",
    [
        "/`" * 500_000,
        ("/`" * 40 + "\n") * 12_500,
        "`" * 1_000_000,
        "```\n" * 250_000,
        "<!--" * 250_000,
        ("/severity `hi\n" + "<!-- /x\n") * 50_000,
        "> " * 500_000,
        "\\`" * 500_000,
        "".join("`" * n + "x" for n in range(1, 1400)),
    ],
    ids=["slashes", "slash-lines", "backticks", "fences", "comments", "mixed", "quotes",
         "escapes", "runs"],
)  # fmt: skip
def test_oversized_bodies_are_read_only_up_to_the_limit(body: str) -> None:
    assert len(body) > MAX_BODY_CHARS
    result = parse_comment(body)
    assert result.chars_read <= MAX_BODY_CHARS
    assert len(result.commands) + len(result.errors) <= 21


def test_commands_past_the_limit_are_not_read() -> None:
    assert nothing("x\n" * MAX_BODY_CHARS + "/severity high")


def test_a_line_cut_by_the_limit_is_dropped_rather_than_misread() -> None:
    whole = "a" * (MAX_BODY_CHARS - 16) + "\n/release v1.4.1"
    assert len(whole) == MAX_BODY_CHARS
    assert only_command(whole) == ReleaseCommand(line=2, raw="/release v1.4.1", version="1.4.1")
    # One more character would make it "v1.4.12"; what fits is not read as "v1.4.1".
    assert parse_comment(whole + "2") == ParseResult(chars_read=MAX_BODY_CHARS - 15)
