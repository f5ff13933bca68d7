"""The `lts/config` check run decided from a ConfigResult, and the notice for broken files."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.config import ConfigError, ConfigProblem, ConfigResult, config_from_text
from bot.policies.config_check import (
    CHECK_NAME,
    MAX_PROBLEMS_IN_SUMMARY,
    UNTIL_FIXED,
    config_error_notice,
    evaluate,
    should_report,
)

VALID = b"""\
lines:
  - {version: "1.4", eol: 2027-06-30, phase: maintenance}
  - {version: "1.3", eol: 2026-12-31, phase: security-only}
roles:
  triage: ["@acme/triage"]
  release-manager: ["@acme/release", "octocat"]
sla:
  timezone: Europe/Berlin
  holidays: [2025-12-25]
  triage: {high: 8h}
checks:
  required: ["ci / test", "odd `name`"]
"""

INVALID = b"""\
lines:
  - {version: 1.10, eol: 2027-06-30}
sla:
  triage: {high: soon}
"""


@dataclass(frozen=True)
class Case:
    result: ConfigResult
    conclusion: str
    title: str
    summary_lines: tuple[str, ...]


CASES = {
    "valid file": Case(
        config_from_text(VALID, None),
        "success",
        "LTS configuration is valid",
        (
            "`.github/lts.yml` is valid.",
            "| v1.4 | `release-lts/v1.4` | maintenance | 2027-06-30 |",
            "| v1.3 | `release-lts/v1.3` | security-only | 2026-12-31 |",
            "- **triage**: @acme/triage",
            "- **reviewer**: anyone with write permission or above (default)",
            "- **qa**: anyone with maintain permission or above (default)",
            "- **release-manager**: @acme/release, octocat",
            "- Triage: critical 4h, high 8h, medium 3bd, low 3bd",
            "- Plan: 3bd",
            "- Business days counted in Europe/Berlin; holidays: 2025-12-25",
            "- `ci / test`",
            "- `` odd `name` ``",
        ),
    ),
    "absent file": Case(
        config_from_text(None, None),
        "success",
        "No .github/lts.yml: using defaults",
        (
            "None: lts-bot manages no `release-lts/` branches until `lines` lists some.",
            "- **triage**: anyone with triage permission or above (default)",
            "- Triage: critical 4h, high 24h, medium 3bd, low 3bd",
            "- Business days counted in UTC; holidays: none",
            "None.",
        ),
    ),
    "empty file": Case(
        config_from_text(b"# nothing yet\n", None),
        "success",
        "LTS configuration is valid",
        ("`.github/lts.yml` is valid.", "None."),
    ),
    "invalid file": Case(
        config_from_text(INVALID, None),
        "failure",
        "2 problems in .github/lts.yml",
        (
            "lts-bot cannot use `.github/lts.yml` from the default branch:",
            "```text",
            '.github/lts.yml:2: lines[0].version: expected a version in quotes such as "1.4", '
            'got 1.10; YAML reads 1.10 as a number, so write version: "1.10"',
            '.github/lts.yml:4: sla.triage.high: expected a duration such as "24h" or "3bd", '
            'got "soon"',
            "```",
            "**What to do:** fix the file on the default branch (changes in a pull request are "
            "read once it is merged). `lts-bot check-config .github/lts.yml` checks it locally.",
            UNTIL_FIXED,
        ),
    ),
    "one problem": Case(
        config_from_text(b"slas: 1\n", None),
        "failure",
        "1 problem in .github/lts.yml",
        (
            '.github/lts.yml:1: slas: unknown key "slas"; '
            "expected one of: lines, roles, sla, checks, intake, release",
        ),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_result_gives_the_check_run(case: Case) -> None:
    decision = evaluate(case.result)

    assert decision.name == CHECK_NAME == "lts/config"
    assert decision.conclusion == case.conclusion
    assert decision.title == case.title
    lines = decision.summary.splitlines()
    missing = [line for line in case.summary_lines if line not in lines]
    assert missing == []


def test_invalid_file_summary_says_nothing_happens_until_fixed() -> None:
    decision = evaluate(config_from_text(INVALID, None))
    assert decision.summary.endswith(UNTIL_FIXED)
    assert UNTIL_FIXED == (
        "Until it is fixed, lts-bot takes no action in this repository except reporting this error."
    )
    assert decision.text is None


def test_many_problems_are_cut_from_the_summary_and_kept_in_the_text() -> None:
    problems = [ConfigProblem(i, f"k{i}", "bad") for i in range(1, MAX_PROBLEMS_IN_SUMMARY + 6)]
    result = ConfigResult(
        config_from_text(None, None).config, ConfigError("x", problems), "invalid", None
    )

    decision = evaluate(result, path="cfg.yml")

    assert decision.title == f"{MAX_PROBLEMS_IN_SUMMARY + 5} problems in cfg.yml"
    assert "cfg.yml:50: k50: bad" in decision.summary
    assert "cfg.yml:51: k51: bad" not in decision.summary
    assert "… and 5 more (see below)" in decision.summary.splitlines()
    assert decision.text is not None
    assert "cfg.yml:55: k55: bad" in decision.text.splitlines()


def test_the_notice_names_the_first_problem_and_the_check_run() -> None:
    error = config_from_text(INVALID, None).error
    assert error is not None

    assert config_error_notice(error) == (
        "> [!WARNING]\n"
        "> `.github/lts.yml` has 2 problems, so lts-bot is not acting on this repository: "
        '`.github/lts.yml:2: lines[0].version: expected a version in quotes such as "1.4", '
        'got 1.10; YAML reads 1.10 as a number, so write version: "1.10"` and 1 more. '
        "Fix the file on the default branch; the `lts/config` check run lists every problem."
    )


def test_the_notice_for_a_single_problem_has_no_count_of_others() -> None:
    error = ConfigError(".github/lts.yml", [ConfigProblem(1, "slas", "unknown key")])
    notice = config_error_notice(error)
    assert "has 1 problem," in notice
    assert "more" not in notice


@pytest.mark.parametrize(
    ("text", "file_changed", "report"),
    [
        (None, False, False),
        (None, True, True),
        (b'lines:\n  - {version: "1.4", eol: 2027-06-30}\n', False, False),
        (b'lines:\n  - {version: "1.4", eol: 2027-06-30}\n', True, True),
        (b"lines: nope\n", False, True),
        (b"lines: nope\n", True, True),
    ],
)
def test_should_report_a_valid_config_only_when_it_changed_and_an_invalid_one_always(
    text: bytes | None, file_changed: bool, report: bool
) -> None:
    result = config_from_text(text, None)
    assert should_report(result, file_changed=file_changed) is report
