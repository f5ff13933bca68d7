"""Intake: issue forms and free-form bodies -> missing fields, extracted facts and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_REQUIRED_FIELDS, INTAKE_FIELDS, FormKind, RepoConfig
from bot.policies.intake import (
    CHECKBOX_HEADINGS,
    FIELD_HINTS,
    FIELD_LABELS,
    FORM_FIELDS,
    KIND_LABELS,
    MAX_BODY_CHARS,
    NEEDS_INFO_MARKER,
    NO_RESPONSE,
    REQUIRED_FIELDS,
    TITLE_PREFIXES,
    IntakeResult,
    detect_kind,
    evaluate,
    needs_info_comment,
    parse_body,
)
from bot.ticket import TicketState

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates" / "ISSUE_TEMPLATE"
FORM_FILES: dict[FormKind, str] = {
    "bug": "lts-bug.yml",
    "security": "lts-security.yml",
    "backport": "lts-backport.yml",
}

CONFIG = RepoConfig.model_validate(
    {
        "lines": [
            {"version": "1.4", "eol": "2027-06-30"},
            {"version": "1.3", "eol": "2026-12-31"},
        ],
        "intake": {
            "keywords": {
                "data-loss": ["data loss", "corrupt"],
                "area/cli": ["command line", "CLI"],
                "security": ["exploit"],
            }
        },
    }
)
DEFAULTS = RepoConfig()


def form(kind: FormKind) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TEMPLATES / FORM_FILES[kind]).read_text())
    return data


def render(kind: FormKind, answers: dict[str, Any]) -> str:
    """The issue body GitHub writes for a form submitted with `answers` (by element id).

    Unanswered fields become "_No response_"; textareas with `render` wrap the answer in
    a code block; checkboxes list every option, "[X]" when ticked (answer True).
    """
    parts = []
    for element in form(kind)["body"]:
        if element["type"] == "markdown":
            continue
        attributes = element["attributes"]
        answer = answers.get(element["id"])
        if element["type"] == "checkboxes":
            ticked = "X" if answer else " "
            value = "\n".join(f"- [{ticked}] {option['label']}" for option in attributes["options"])
        elif not answer:
            value = NO_RESPONSE
        elif "render" in attributes:
            value = f"```{attributes['render']}\n{answer}\n```"
        else:
            value = answer
        parts.append(f"### {attributes['label']}\n\n{value}")
    return "\n\n".join(parts)


TRACEBACK = """\
Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/acme/sync.py", line 42, in run
    cache.write(rows)
ValueError: cache is corrupt"""

BUG_ANSWERS: dict[str, Any] = {
    "description": "`acme sync` writes an empty cache file.",
    "reproduction": "1. pip install acme==1.4.2\n2. acme sync --dry-run",
    "logs": TRACEBACK,
    "test-case": "",
    "regression": False,
    "affected-versions": "1.4.2, 1.3",
    "python-version": "3.11.9",
    "package-versions": "acme==1.4.2\nrequests==2.32.3",
    "environment": "Ubuntu 22.04, virtualenv",
    "severity": "high",
    "cve": "",
}
SECURITY_ANSWERS: dict[str, Any] = {
    "disclosure": True,
    "description": "Path traversal in `acme.unpack`, published as GHSA-xxxx.",
    "cve": "CVE-2024-31337",
    "affected-versions": "1.4.0 - 1.4.2",
    "severity": "critical",
    "reproduction": "See the public advisory.",
    "python-version": "3.12.3",
    "package-versions": "acme==1.4.2",
}
BACKPORT_ANSWERS: dict[str, Any] = {
    "fix": "https://github.com/acme/acme/pull/1234",
    "description": "Sync loses rows on 1.3 without it.",
    "affected-versions": "1.3",
    "severity": "medium",
}


# --- the templates -----------------------------------------------------------------------

ELEMENT_KEYS = {"type", "id", "attributes", "validations"}
ATTRIBUTES = {
    "markdown": {"value"},
    "input": {"label", "description", "placeholder", "value"},
    "textarea": {"label", "description", "placeholder", "value", "render"},
    "dropdown": {"label", "description", "multiple", "options", "default"},
    "checkboxes": {"label", "description", "options"},
}


@pytest.mark.parametrize("kind", list(FORM_FILES))
def test_each_template_is_a_valid_issue_form(kind: FormKind) -> None:
    data = form(kind)

    assert set(data) <= {"name", "description", "title", "labels", "assignees", "body"}
    assert data["name"].strip()
    assert data["description"].strip()
    assert data["title"].startswith(TITLE_PREFIXES[kind])
    assert data["labels"] == [KIND_LABELS[kind]]
    ids, labels = [], []
    for element in data["body"]:
        kind_of = element["type"]
        assert set(element) <= ELEMENT_KEYS
        assert set(element["attributes"]) <= ATTRIBUTES[kind_of], element
        if kind_of == "markdown":
            assert element["attributes"]["value"].strip()
            assert "id" not in element
            assert "validations" not in element
            continue
        assert re.fullmatch(r"[A-Za-z0-9_-]+", element["id"])
        ids.append(element["id"])
        labels.append(element["attributes"]["label"])
        if kind_of == "checkboxes":
            assert "validations" not in element
            options = element["attributes"]["options"]
            assert options
            assert all(set(o) <= {"label", "required"} and o["label"].strip() for o in options)
        else:
            assert set(element.get("validations", {})) <= {"required"}
        if kind_of == "dropdown":
            options = element["attributes"]["options"]
            assert options
            assert len(set(options)) == len(options)
    assert len(set(ids)) == len(ids)
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("kind", list(FORM_FILES))
def test_template_labels_are_the_headings_the_parser_reads_in_form_order(kind: FormKind) -> None:
    by_label = {label: name for name, label in FIELD_LABELS.items()}
    fields, checkboxes = [], []
    for element in form(kind)["body"]:
        if element["type"] == "checkboxes":
            checkboxes.append(element["attributes"]["label"])
        elif element["type"] != "markdown":
            label = element["attributes"]["label"]
            fields.append(by_label[label])
            assert element["id"] == by_label[label]

    assert tuple(fields) == FORM_FIELDS[kind]
    assert set(checkboxes) <= set(CHECKBOX_HEADINGS)


@pytest.mark.parametrize("kind", list(FORM_FILES))
def test_template_marks_required_exactly_the_default_required_fields(kind: FormKind) -> None:
    required = {
        element["id"]
        for element in form(kind)["body"]
        if element.get("validations", {}).get("required")
    }
    assert required == set(DEFAULT_REQUIRED_FIELDS[kind]) == set(REQUIRED_FIELDS[kind])


def test_every_form_points_undisclosed_vulnerabilities_to_private_reporting() -> None:
    for kind in FORM_FILES:
        intro = form(kind)["body"][0]["attributes"]["value"]
        assert "Report a vulnerability" in intro
    security = form("security")
    warning = " ".join(security["body"][0]["attributes"]["value"].replace(">", " ").split())
    assert "Report undisclosed vulnerabilities privately" in warning
    assert "(private vulnerability reporting)" in warning
    disclosure = next(e for e in security["body"] if e.get("id") == "disclosure")
    assert disclosure["attributes"]["options"][0]["required"] is True


def test_template_chooser_keeps_blank_issues_and_has_no_contact_links() -> None:
    config = yaml.safe_load((TEMPLATES / "config.yml").read_text())
    assert config == {"blank_issues_enabled": True}


def test_every_field_has_a_label_and_a_hint() -> None:
    assert tuple(FIELD_LABELS) == INTAKE_FIELDS
    assert tuple(FIELD_HINTS) == INTAKE_FIELDS
    for kind, fields in FORM_FIELDS.items():
        assert set(DEFAULT_REQUIRED_FIELDS[kind]) <= set(fields)


# --- form bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FormCase:
    kind: FormKind
    answers: dict[str, Any]
    missing: tuple[str, ...]
    labels: tuple[str, ...] = ()
    expected: dict[str, Any] = field(default_factory=dict)


FORM_CASES = {
    "complete bug report": FormCase(
        "bug",
        BUG_ANSWERS,
        (),
        expected={
            "python_versions": ("3.11.9",),
            "package_versions": ("acme==1.4.2", "requests==2.32.3"),
            "affects": ("1.4", "1.3"),
            "severity_guess": "high",
            "regression": False,
            "security": False,
            "extra_labels": (),  # "corrupt" is only in the traceback: code
        },
    ),
    "bug report with unanswered fields, listed in form order": FormCase(
        "bug",
        {**BUG_ANSWERS, "environment": "", "python-version": "", "logs": ""},
        ("Logs or traceback", "Python version", "Environment"),
    ),
    "bug report with the regression box ticked": FormCase(
        "bug",
        {**BUG_ANSWERS, "regression": True},
        (),
        expected={"regression": True},
    ),
    "empty bug report": FormCase(
        "bug",
        {},
        tuple(FIELD_LABELS[n] for n in FORM_FIELDS["bug"] if n in DEFAULT_REQUIRED_FIELDS["bug"]),
        expected={"severity_guess": None, "affects": (), "python_versions": ()},
    ),
    "bug report with an unknown version and no severity guess": FormCase(
        "bug",
        {**BUG_ANSWERS, "affected-versions": "1.4.2 and 2.0.1 (Python 3.10)", "severity": ""},
        ("Severity",),
        expected={"affects": ("1.4",), "unknown_versions": ("2.0",)},
    ),
    "security report without a CVE is still security": FormCase(
        "security",
        SECURITY_ANSWERS | {"cve": ""},
        (),
        expected={"security": True, "cve": (), "severity_guess": "critical", "affects": ("1.4",)},
    ),
    "security report with a CVE records it": FormCase(
        "security",
        SECURITY_ANSWERS,
        (),
        expected={"security": True, "cve": ("CVE-2024-31337",)},
    ),
    "security report missing its reproduction": FormCase(
        "security",
        {**SECURITY_ANSWERS, "reproduction": "", "package-versions": ""},
        ("Steps to reproduce", "Package versions"),
    ),
    "backport request": FormCase(
        "backport",
        BACKPORT_ANSWERS,
        (),
        expected={"affects": ("1.3",), "severity_guess": "medium"},
    ),
    "backport request without the fix": FormCase(
        "backport",
        {**BACKPORT_ANSWERS, "fix": "", "severity": ""},
        ("Fix to backport", "Severity"),
    ),
    "kind comes from the form's label": FormCase(
        "security",
        {"disclosure": True},
        tuple(
            FIELD_LABELS[n]
            for n in FORM_FIELDS["security"]
            if n in DEFAULT_REQUIRED_FIELDS["security"]
        ),
        labels=("lts/security",),
    ),
}


@pytest.mark.parametrize("case", FORM_CASES.values(), ids=FORM_CASES.keys())
def test_form_body_gives_missing_fields_and_facts(case: FormCase) -> None:
    body = render(case.kind, case.answers)
    result = evaluate("Sync is broken", body, case.labels, CONFIG)

    assert result.kind == case.kind
    assert result.missing_fields == case.missing
    assert result.needs_info == bool(case.missing)
    for name, value in case.expected.items():
        assert getattr(result, name) == value, name


def test_an_empty_answer_in_a_rendered_code_block_counts_as_missing() -> None:
    body = render("bug", BUG_ANSWERS).replace(f"```text\n{TRACEBACK}\n```", "```text\n\n```", 1)
    assert evaluate("t", body, [], CONFIG).missing == ("logs",)


def test_an_empty_form_section_is_missing_even_if_the_text_elsewhere_has_the_answer() -> None:
    body = render("bug", {**BUG_ANSWERS, "python-version": ""})
    assert "python3.11" in body  # in the traceback's paths
    result = evaluate("t", body, [], CONFIG)

    assert result.missing == ("python-version",)
    assert result.python_versions == ("3.11",)


def test_form_answers_are_what_the_sections_hold() -> None:
    parsed = parse_body(render("bug", BUG_ANSWERS))

    assert parsed.is_form
    assert parsed.fields["description"] == BUG_ANSWERS["description"]
    assert parsed.fields["reproduction"] == BUG_ANSWERS["reproduction"]
    assert parsed.fields["logs"] == f"```text\n{TRACEBACK}\n```"
    assert parsed.empty == {"test-case", "cve"}
    assert "_No response_" not in parsed.prose
    assert "Regression" not in parsed.prose


def test_an_unclosed_code_block_ends_at_the_next_form_heading() -> None:
    body = render("bug", {**BUG_ANSWERS, "description": "It fails:\n```\nacme sync"})
    result = evaluate("t", body, [], CONFIG)
    assert result.missing == ()
    assert result.python_versions == ("3.11.9",)


@pytest.mark.parametrize(
    ("labels", "title", "answers_of", "kind"),
    [
        (["lts/backport", "lts/security"], "", "bug", "security"),
        (["LTS/Backport"], "", "bug", "backport"),
        ([], "", "security", "security"),
        ([], "", "backport", "backport"),
        ([], "[LTS security]: path traversal", None, "security"),
        ([], "[lts backport]: fix #12", None, "backport"),
        ([], "crash", None, "bug"),
    ],
)
def test_kind_comes_from_labels_then_headings_then_title(
    labels: list[str], title: str, answers_of: FormKind | None, kind: FormKind
) -> None:
    body = render(answers_of, {}) if answers_of else "It crashes."
    assert detect_kind(parse_body(body), labels, title) == kind
    assert evaluate(title, body, labels, CONFIG).kind == kind


def test_an_explicit_form_kind_wins() -> None:
    body = render("bug", BUG_ANSWERS)
    result = evaluate("t", body, ["lts/bug"], CONFIG, form_kind="backport")
    assert (result.kind, result.missing) == ("backport", ("fix",))


def test_configured_required_fields_replace_the_built_in_ones() -> None:
    config = RepoConfig.model_validate(
        {"intake": {"required": {"bug": ["test-case", "description", "fix"], "backport": []}}}
    )
    result = evaluate("t", render("bug", BUG_ANSWERS), [], config)
    # In the bug form's order; "fix" is not on the bug form, so it comes last.
    assert result.missing_fields == ("Test case", "Fix to backport")
    assert evaluate("t", "", ["lts/backport"], config).missing == ()


# --- free-form bodies ----------------------------------------------------------------------

BUG_REQUIRED = tuple(
    FIELD_LABELS[n] for n in FORM_FIELDS["bug"] if n in DEFAULT_REQUIRED_FIELDS["bug"]
)

FREE_FORM_COMPLETE = f"""\
After upgrading to version 1.4.2 our nightly `acme sync` job fails on Ubuntu 22.04.

Steps to reproduce:
1. pip install acme==1.4.2
2. run `acme sync`

```
{TRACEBACK}
```

**Python version:** 3.11.9
Severity: high
"""


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        pytest.param(FREE_FORM_COMPLETE, (), id="everything-in-prose-labels-and-code"),
        pytest.param(
            None,
            BUG_REQUIRED,
            id="no-body",
        ),
        pytest.param(
            f"```\n{TRACEBACK}\n```",
            (
                "Description",
                "Steps to reproduce",
                "Affected versions",
                "Package versions",  # the Python version is in the traceback's paths
                "Environment",
                "Severity",
            ),
            id="only-a-traceback",
        ),
        pytest.param(
            "## Description\nSync breaks.\n\n## Steps to reproduce\n1. a\n2. b\n\n"
            "## Logs\nnone\n\n## Environment\nmacOS 14\n\n"
            "## Versions\nPython 3.12.1, acme==1.3.9\n\n## Severity\nlow\n",
            (),
            id="markdown-headings",
        ),
        pytest.param(
            "Sync breaks.\n\n**Steps to reproduce**\n- open it\n- sync\n\n"
            "Traceback (most recent call last):\n  File 'x'\nKeyError: 1\n\n"
            "- OS: Windows 11\n- Python: 3.10.4\n- Packages: acme 1.3.9\n"
            "- Affected versions: 1.3.9\n- Severity: medium\n",
            (),
            id="bold-pseudo-heading-unfenced-traceback-and-bullets",
        ),
        pytest.param(
            "It fails.\n\n```python\nimport acme\nacme.sync()\n```\n\n"
            "```\nE       assert 1 == 2\n```\n\nPython 3.11, acme==1.4.0, v1.4, Linux\n"
            "Severity: low",
            (),
            id="code-reproducer-and-pytest-output",
        ),
        pytest.param(
            "Steps to reproduce:\n\n\n\n\nSeverity: low",
            tuple(label for label in BUG_REQUIRED if label != "Severity"),
            id="label-with-an-answer-after-blank-lines-is-still-empty",
        ),
    ],
)
def test_free_form_body_is_read_as_a_bug_report(body: str | None, missing: tuple[str, ...]) -> None:
    result = evaluate("Sync fails", body, [], CONFIG)
    assert result.kind == "bug"
    assert result.missing_fields == missing


def test_free_form_facts_are_extracted() -> None:
    parsed = parse_body(FREE_FORM_COMPLETE)
    result = evaluate("Sync fails", FREE_FORM_COMPLETE, [], CONFIG)

    assert not parsed.is_form
    assert parsed.fields["reproduction"] == "1. pip install acme==1.4.2\n2. run `acme sync`"
    assert parsed.fields["logs"] == TRACEBACK
    assert parsed.fields["python-version"] == "3.11.9"
    assert parsed.fields["environment"] == "Ubuntu"
    assert parsed.fields["description"].startswith("After upgrading to version 1.4.2")
    assert result.python_versions == ("3.11.9",)
    assert result.package_versions == ("acme==1.4.2",)
    assert result.affects == ("1.4",)
    assert result.severity_guess == "high"
    assert result.extra_labels == ()  # "corrupt" is only in the traceback: code


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "cves"),
    [
        ("", "Fixed upstream as cve-2024-1234 and CVE-2024-1234.", ("CVE-2024-1234",)),
        ("CVE-2023-44487 in 1.3", "also CVE-2024-123456", ("CVE-2023-44487", "CVE-2024-123456")),
        ("", "```\npip-audit: CVE-2022-0001\n```", ("CVE-2022-0001",)),
        ("", "CVE-24-1234, CVE-2024-123, XCVE-2024-1234, CVE-2024-1234x", ()),
        ("", "<!-- e.g. CVE-2024-99999 -->", ()),
    ],
)
def test_cve_ids_are_found_uppercased_deduplicated_and_validated(
    title: str, body: str, cves: tuple[str, ...]
) -> None:
    result = evaluate(title, body, [], DEFAULTS)
    assert result.cve == cves
    assert result.security is bool(cves)


@pytest.mark.parametrize(
    ("title", "body", "regression"),
    [
        ("Regression: sync fails", "", True),
        ("", "This is a REGRESSION since 1.4.1.", True),
        ("", "Not a regression, it never worked.", False),
        ("", "no regression here", False),
        ("", "```\ntests/regression/test_sync.py FAILED\n```", False),
        ("", "see `regression` in the code", False),
        ("", "our regressions suite and non-regression tests", False),
        ("", "- [x] regression", True),
        ("", "- [ ] regression", False),
    ],
)
def test_regression_comes_from_the_word_outside_code(
    title: str, body: str, regression: bool
) -> None:
    assert evaluate(title, body, [], DEFAULTS).regression is regression


@pytest.mark.parametrize(
    ("affected", "prose", "affects", "unknown"),
    [
        ("1.4.2", "", ("1.4",), ()),
        ("v1.3", "", ("1.3",), ()),
        ("1.3.x, 1.4.*", "", ("1.4", "1.3"), ()),
        ("2.0.1, 0.9", "", (), ("2.0", "0.9")),
        ("1.4.2 on Python 3.11", "", ("1.4",), ()),
        ("", "Seen on release-lts/v1.3 and in version 1.4.0.", ("1.4", "1.3"), ()),
        ("", "Python version 1.3 is not a thing; v9.9 is not ours", (), ()),
        ("", "pinned acme==1.4.2, works with 1.3", (), ()),
    ],
)
def test_affected_lines_are_matched_against_the_configured_lines(
    affected: str, prose: str, affects: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    body = f"{prose}\n\n### Affected versions\n\n{affected or NO_RESPONSE}\n"
    result = evaluate("t", body, [], CONFIG)
    assert (result.affects, result.unknown_versions) == (affects, unknown)


def test_python_and_package_versions_are_collected_from_fields_and_text() -> None:
    body = (
        "### Python version\n\n3.11\n\n"
        "### Package versions\n\n- acme 1.4.2\n- `requests`: 2.32.3\nDjango[argon2]==4.2.11\n"
        "python==3.11.9\n\n"
        "### Description\n\nSeen with Python 3.11.9 and py3.12, and pip install urllib3==2.2.1.\n"
    )
    result = evaluate("t", body, [], DEFAULTS)

    assert result.python_versions == ("3.11.9", "3.12")
    assert result.package_versions == (
        "acme==1.4.2",
        "requests==2.32.3",
        "Django==4.2.11",
        "urllib3==2.2.1",
    )


@pytest.mark.parametrize(
    ("answer", "severity"),
    [("high", "high"), ("Critical!", "critical"), ("not sure", None), ("", None)],
)
def test_severity_guess_comes_from_the_severity_field(answer: str, severity: str | None) -> None:
    body = f"### Severity\n\n{answer or NO_RESPONSE}\n"
    assert evaluate("t", body, [], DEFAULTS).severity_guess == severity


@pytest.mark.parametrize(
    ("title", "body", "labels", "security"),
    [
        ("", "We saw DATA   LOSS on the CLI.", ("data-loss", "area/cli"), False),
        ("Corrupt cache", "", ("data-loss",), False),
        ("", "corrupted files; clients; CLIs", (), False),
        ("", "```\ncorrupt\n```\nand `cli`", (), False),
        ("", "<!-- the command line -->", (), False),
        ("", "A public exploit exists.", (), True),
    ],
)
def test_keyword_rules_add_labels_for_whole_words_outside_code(
    title: str, body: str, labels: tuple[str, ...], security: bool
) -> None:
    result = evaluate(title, body, [], CONFIG)
    assert result.extra_labels == labels
    assert result.security is security


# --- needs-info comment, labels and the ticket ---------------------------------------------


def test_needs_info_comment_lists_exactly_what_is_missing_and_how_to_add_it() -> None:
    text = needs_info_comment(["Python version", "severity"], lines=["1.4", "1.3"])
    lines = text.splitlines()

    assert lines[0] == NEEDS_INFO_MARKER
    items = [line for line in lines if line.startswith("- ")]
    assert items == [
        f"- **Python version**: {FIELD_HINTS['python-version']}",
        f"- **Severity**: {FIELD_HINTS['severity']}",
    ]
    assert "edit the issue description" in text
    assert "### Python version" in text
    assert "`needs-info` label is removed and this comment updated" in text


def test_needs_info_comment_names_the_supported_lines_for_affected_versions() -> None:
    text = needs_info_comment(["affected-versions"], lines=["1.4", "1.3"])
    assert f"- **Affected versions**: {FIELD_HINTS['affected-versions']}" in text
    assert "supported LTS lines: 1.4, 1.3" in text
    assert "This is missing:" in text


def test_needs_info_comment_without_missing_fields_says_all_is_there() -> None:
    text = needs_info_comment([])
    assert text.splitlines()[0] == NEEDS_INFO_MARKER
    assert "everything needed for triage is here" in text
    assert not [line for line in text.splitlines() if line.startswith("- ")]


def test_editing_the_issue_to_fill_in_fields_clears_needs_info() -> None:
    before = evaluate("t", render("bug", {**BUG_ANSWERS, "environment": ""}), [], CONFIG)
    after = evaluate("t", render("bug", BUG_ANSWERS), [], CONFIG)

    assert "needs-info" in before.labels()
    assert "- **Environment**" in before.comment()
    assert "needs-info" not in after.labels()
    assert after.comment() == needs_info_comment([])


def test_result_labels_are_flags_keywords_and_needs_info() -> None:
    body = render("security", {**SECURITY_ANSWERS, "description": "Data loss. A regression."})
    result = evaluate("t", body, [], CONFIG)
    assert result.labels() == {"security", "regression", "data-loss"}


def test_enrich_fills_the_ticket_without_undoing_triage() -> None:
    result = evaluate("t", render("bug", {**BUG_ANSWERS, "environment": ""}), [], CONFIG)
    triaged = TicketState(number=7, affects=("1.3",), security=True)

    ticket = result.enrich(triaged)

    assert ticket.affects == ("1.3",)
    assert ticket.security is True
    assert ticket.missing_fields == ("Environment",)
    assert ticket.python_versions == ("3.11.9",)
    assert ticket.package_versions == ("acme==1.4.2", "requests==2.32.3")
    assert "needs-info" in ticket.labels()
    assert result.enrich(TicketState(number=7)).affects == ("1.4", "1.3")


# --- bounds and fuzzing --------------------------------------------------------------------


def test_a_megabyte_body_is_read_only_up_to_the_limit() -> None:
    head = render("bug", BUG_ANSWERS)
    body = head + "\n\n" + "x" * (1 << 20) + "\nCVE-2024-77777 regression"
    parsed = parse_body(body)
    result = evaluate("t", body, [], CONFIG)

    assert parsed.chars_read == MAX_BODY_CHARS < len(body)
    assert parsed.truncated
    assert result.truncated
    assert len(parsed.text) <= MAX_BODY_CHARS
    assert result.missing == ()
    assert (result.cve, result.regression) == ((), False)


N = 200_000  # longer than the limit: also checks that only the limit is read

PATHOLOGICAL = {
    "hashes": "#" * N + "x",
    "unclosed comments": "<!--" * N,
    "fences": "```\n" * N,
    "backticks": "`" * N,
    "ordered list": "1. a\n" * N,
    "pins": "a==" * N,
    "spaces": " " * N + "x",
    "cve prefixes": "CVE-2024-" * N,
    "versions": "v1." * N,
    "version words": "version " * N,
    "blank lines after a label": "Steps to reproduce:\n" + "\n" * N,
    "pythons": "python " * N,
    "checkboxes": "- [x] " * N,
    "tracebacks": "Traceback (most recent call last):\n" * N,
    "labels": "Python version: 3.1\n" * N,
    "headings": "### Description\n" * N,
    "dotted": "1." * N,
    "long identifier error": "```\n" + "a" * N + "Error\n```",
    "long line label": "**" + "a " * N + ":",
    "distinct pythons": " ".join(f"python 3.{i % 100}.{i % 1000}" for i in range(N // 10)),
}


@pytest.mark.parametrize("body", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_bodies_are_read_in_linear_time(body: str) -> None:
    # A quadratic path would take minutes here; the suite's runtime is the check.
    result = evaluate(body[:2000], body, [], CONFIG)
    assert isinstance(result, IntakeResult)
    assert parse_body(body).chars_read == min(len(body), MAX_BODY_CHARS)


FUZZ = settings(deadline=timedelta(seconds=2))

MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            *"\n \t#`~-*_:[]()<>!=.x1234567890vV",
            "### ",
            "```",
            "~~~",
            "<!--",
            "-->",
            NO_RESPONSE,
            "- [X] ",
            "- [ ] ",
            "1. ",
            "**",
            "CVE-2024-",
            "Python ",
            "version ",
            "regression",
            "not a ",
            "==",
            "Traceback (most recent call last)",
            "ValueError: ",
            "def test_",
            *FIELD_LABELS.values(),
            *CHECKBOX_HEADINGS,
            "Steps to reproduce:",
            "OS: ",
            "data loss",
        ]
    ),
    max_size=60,
).map("".join)


def check_result(result: IntakeResult) -> None:
    assert set(result.missing) <= set(DEFAULT_REQUIRED_FIELDS[result.kind])
    assert result.missing_fields == tuple(FIELD_LABELS[n] for n in result.missing)
    assert all(re.fullmatch(r"CVE-\d{4}-\d{4,}", cve) for cve in result.cve)
    assert set(result.affects) <= {"1.4", "1.3"}
    assert not set(result.unknown_versions) & {"1.4", "1.3"}
    assert set(result.extra_labels) <= {"data-loss", "area/cli"}
    assert result.comment().startswith(NEEDS_INFO_MARKER)


@settings(FUZZ, max_examples=300)
@given(st.text(max_size=400), st.text(max_size=80))
def test_arbitrary_text_never_raises(body: str, title: str) -> None:
    check_result(evaluate(title, body, [], CONFIG))


@settings(FUZZ, max_examples=400)
@given(MARKDOWNISH, st.sampled_from([None, "bug", "security", "backport"]))
def test_markdown_like_noise_never_raises(body: str, kind: FormKind | None) -> None:
    parsed = parse_body(body)
    assert parsed.chars_read == len(body)
    assert set(parsed.fields) <= set(INTAKE_FIELDS)
    assert all(parsed.fields.values())
    check_result(evaluate(body, body, ["lts/bug"], CONFIG, form_kind=kind))
