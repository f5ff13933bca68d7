"""Parsing and validating `.github/lts.yml`, its error messages, schema and CLI helpers."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import (
    CONFIG_PATH,
    DEFAULT_CONFIG,
    DEFAULT_REQUIRED_FIELDS,
    FORM_KINDS,
    INTAKE_FIELDS,
    MAX_CONFIG_BYTES,
    ConfigError,
    ConfigProblem,
    Duration,
    KeywordRules,
    LineConfig,
    Phase,
    RepoConfig,
    Role,
    check_config_file,
    config_from_text,
    config_json_schema,
    parse_repo_config,
    print_config_schema,
)

ROOT = Path(__file__).resolve().parent.parent

FULL = """\
lines:                      # supported LTS lines -> branches release-lts/v1.4, ...
  - {version: "1.4", eol: 2027-06-30, phase: maintenance}
  - {version: "1.3", eol: 2026-12-31, phase: security-only}
roles:
  triage: ["@acme/triage"]
  reviewer: []
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  security: ["@acme/security"]
  eng-lead: ["@acme/leads", "octocat"]
sla:
  timezone: Europe/Berlin
  holidays: [2025-12-25, "2026-01-01"]
  triage: {critical: 4h, high: 24h, medium: 3bd, low: 5bd}
  plan: 2bd
checks:
  required: ["ci / test"]
"""


def rendered(text: str | bytes) -> str:
    with pytest.raises(ConfigError) as info:
        parse_repo_config(text)
    return info.value.render()


# --- valid files -------------------------------------------------------------------------


def test_full_file_gives_every_value() -> None:
    config = parse_repo_config(FULL)

    assert [(line.version, line.eol, line.phase) for line in config.lines] == [
        ("1.4", date(2027, 6, 30), Phase.MAINTENANCE),
        ("1.3", date(2026, 12, 31), Phase.SECURITY_ONLY),
    ]
    assert config.roles.triage == (Role(org="acme", team="triage"),)
    assert config.roles.reviewer == ()
    assert config.roles.release_manager == (Role(org="acme", team="release"),)
    assert config.roles.members("eng-lead") == (
        Role(org="acme", team="leads"),
        Role(login="octocat"),
    )
    assert config.sla.timezone == "Europe/Berlin"
    assert config.sla.tz.key == "Europe/Berlin"
    assert config.sla.holidays == (date(2025, 12, 25), date(2026, 1, 1))
    assert config.sla.triage.critical == Duration(4, "h")
    assert config.sla.triage.low == Duration(5, "bd")
    assert config.sla.plan == Duration(2, "bd")
    assert config.checks.required == ("ci / test",)


def test_lines_know_their_branch_and_label_and_are_found_by_either() -> None:
    config = parse_repo_config(FULL)
    line = config.line("1.4")

    assert line is not None
    assert (line.branch, line.label) == ("release-lts/v1.4", "v1.4")
    assert config.line("v1.3") == config.lines[1]
    assert config.line("1.2") is None
    assert config.line_for_branch("release-lts/v1.3") == config.lines[1]
    assert config.line_for_branch("refs/heads/release-lts/v1.4") == line
    assert config.line_for_branch("main") is None
    assert config.line_for_branch("release-lts/v9.9") is None


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n", "---\n", "~\n", b"", "\ufeff# bom\n"]
)
def test_empty_file_means_defaults(text: str | bytes) -> None:
    assert parse_repo_config(text) == RepoConfig() == DEFAULT_CONFIG


def test_defaults_are_the_documented_ones() -> None:
    config = RepoConfig()

    assert config.lines == ()
    assert config.roles.members("qa") == ()
    assert config.sla.timezone == "UTC"
    assert config.sla.holidays == ()
    assert [str(d) for d in (config.sla.triage.critical, config.sla.triage.high)] == ["4h", "24h"]
    assert [str(d) for d in (config.sla.triage.medium, config.sla.triage.low)] == ["3bd", "3bd"]
    assert str(config.sla.plan) == "3bd"
    assert config.checks.required == ()


def test_intake_defaults_are_no_keywords_and_the_built_in_required_fields() -> None:
    intake = RepoConfig().intake

    assert dict(intake.keywords) == {}
    assert {kind: intake.required.for_kind(kind) for kind in FORM_KINDS} == (
        DEFAULT_REQUIRED_FIELDS
    )
    assert set(DEFAULT_REQUIRED_FIELDS["bug"]) <= set(INTAKE_FIELDS)


def test_intake_section_gives_keyword_rules_and_required_fields() -> None:
    config = parse_repo_config(
        "intake:\n"
        "  keywords:\n"
        '    data-loss: ["data   loss", corrupt]\n'
        "    security: [exploit]\n"
        "  required:\n"
        "    bug: [description, reproduction, description]\n"
        "    backport: []\n"
    )
    intake = config.intake

    assert list(intake.keywords.items()) == [
        ("data-loss", ("data loss", "corrupt")),
        ("security", ("exploit",)),
    ]
    assert intake.required.for_kind("bug") == ("description", "reproduction")
    assert intake.required.for_kind("backport") == ()
    assert intake.required.for_kind("security") == DEFAULT_REQUIRED_FIELDS["security"]
    assert config == RepoConfig.model_validate(
        {
            "intake": {
                "keywords": {"data-loss": ["data loss", "corrupt"], "security": ["exploit"]},
                "required": {"bug": ["description", "reproduction"], "backport": []},
            }
        }
    )


def test_keyword_rules_are_hashable_and_compare_by_content() -> None:
    first = RepoConfig.model_validate({"intake": {"keywords": {"a": ["x"], "b": ["y"]}}})
    second = RepoConfig.model_validate({"intake": {"keywords": {"b": ["y"], "a": ["x"]}}})

    assert first == second
    assert hash(first) == hash(second)
    assert first.intake.keywords == KeywordRules({"a": ["x"], "b": ["y"]})
    assert first.model_dump()["intake"]["keywords"] == {"a": ("x",), "b": ("y",)}


def test_a_key_with_nothing_after_it_means_its_default() -> None:
    config = parse_repo_config("lines:\nroles:\n  qa:\nsla:\n  triage:\nchecks:\n  required:\n")
    assert config == RepoConfig()
    assert parse_repo_config("intake:\n  keywords:\n  required:\n    bug:\n") == RepoConfig()


def test_partial_sections_keep_the_other_defaults() -> None:
    config = parse_repo_config("sla:\n  triage:\n    high: 8h\n")
    assert config.sla.triage.high == Duration(8, "h")
    assert config.sla.triage.critical == Duration(4, "h")
    assert config.sla.plan == Duration(3, "bd")


def test_anchors_and_aliases_are_allowed() -> None:
    config = parse_repo_config('roles:\n  qa: &leads ["@acme/leads"]\n  eng-lead: *leads\n')
    assert config.roles.qa == config.roles.eng_lead == (Role(org="acme", team="leads"),)


def test_models_are_frozen() -> None:
    config = parse_repo_config(FULL)
    with pytest.raises(pydantic.ValidationError):
        config.lines[0].version = "2.0"  # type: ignore[misc]
    assert hash(config) == hash(parse_repo_config(FULL))


def test_models_accept_python_names_and_reject_duplicate_versions() -> None:
    line = LineConfig(version="1.4", eol=date(2027, 6, 30))
    assert RepoConfig.model_validate({"roles": {"release_manager": ["@a/b"]}}).roles.release_manager
    with pytest.raises(pydantic.ValidationError, match="duplicate version"):
        RepoConfig(lines=(line, line))


@pytest.mark.parametrize(
    ("text", "role", "shown"),
    [
        ("@acme/qa", Role(org="acme", team="qa"), "@acme/qa"),
        ("@acme/release_team-2", Role(org="acme", team="release_team-2"), "@acme/release_team-2"),
        ("octocat", Role(login="octocat"), "octocat"),
        ("@octocat", Role(login="octocat"), "octocat"),
        ("a" * 39, Role(login="a" * 39), "a" * 39),
    ],
)
def test_role_entries_parse(text: str, role: Role, shown: str) -> None:
    assert Role.parse(text) == role
    assert str(role) == shown
    assert role.mention == "@" + shown.removeprefix("@")


@pytest.mark.parametrize(
    ("text", "duration"),
    [("1h", Duration(1, "h")), ("24h", Duration(24, "h")), ("3bd", Duration(3, "bd"))],
)
def test_durations_parse(text: str, duration: Duration) -> None:
    assert Duration.parse(text) == duration
    assert str(duration) == text


@pytest.mark.parametrize("text", ["", "0h", "3", "3d", "h", "1.5h", "-1h", "10000h", " 3h"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Duration.parse(text)


# --- invalid files: the exact messages ---------------------------------------------------

P = CONFIG_PATH
ROLE = 'expected a team "@org/team-slug" or a GitHub login'
LOGIN_RULE = "1-39 letters, digits or hyphens, not starting with a hyphen"
LABEL = "a label name of 1-50 characters without commas"
FIELDS = (
    "description, reproduction, logs, environment, python-version, package-versions, "
    "affected-versions, severity, cve, test-case, fix"
)

INVALID = [
    pytest.param(
        "lines: []\nslas: {}\n",
        f'{P}:2: slas: unknown key "slas"; expected one of: lines, roles, sla, checks, intake, '
        "release",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "roles:\n  release_managers: []\n",
        f'{P}:2: roles.release_managers: unknown key "release_managers"; expected one of: '
        "triage, reviewer, qa, release-manager, security, eng-lead",
        id="unknown-nested-key",
    ),
    pytest.param(
        'lines:\n  - {version: "1.4", eol: 2027-06-30, eof: 2027-06-30}\n',
        f'{P}:2: lines[0].eof: unknown key "eof"; expected one of: version, eol, phase',
        id="unknown-key-in-list-item",
    ),
    pytest.param(
        "lines:\n  - version: 1.10\n    eol: 2027-06-30\n",
        f'{P}:2: lines[0].version: expected a version in quotes such as "1.4", got 1.10; '
        'YAML reads 1.10 as a number, so write version: "1.10"',
        id="unquoted-version",
    ),
    pytest.param(
        'lines:\n  - {version: "v1.4", eol: 2027-06-30}\n',
        f'{P}:2: lines[0].version: expected a version "X.Y" such as "1.4", got "v1.4"',
        id="malformed-version",
    ),
    pytest.param(
        'lines:\n  - {version: "1.4", eol: 2027-06-30}\n  - {version: "1.4", eol: 2028-01-01}\n',
        f'{P}:3: lines[1].version: duplicate version "1.4"; it is already listed on line 2',
        id="duplicate-version",
    ),
    pytest.param(
        'lines:\n  - version: "1.4"\n',
        f'{P}:2: lines[0].eol: missing required key "eol"',
        id="missing-eol",
    ),
    pytest.param(
        'lines:\n  - {version: "1.4", eol: 2027-02-30}\n',
        f"{P}:2: lines[0].eol: expected a date such as 2027-06-30, got 2027-02-30; "
        "day is out of range for month",
        id="impossible-date",
    ),
    pytest.param(
        'lines:\n  - {version: "1.4", eol: "June 2027"}\n',
        f'{P}:2: lines[0].eol: expected a date such as 2027-06-30, got "June 2027"',
        id="bad-date",
    ),
    pytest.param(
        'lines:\n  - {version: "1.4", eol: 2027-06-30, phase: beta}\n',
        f'{P}:2: lines[0].phase: expected one of "maintenance", "security-only", got "beta"',
        id="bad-enum",
    ),
    pytest.param(
        'lines:\n  - "1.4"\n',
        f'{P}:2: lines[0]: expected a mapping such as {{version: "1.4", eol: 2027-06-30}}, '
        'got "1.4"',
        id="line-not-a-mapping",
    ),
    pytest.param(
        "lines: 1.4\n",
        f"{P}:1: lines: expected a list, got 1.4",
        id="lines-not-a-list",
    ),
    pytest.param(
        "sla:\n  triage:\n    high: soon\n",
        f'{P}:3: sla.triage.high: expected a duration such as "24h" or "3bd", got "soon"',
        id="bad-duration",
    ),
    pytest.param(
        "sla:\n  plan: 24\n",
        f'{P}:2: sla.plan: expected a duration such as "24h" or "3bd", got 24; '
        'durations need a unit: use "4h" (hours) or "3bd" (business days)',
        id="duration-without-unit",
    ),
    pytest.param(
        "sla:\n  plan: 0bd\n",
        f'{P}:2: sla.plan: expected a duration such as "24h" or "3bd", got "0bd"; '
        "a duration must be at least 1",
        id="zero-duration",
    ),
    pytest.param(
        "sla:\n  timezone: Mars/Olympus\n",
        f'{P}:2: sla.timezone: expected an IANA time zone such as "UTC" or "Europe/Berlin", '
        'got "Mars/Olympus"',
        id="bad-timezone",
    ),
    pytest.param(
        "sla:\n  timezone: ../../etc/passwd\n",
        f'{P}:2: sla.timezone: expected an IANA time zone such as "UTC" or "Europe/Berlin", '
        'got "../../etc/passwd"',
        id="timezone-path",
    ),
    pytest.param(
        "sla:\n  holidays: 2025-12-25\n",
        f'{P}:2: sla.holidays: expected a list, got 2025-12-25; write it as a list: ["2025-12-25"]',
        id="holidays-not-a-list",
    ),
    pytest.param(
        "sla: []\n",
        f"{P}:1: sla: expected a mapping, got a list",
        id="section-wrong-type",
    ),
    pytest.param(
        'roles:\n  qa: "@acme/qa"\n',
        f'{P}:2: roles.qa: expected a list, got "@acme/qa"; write it as a list: ["@acme/qa"]',
        id="role-not-a-list",
    ),
    pytest.param(
        'roles:\n  qa: ["acme/qa"]\n',
        f'{P}:2: roles.qa[0]: {ROLE}, got "acme/qa"; a team starts with "@": write "@acme/qa"',
        id="team-without-at",
    ),
    pytest.param(
        'roles:\n  qa: ["@acme/"]\n',
        f'{P}:2: roles.qa[0]: {ROLE}, got "@acme/"; the team slug after "/" is missing',
        id="team-without-slug",
    ),
    pytest.param(
        'roles:\n  qa: ["-qa"]\n',
        f'{P}:2: roles.qa[0]: {ROLE}, got "-qa"; "-qa" is not a valid GitHub login ({LOGIN_RULE})',
        id="bad-login",
    ),
    pytest.param(
        'roles:\n  qa: ["@ac me/qa"]\n',
        f'{P}:2: roles.qa[0]: {ROLE}, got "@ac me/qa"; "ac me" is not a valid organization '
        f"name ({LOGIN_RULE})",
        id="bad-org",
    ),
    pytest.param(
        'roles:\n  qa: ["@acme/q a"]\n',
        f'{P}:2: roles.qa[0]: {ROLE}, got "@acme/q a"; "q a" is not a valid team slug '
        "(letters, digits, hyphens or underscores, at most 100)",
        id="bad-team-slug",
    ),
    pytest.param(
        "roles:\n  qa: [42]\n",
        f"{P}:2: roles.qa[0]: {ROLE}, got 42",
        id="role-not-a-string",
    ),
    pytest.param(
        'checks:\n  required: ["", 5]\n',
        f'{P}:2: checks.required[0]: expected a check name such as "ci / test", got ""\n'
        f'{P}:2: checks.required[1]: expected a check name such as "ci / test", got 5',
        id="bad-check-names",
    ),
    pytest.param(
        'sla:\n  timezone: "\\e[31mUTC"\n',
        f'{P}:2: sla.timezone: expected an IANA time zone such as "UTC" or "Europe/Berlin", '
        'got "\\u001b[31mUTC"',
        id="escape-sequences-are-shown-escaped",
    ),
    pytest.param(
        'checks:\n  required: ["ci\\ttest"]\n',
        f'{P}:2: checks.required[0]: expected a check name such as "ci / test", got "ci\\ttest"',
        id="check-name-with-control-character",
    ),
    pytest.param(
        "roles:\n  qa: []\nsla: {}\nroles:\n  triage: []\n",
        f'{P}:4: roles: duplicate key "roles"; it is already set on line 1',
        id="duplicate-key",
    ),
    pytest.param(
        "sla:\n  triage:\n    high: 4h\n    high: 4hours\n",
        f'{P}:4: sla.triage.high: duplicate key "high"; it is already set on line 3\n'
        f'{P}:4: sla.triage.high: expected a duration such as "24h" or "3bd", got "4hours"',
        id="duplicate-nested-key-last-one-is-validated",
    ),
    pytest.param(
        "- lines\n- roles\n",
        f"{P}:1: expected a mapping with keys such as lines, roles, sla, checks, intake, release "
        "at the top "
        "level, got a list",
        id="top-level-list",
    ),
    pytest.param(
        "just some text\n",
        f"{P}:1: expected a mapping with keys such as lines, roles, sla, checks, intake, release "
        "at the top "
        'level, got "just some text"',
        id="top-level-scalar",
    ),
    pytest.param(
        "lines: [1, 2\n",
        f"{P}:2:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence that starts on line 1)",
        id="yaml-syntax-error",
    ),
    pytest.param(
        "roles:\n  qa: [@acme/qa]\n",
        f"{P}:2:8: invalid YAML: found character '@' that cannot start any token; "
        'quote values that start with "@" or "`", e.g. "@acme/qa"',
        id="unquoted-team",
    ),
    pytest.param(
        "sla:\n\ttimezone: UTC\n",
        f"{P}:2:1: invalid YAML: found character '\\t' that cannot start any token; "
        "indent with spaces, YAML does not allow tabs there",
        id="tab-indentation",
    ),
    pytest.param(
        "lines: []\n---\nlines: []\n",
        f"{P}:2:1: invalid YAML: expected a single document in the stream, "
        "but found another document",
        id="two-documents",
    ),
    pytest.param(
        "checks: {required: [*nope]}\n",
        f"{P}:1:21: invalid YAML: found undefined alias 'nope'",
        id="undefined-alias",
    ),
    pytest.param(
        "lines: []\nchecks: \x00\n",
        f"{P}:2:9: invalid YAML: the character U+0000 is not allowed in YAML",
        id="control-character",
    ),
    pytest.param(
        b"lines: []\n# caf\xe9\n",
        f"{P}:2:6: the file is not valid UTF-8 (byte 0xe9); save it as UTF-8",
        id="not-utf8",
    ),
    pytest.param(
        b"#" * (MAX_CONFIG_BYTES + 1),
        f"{P}: the file is 65,537 bytes; the limit is 65,536 bytes (64 KiB)",
        id="too-big",
    ),
    pytest.param(
        "a: &a [*a]\n",
        f"{P}:1: an alias refers to a node that contains it",
        id="recursive-alias",
    ),
    pytest.param(
        "lines: " + "[" * 100 + "]" * 100 + "\n",
        f"{P}:1:71: invalid YAML: nested more than 64 levels deep",
        id="too-deep",
    ),
    pytest.param(
        "sla:\n  plan: !!int abc\n",
        f'{P}:2: sla.plan: "abc" is not a valid int',
        id="bad-explicit-tag",
    ),
    pytest.param(
        "checks: !!set {a}\n",
        f"{P}:1: checks: unsupported YAML tag !!set",
        id="unsupported-tag",
    ),
    pytest.param(
        "base: &base {qa: []}\nroles:\n  <<: *base\n",
        f'{P}:1: base: unknown key "base"; expected one of: lines, roles, sla, checks, intake, '
        "release\n"
        f"{P}:3: roles: merge keys (<<) are not supported; write the keys out in full",
        id="merge-key",
    ),
    pytest.param(
        'intake:\n  keywords:\n    "data,loss": [corrupt]\n',
        f'{P}:3: intake.keywords["data,loss"]: expected {LABEL}, got "data,loss"; '
        "GitHub label names cannot contain commas",
        id="keyword-label-with-comma",
    ),
    pytest.param(
        "intake:\n  keywords:\n    " + "x" * 51 + ": [corrupt]\n",
        f'{P}:3: intake.keywords.{"x" * 51}: expected {LABEL}, got "{"x" * 51}"; '
        "it has 51 characters; GitHub allows at most 50",
        id="keyword-label-too-long",
    ),
    pytest.param(
        'intake:\n  keywords:\n    "  ": [corrupt]\n',
        f'{P}:3: intake.keywords["  "]: expected {LABEL}, got "  "; the name is empty',
        id="keyword-label-empty",
    ),
    pytest.param(
        "intake:\n  keywords:\n    triage/backport: [urgent]\n",
        f'{P}:3: intake.keywords["triage/backport"]: expected {LABEL}, got "triage/backport"; '
        '"triage/backport" is managed by lts-bot itself; keyword rules may set "security", '
        '"regression" or labels of your own',
        id="keyword-label-owned-by-the-bot",
    ),
    pytest.param(
        'intake:\n  keywords:\n    data-loss: ["", 404]\n',
        f'{P}:3: intake.keywords.data-loss[0]: expected a word or phrase such as "data loss", '
        'got ""; the entry is empty\n'
        f'{P}:3: intake.keywords.data-loss[1]: expected a word or phrase such as "data loss", '
        'got 404; write it in quotes: "404"',
        id="bad-keywords",
    ),
    pytest.param(
        "intake:\n  keywords:\n    data-loss: corrupt\n",
        f'{P}:3: intake.keywords.data-loss: expected a list, got "corrupt"; '
        'write it as a list: ["corrupt"]',
        id="keywords-not-a-list",
    ),
    pytest.param(
        "intake:\n  keywords: [crash]\n",
        f"{P}:2: intake.keywords: expected a mapping, got a list",
        id="keywords-not-a-mapping",
    ),
    pytest.param(
        "intake:\n  required:\n    bug: [description, python_version, repro]\n",
        f'{P}:3: intake.required.bug[1]: expected a ticket field name, got "python_version"; '
        f'write "python-version"; the fields are: {FIELDS}\n'
        f'{P}:3: intake.required.bug[2]: expected a ticket field name, got "repro"; '
        f"the fields are: {FIELDS}",
        id="unknown-required-field",
    ),
    pytest.param(
        "intake:\n  required:\n    feature: [description]\n",
        f'{P}:3: intake.required.feature: unknown key "feature"; '
        "expected one of: bug, security, backport",
        id="unknown-request-kind",
    ),
    pytest.param(
        "intake:\n  labels: {}\n",
        f'{P}:2: intake.labels: unknown key "labels"; expected one of: keywords, required',
        id="unknown-intake-key",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_file_gives_the_exact_message(text: str | bytes, message: str) -> None:
    assert rendered(text) == message


def test_alias_bomb_is_refused_quickly() -> None:
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        layers.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    assert rendered("\n".join(layers) + "\n") == (
        f"{P}: the document has more than 10,000 values once aliases are expanded; "
        "lts-bot refuses it"
    )


def test_every_problem_is_reported_in_file_order_with_its_line() -> None:
    text = """\
checks:
  required: [""]
lines:
  - version: 1.10
    eol: someday
    phase: beta
roles:
  qa: ["@acme/qa", "nobody here"]
sla:
  triage: {high: soon}
  plan: 3bd
slas: {}
"""
    with pytest.raises(ConfigError) as info:
        parse_repo_config(text)
    error = info.value

    assert error.path == CONFIG_PATH
    assert [(p.line, p.key) for p in error.problems] == [
        (2, "checks.required[0]"),
        (4, "lines[0].version"),
        (5, "lines[0].eol"),
        (6, "lines[0].phase"),
        (8, "roles.qa[1]"),
        (10, "sla.triage.high"),
        (12, "slas"),
    ]
    assert str(error) == error.render()
    assert error.render().splitlines()[4] == (
        f'{P}:8: roles.qa[1]: {ROLE}, got "nobody here"; '
        f'"nobody here" is not a valid GitHub login ({LOGIN_RULE})'
    )


def test_problems_render_with_and_without_position() -> None:
    assert ConfigProblem(3, "sla.plan", "bad").render("x.yml") == "x.yml:3: sla.plan: bad"
    assert ConfigProblem(3, "", "bad", column=7).render("x.yml") == "x.yml:3:7: bad"
    assert ConfigProblem(None, "", "bad").render("x.yml") == "x.yml: bad"


def test_strange_keys_are_quoted_in_the_key_path() -> None:
    assert rendered('sla:\n  "a b": 1\n') == (
        f'{P}:2: sla["a b"]: unknown key "a b"; expected one of: timezone, holidays, triage, plan, '
        "release, remind_at, escalate_to, approval_wait"
    )


def test_the_given_path_names_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        parse_repo_config("slas: 1\n", "repo/.github/lts.yml")
    assert info.value.render().startswith("repo/.github/lts.yml:1: slas: ")


def problems_of(text: str | bytes) -> list[ConfigProblem] | None:
    """The problems parsing gives, or None for a valid file; any other exception escapes."""
    try:
        parse_repo_config(text)
    except ConfigError as exc:
        return exc.problems
    return None


# A generous per-example deadline, re-checked by hypothesis before failing: it catches
# pathological parses (exponential alias expansion, runaway recursion), not slow machines.
FUZZ = settings(deadline=timedelta(seconds=5))


@settings(FUZZ, max_examples=300)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_config_or_a_config_error(text: str) -> None:
    problems = problems_of(text)
    assert problems is None or all(p.render(P).startswith(P + ":") for p in problems)


YAMLISH = st.lists(
    st.sampled_from(
        [
            *"abl:-[]{},&*!#'\"\n \t1.4@/|>?<~%",
            *("lines", "roles", "sla", "checks", "version", "eol", "triage", "qa", "3bd", "!!int "),
        ]
    ),
    max_size=80,
).map("".join)


@settings(FUZZ, max_examples=500)
@given(st.one_of(YAMLISH, st.binary(max_size=200)))
def test_yaml_like_noise_gives_a_config_or_a_config_error(text: str | bytes) -> None:
    problems = problems_of(text)
    assert problems is None or len(problems) > 0


# --- results and caching -----------------------------------------------------------------


def test_config_from_text_describes_absent_valid_and_invalid_files() -> None:
    absent = config_from_text(None, None)
    valid = config_from_text(FULL.encode(), "sha-valid")
    invalid = config_from_text(b"slas: 1\n", "sha-invalid")

    assert (absent.source, absent.error, absent.config, absent.blob_sha) == (
        "absent",
        None,
        RepoConfig(),
        None,
    )
    assert (valid.source, valid.error, valid.blob_sha, valid.ok) == (
        "file",
        None,
        "sha-valid",
        True,
    )
    assert valid.config.line("1.4") is not None
    assert invalid.source == "invalid"
    assert invalid.config == RepoConfig()
    assert invalid.error is not None
    assert invalid.error.render() == (
        f'{P}:1: slas: unknown key "slas"; expected one of: lines, roles, sla, checks, intake, '
        "release"
    )
    assert not invalid.ok


def test_results_are_cached_by_blob_sha() -> None:
    first = config_from_text(FULL.encode(), "sha-cached")
    assert config_from_text(FULL.encode(), "sha-cached") is first
    assert config_from_text(FULL.encode(), "sha-other") is not first
    assert config_from_text(FULL.encode(), None) is not config_from_text(FULL.encode(), None)


# --- JSON Schema -------------------------------------------------------------------------


def test_json_schema_uses_yaml_key_names_and_forbids_unknown_keys() -> None:
    schema = config_json_schema()
    defs = schema["$defs"]

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"lines", "roles", "sla", "checks", "intake", "release"}
    assert "release-manager" in defs["RolesConfig"]["properties"]
    assert "eng-lead" in defs["RolesConfig"]["properties"]
    assert "release_manager" not in json.dumps(schema)
    for name in (
        "RolesConfig",
        "LineConfig",
        "SlaConfig",
        "TriageSla",
        "ChecksConfig",
        "IntakeConfig",
        "IntakeRequired",
    ):
        assert defs[name]["additionalProperties"] is False
    assert schema["additionalProperties"] is False
    assert defs["LineConfig"]["required"] == ["version", "eol"]
    assert defs["Phase"]["enum"] == ["maintenance", "security-only"]
    assert defs["TriageSla"]["properties"]["high"]["default"] == "24h"
    assert defs["SlaConfig"]["properties"]["plan"]["default"] == "3bd"
    required = defs["IntakeRequired"]["properties"]["bug"]
    assert required["items"]["enum"] == list(INTAKE_FIELDS)
    assert required["default"] == list(DEFAULT_REQUIRED_FIELDS["bug"])
    assert defs["IntakeConfig"]["properties"]["keywords"]["propertyNames"]["maxLength"] == 50


def test_print_config_schema_prints_indented_json() -> None:
    out = io.StringIO()
    assert print_config_schema(out) == 0
    assert json.loads(out.getvalue()) == config_json_schema()
    assert out.getvalue().startswith('{\n  "$schema"')


# --- check-config --------------------------------------------------------------------------


def test_check_config_reports_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "lts.yml"
    path.write_text(FULL)
    out = io.StringIO()

    assert check_config_file(path, out) == 0
    assert out.getvalue() == f"{path}: OK (2 lines: v1.4, v1.3)\n"


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("", "OK (no LTS lines)"),
        ('lines: [{version: "2.0", eol: 2030-01-01}]\n', "OK (1 line: v2.0)"),
    ],
)
def test_check_config_summarises_lines(tmp_path: Path, text: str, summary: str) -> None:
    path = tmp_path / "lts.yml"
    path.write_text(text)
    out = io.StringIO()

    assert check_config_file(path, out) == 0
    assert out.getvalue() == f"{path}: {summary}\n"


def test_check_config_prints_every_problem_with_the_given_path(tmp_path: Path) -> None:
    path = tmp_path / "lts.yml"
    path.write_text("slas: 1\nsla:\n  plan: 3\n")
    out = io.StringIO()

    assert check_config_file(path, out) == 1
    assert out.getvalue() == (
        f'{path}:1: slas: unknown key "slas"; expected one of: lines, roles, sla, checks, intake, '
        "release\n"
        f'{path}:3: sla.plan: expected a duration such as "24h" or "3bd", got 3; '
        'durations need a unit: use "4h" (hours) or "3bd" (business days)\n'
    )


def test_check_config_explains_a_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()
    path = tmp_path / "missing.yml"

    assert check_config_file(path, out) == 1
    assert out.getvalue() == f"{path}: cannot read the file: No such file or directory\n"


def test_check_config_explains_a_directory(tmp_path: Path) -> None:
    out = io.StringIO()

    assert check_config_file(tmp_path, out) == 1
    assert out.getvalue() == f"{tmp_path}: cannot read the file: Is a directory\n"


# --- the shipped example and docs --------------------------------------------------------


def test_the_example_file_is_valid() -> None:
    config = parse_repo_config((ROOT / "examples" / "lts.yml").read_bytes())
    assert [line.label for line in config.lines] == ["v1.4", "v1.3"]
    assert config.roles.members("release-manager") == (Role(org="acme", team="release"),)
    assert config.checks.required == ("ci / test", "ci / lint")
    assert config.intake.keywords["data-loss"] == ("data loss", "corrupt", "corrupted")
    assert "fix" in config.intake.required.for_kind("backport")


def test_the_docs_describe_every_key() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    schema = config_json_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    missing = sorted(key for key in keys if f"`{key}`" not in docs and f".{key}`" not in docs)
    assert missing == []


# --- release ------------------------------------------------------------------------------


def test_release_settings_are_read() -> None:
    config = parse_repo_config(
        b"release:\n  tag_format: vX.Y.Z-lts\n  package: acme-widget\n"
        b"  require_artifacts: [sbom, signatures, sbom]\n  monitoring_window: 3bd\n"
        b"  security_contact: security@acme.example\n"
    )
    assert config.release.tag_format == "vX.Y.Z-lts"
    assert config.release.package == "acme-widget"
    assert config.release.require_artifacts == ("sbom", "signatures")
    assert config.release.monitoring_window == Duration(3, "bd")
    assert config.release.security_contact == "security@acme.example"


def test_release_defaults() -> None:
    release = parse_repo_config(b"").release
    assert (release.tag_format, release.package, release.require_artifacts) == ("vX.Y.Z", None, ())
    assert release.monitoring_window == Duration(48, "h")
    assert release.security_contact is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "release:\n  tag_format: X.Y.Z\n",
            f"{P}:2: release.tag_format: input should be 'vX.Y.Z' or 'vX.Y.Z-lts', got \"X.Y.Z\"",
        ),
        (
            'release:\n  package: "acme widget"\n',
            f'{P}:2: release.package: expected a Python package name such as "acme-widget", '
            "got \"acme widget\"; letters, digits, '.', '_' and '-', at most 100 characters",
        ),
        (
            "release:\n  require_artifacts: [docs]\n",
            f"{P}:2: release.require_artifacts[0]: input should be 'signatures' or 'sbom', "
            'got "docs"',
        ),
        (
            'release:\n  security_contact: ""\n',
            f"{P}:2: release.security_contact: expected an e-mail address or URL such as "
            '"security@example.org", got ""; 1-200 printable characters',
        ),
    ],
)
def test_release_settings_are_checked(text: str, message: str) -> None:
    assert rendered(text) == message
