"""Releases of LTS lines: versions, notes, advisory, checklist and rollback texts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.markdown import code
from bot.policies.backport import pr_body
from bot.policies.commit_message import CHANGELOG_PLACEHOLDER, example_message
from bot.policies.release import (
    ADVISORY_DRAFT_WARNING,
    ADVISORY_SUMMARY_LIMIT,
    RELEASE_BODY_LIMIT,
    TAG_FORMATS,
    WITHDRAWN_END,
    WITHDRAWN_PREFIX,
    WITHDRAWN_START,
    AdvisoryDraft,
    ChangeChecks,
    ChecklistInput,
    ChecklistItem,
    IncludedChange,
    ItemState,
    PublishedRelease,
    ReleaseContext,
    ReleaseVersion,
    TagFormat,
    VersionDecision,
    advisory_draft,
    advisory_markdown,
    advisory_request,
    asset_kind,
    changelog_of,
    checklist,
    incident_body,
    incident_title,
    internal_status,
    next_version,
    parse_tag,
    parse_version_arg,
    ready,
    references_release,
    release_notes,
    render_checklist,
    safe_release,
    unshipped_lines,
    upgrade_command,
    withdrawn_body,
    withdrawn_name,
)

REPO_URL = "https://github.com/acme/widget"
SHA = "0123456789abcdef0123456789abcdef01234567"
HEAD = "fedcba9876543210fedcba9876543210fedcba98"
PULL = f"{REPO_URL}/pull"
V143 = ReleaseVersion(1, 4, 3)


# --- versions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "fmt", "expected"),
    [
        ("v1.4.3", "vX.Y.Z", V143),
        ("v0.0.0", "vX.Y.Z", ReleaseVersion(0, 0, 0)),
        ("v9999.9999.9999", "vX.Y.Z", ReleaseVersion(9999, 9999, 9999)),
        ("v1.4.3-lts", "vX.Y.Z-lts", V143),
        ("v1.10.12-lts", "vX.Y.Z-lts", ReleaseVersion(1, 10, 12)),
        # The other format is another scheme's tag.
        ("v1.4.3-lts", "vX.Y.Z", None),
        ("v1.4.3", "vX.Y.Z-lts", None),
        # Pre-releases and builds.
        ("v1.4.3-rc1", "vX.Y.Z", None),
        ("v1.4.3rc1", "vX.Y.Z", None),
        ("v1.4.3-beta.2", "vX.Y.Z", None),
        ("v1.4.3-lts-rc1", "vX.Y.Z-lts", None),
        ("v1.4.3-rc1-lts", "vX.Y.Z-lts", None),
        ("v1.4.3.dev0", "vX.Y.Z", None),
        ("v1.4.3+build", "vX.Y.Z", None),
        ("v1.4.3-lts+build", "vX.Y.Z-lts", None),
        # Leading zeros, too many digits, missing parts, other spellings.
        ("v1.04.3", "vX.Y.Z", None),
        ("v01.4.3", "vX.Y.Z", None),
        ("v1.4.03", "vX.Y.Z", None),
        ("v1.4.10000", "vX.Y.Z", None),
        ("v1.4", "vX.Y.Z", None),
        ("1.4.3", "vX.Y.Z", None),
        ("V1.4.3", "vX.Y.Z", None),
        ("v1.4.3-LTS", "vX.Y.Z-lts", None),
        (" v1.4.3", "vX.Y.Z", None),
        ("v1.4.3\n", "vX.Y.Z", None),
        ("v1.4.3.4", "vX.Y.Z", None),
        ("release-v1.4.3", "vX.Y.Z", None),
        ("", "vX.Y.Z", None),
    ],
)
def test_parse_tag(tag: str, fmt: TagFormat, expected: ReleaseVersion | None) -> None:
    assert parse_tag(tag, fmt) == expected


_PART = st.integers(min_value=0, max_value=9999)
_VERSIONS = st.builds(ReleaseVersion, _PART, _PART, _PART)


@settings(max_examples=200)
@given(_VERSIONS, st.sampled_from(TAG_FORMATS))
def test_parse_tag_round_trips_the_tag_of_every_version(
    version: ReleaseVersion, fmt: TagFormat
) -> None:
    assert parse_tag(version.tag(fmt), fmt) == version
    other = next(f for f in TAG_FORMATS if f != fmt)
    assert parse_tag(version.tag(fmt), other) is None


@settings(max_examples=200)
@given(_VERSIONS, st.sampled_from(["-rc1", "rc1", "-beta.2", ".dev0", "+build", "-lts-rc1"]))
def test_parse_tag_ignores_pre_releases(version: ReleaseVersion, suffix: str) -> None:
    for fmt in TAG_FORMATS:
        assert parse_tag(f"v{version}{suffix}", fmt) is None


def test_release_version_text_and_order() -> None:
    assert V143.line == "1.4"
    assert str(V143) == "1.4.3"
    assert V143.tag("vX.Y.Z") == "v1.4.3"
    assert V143.tag("vX.Y.Z-lts") == "v1.4.3-lts"
    # By number, not by text.
    versions = [ReleaseVersion(1, 4, 10), ReleaseVersion(1, 10, 0), ReleaseVersion(1, 4, 9)]
    assert sorted(versions) == [
        ReleaseVersion(1, 4, 9),
        ReleaseVersion(1, 4, 10),
        ReleaseVersion(1, 10, 0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.4", ("1.4", None)),
        ("1.4", ("1.4", None)),
        ("V1.4", ("1.4", None)),
        ("v1.10", ("1.10", None)),
        (" v1.4 ", ("1.4", None)),
        ("v1.4.3", ("1.4", V143)),
        ("1.4.3", ("1.4", V143)),
        ("v1.4.3-lts", ("1.4", V143)),
        ("1.4.3-lts", ("1.4", V143)),
        ("v0.1.0", ("0.1", ReleaseVersion(0, 1, 0))),
        ("v1.4.3-rc1", None),
        ("v1.4-lts", None),
        ("v1.4.3.1", None),
        ("v1.04", None),
        ("latest", None),
        ("v1", None),
        ("", None),
        ("v1.4.12345", None),
    ],
)
def test_parse_version_arg(text: str, expected: tuple[str, ReleaseVersion | None] | None) -> None:
    assert parse_version_arg(text) == expected


TAGS = (
    "v1.4.0",
    "v1.4.1",
    "v1.4.3",
    "v1.4.2",
    "v1.4.4-rc1",  # a pre-release: ignored
    "v1.4.9-lts",  # the other format: ignored
    "v1.5.0",  # another line
    "v11.4.7",
    "nightly",
)
ONE_AT_A_TIME = (
    "LTS lines take patch releases one at a time. "
    "An eng lead must give this command to release it anyway."
)


@dataclass(frozen=True)
class NextCase:
    id: str
    line: str
    tags: tuple[str, ...]
    requested: ReleaseVersion | None
    expected: VersionDecision
    fmt: TagFormat = "vX.Y.Z"


NEXT_CASES = [
    NextCase(
        "next after the highest tag",
        "1.4",
        TAGS,
        None,
        VersionDecision("1.4", ReleaseVersion(1, 4, 4), V143),
    ),
    NextCase(
        "the line named with a v",
        "v1.4",
        TAGS,
        None,
        VersionDecision("1.4", ReleaseVersion(1, 4, 4), V143),
    ),
    NextCase(
        "a line without tags starts at .0",
        "1.6",
        TAGS,
        None,
        VersionDecision("1.6", ReleaseVersion(1, 6, 0), None),
    ),
    NextCase(
        "no tags at all", "1.4", (), None, VersionDecision("1.4", ReleaseVersion(1, 4, 0), None)
    ),
    NextCase(
        "1.4.10 follows 1.4.9",
        "1.4",
        ("v1.4.9", "v1.4.10", "v1.4.8"),
        None,
        VersionDecision("1.4", ReleaseVersion(1, 4, 11), ReleaseVersion(1, 4, 10)),
    ),
    NextCase(
        "requested is the next",
        "1.4",
        TAGS,
        ReleaseVersion(1, 4, 4),
        VersionDecision("1.4", ReleaseVersion(1, 4, 4), V143),
    ),
    NextCase(
        "requested first release",
        "1.6",
        TAGS,
        ReleaseVersion(1, 6, 0),
        VersionDecision("1.6", ReleaseVersion(1, 6, 0), None),
    ),
    NextCase(
        "requested is the latest tag",
        "1.4",
        TAGS,
        V143,
        VersionDecision(
            "1.4",
            None,
            V143,
            error="v1.4.3 is already released; the next patch release of v1.4 is v1.4.4.",
        ),
    ),
    NextCase(
        "requested is an older tag",
        "1.4",
        TAGS,
        ReleaseVersion(1, 4, 1),
        VersionDecision(
            "1.4",
            None,
            V143,
            error=(
                "v1.4.1 is already released; the latest release of v1.4 is v1.4.3, "
                "so the next patch release is v1.4.4."
            ),
        ),
    ),
    NextCase(
        "requested is an untagged gap below the latest",
        "1.4",
        ("v1.4.0", "v1.4.2"),
        ReleaseVersion(1, 4, 1),
        VersionDecision(
            "1.4",
            None,
            ReleaseVersion(1, 4, 2),
            error=(
                "v1.4.1 is older than v1.4.2, the latest release of v1.4; "
                "the next patch release is v1.4.3."
            ),
        ),
    ),
    NextCase(
        "requested skips patch numbers",
        "1.4",
        TAGS,
        ReleaseVersion(1, 4, 6),
        VersionDecision(
            "1.4",
            ReleaseVersion(1, 4, 6),
            V143,
            needs_eng_lead=True,
            error=f"v1.4.6 skips v1.4.4; {ONE_AT_A_TIME}",
        ),
    ),
    NextCase(
        "requested skips the first release",
        "1.6",
        TAGS,
        ReleaseVersion(1, 6, 1),
        VersionDecision(
            "1.6",
            ReleaseVersion(1, 6, 1),
            None,
            needs_eng_lead=True,
            error=f"v1.6.1 skips v1.6.0; {ONE_AT_A_TIME}",
        ),
    ),
    NextCase(
        "requested on another line",
        "1.4",
        TAGS,
        ReleaseVersion(1, 5, 1),
        VersionDecision(
            "1.4",
            None,
            V143,
            error="v1.5.1 is not a release of v1.4; the next patch release of v1.4 is v1.4.4.",
        ),
    ),
    NextCase(
        "the -lts format: only its tags count, messages show it",
        "1.4",
        TAGS,
        ReleaseVersion(1, 4, 9),
        VersionDecision(
            "1.4",
            None,
            ReleaseVersion(1, 4, 9),
            error="v1.4.9-lts is already released; the next patch release of v1.4 is v1.4.10-lts.",
        ),
        fmt="vX.Y.Z-lts",
    ),
    NextCase(
        "the -lts format: next",
        "1.4",
        TAGS,
        None,
        VersionDecision("1.4", ReleaseVersion(1, 4, 10), ReleaseVersion(1, 4, 9)),
        fmt="vX.Y.Z-lts",
    ),
    NextCase(
        "not a line",
        "latest",
        TAGS,
        None,
        VersionDecision(
            "latest", None, None, error="`latest` is not an LTS line; name one such as v1.4."
        ),
    ),
]


@pytest.mark.parametrize("case", NEXT_CASES, ids=lambda c: c.id)
def test_next_version(case: NextCase) -> None:
    assert next_version(case.line, case.tags, case.fmt, case.requested) == case.expected


def test_next_version_reads_tags_once() -> None:
    # Tags may come as a generator from a paginated listing.
    decision = next_version("1.4", (tag for tag in TAGS), "vX.Y.Z")
    assert decision.version == ReleaseVersion(1, 4, 4)


# --- changelog lines ---------------------------------------------------------------------

BACKPORT_BODY = pr_body(
    version="1.4",
    ticket=7,
    source=3,
    source_title="Fix the crash",
    changelog="Fix the crash on an empty `config.yml`",
    shas=[SHA],
    method="squash",
    marker="<!-- lts-bot:backport -->",
)


def message(changelog: str | None, subject: str = "Fix it (#7)") -> str:
    trailer = f"\nChangelog: {changelog}" if changelog is not None else ""
    return f"{subject}\n\nBody.\n{trailer}\nBackport to v1.4\n"


@pytest.mark.parametrize(
    ("body", "messages", "expected"),
    [
        pytest.param("", [message("First"), message("Last")], "Last", id="last commit wins"),
        pytest.param("", [message("First"), message(None)], "First", id="earlier commit"),
        pytest.param(
            "Changelog: From the body",
            [message("From a commit")],
            "From a commit",
            id="commit over body",
        ),
        pytest.param("", [example_message(7, "1.4", "Fix")], None, id="template placeholder"),
        pytest.param(
            "", [message("Good"), message(CHANGELOG_PLACEHOLDER)], "Good", id="placeholder skipped"
        ),
        pytest.param("", [message("<to do>")], None, id="angle-bracket placeholder"),
        pytest.param(
            "", ["Fix\n\nChangelog: one\nChangelog: two"], None, id="two trailers in one commit"
        ),
        pytest.param("", ["Changelog: only a subject"], None, id="subject is no trailer"),
        pytest.param("", [message("   ")], None, id="empty trailer"),
        pytest.param("Fixes #7\n\nChangelog: Fix the crash\n", [], "Fix the crash", id="body line"),
        pytest.param("changelog:   Fix  the crash  ", [], "Fix the crash", id="body, blanks"),
        pytest.param(
            "Changelog line: Fix the crash", [], "Fix the crash", id="body changelog line"
        ),
        pytest.param("- **Changelog:** Fix the crash", [], "Fix the crash", id="bold list item"),
        pytest.param(BACKPORT_BODY, [], "Fix the crash on an empty `config.yml`", id="backport PR"),
        pytest.param(
            f"Changelog line:\n\n> {code('a `` b')}\n", [], "a `` b", id="code span with backticks"
        ),
        pytest.param(
            f"Changelog line:\n\n>{code('`x` is > y')}\n", [], "`x` is > y", id="padded code span"
        ),
        pytest.param("Changelog: `a` and `b`", [], "`a` and `b`", id="two code spans"),
        pytest.param("Changelog: ``a`b``", [], "a`b", id="one span with a backtick"),
        pytest.param("Changelog: ``a``b``", [], "``a``b``", id="span closing early"),
        pytest.param("Changelog: > 1 is > 0", [], "> 1 is > 0", id="no quote on the same line"),
        pytest.param("Changelog line:\n> > Nested", [], "Nested", id="nested quote"),
        pytest.param(
            "Changelog line:\n\n### For reviewers\n", [], None, id="heading without a line"
        ),
        pytest.param("Changelog:\n\nnot this\n", [], None, id="empty Changelog: line"),
        pytest.param(
            f"Changelog: {CHANGELOG_PLACEHOLDER}\nChangelog: Second",
            [],
            "Second",
            id="body placeholder skipped",
        ),
        pytest.param("```\nChangelog: in a fence\n```\n", [], None, id="fenced code is skipped"),
        pytest.param(
            "~~~md\nChangelog: in a fence\n~~~\nChangelog: outside\n",
            [],
            "outside",
            id="after a fence",
        ),
        pytest.param(
            "Changelog line:\n```\nin a fence\n```\n", [], None, id="heading before a fence"
        ),
        pytest.param("<!-- Changelog: in a comment -->\n", [], None, id="HTML comment is skipped"),
        pytest.param("Changelog:\r\nChangelog: CRLF line\r\n", [], "CRLF line", id="CRLF"),
        pytest.param("No changelog here.", [message(None)], None, id="nothing"),
    ],
)
def test_changelog_of(body: str, messages: list[str], expected: str | None) -> None:
    assert changelog_of(body, messages) == expected


def test_changelog_of_a_hostile_body_is_bounded() -> None:
    # A long run of backticks or blanks takes linear time, and the line is clipped.
    found = changelog_of("Changelog: " + "`" * 60_000 + "x\n" + " " * 60_000, [])
    assert found is not None
    assert found.startswith("````")
    assert len(found) <= 5_000


# --- release notes -----------------------------------------------------------------------


def change(
    pr: int,
    changelog: str | None,
    *,
    tickets: tuple[int, ...] = (),
    title: str = "",
    security: bool = False,
    cves: tuple[str, ...] = (),
    severity: str | None = None,
) -> IncludedChange:
    return IncludedChange(
        pr=pr,
        title=title or f"PR {pr}",
        url=f"{REPO_URL}/pull/{pr}",
        merge_sha=f"{pr:040x}",
        changelog=changelog,
        tickets=tickets,
        security=security,
        cves=cves,
        severity=severity,
    )


CHANGES = (
    change(12, "Fix the crash on an empty config", tickets=(7,)),
    change(14, None, title="Refactor the parser", tickets=(9, 7)),
    change(
        15,
        "Reject `..` in upload paths",
        tickets=(8,),
        security=True,
        cves=("cve-2024-10001",),
        severity="medium",
    ),
    change(16, "Bound the size of headers", tickets=(10,), security=True, cves=("CVE-2024-9999",)),
    change(17, None, title="Harden the cookie parser", security=True, severity="critical"),
)


def context(
    changes: tuple[IncludedChange, ...] = CHANGES,
    *,
    version: ReleaseVersion = V143,
    previous_tag: str | None = "v1.4.2",
) -> ReleaseContext:
    return ReleaseContext(
        repo="acme/widget",
        repo_url=REPO_URL,
        line=version.line,
        branch=f"release-lts/v{version.line}",
        version=version,
        tag=version.tag("vX.Y.Z"),
        previous_tag=previous_tag,
        head_sha=HEAD,
        package="acme-widget",
        contact="security@acme.example",
        changes=changes,
    )


EXPECTED_NOTES = f"""\
Fixes 5 issues in v1.4, including 3 security fixes.

- **Affected versions:** v1.4.2 and earlier releases of v1.4 (v1.4.2 -> v1.4.3)
- **Upgrade:** `pip install --upgrade acme-widget==1.4.3`
- **Changelog:** {REPO_URL}/compare/v1.4.2...v1.4.3

### Security

- **CVE-2024-9999**: Bound the size of headers ([#16]({REPO_URL}/pull/16), ticket #10)
- **CVE-2024-10001**: Reject `..` in upload paths ([#15]({PULL}/15), ticket #8, severity medium)
- Harden the cookie parser (no `Changelog:` line) ([#17]({REPO_URL}/pull/17), severity critical)

### Fixes

- Fix the crash on an empty config ([#12]({REPO_URL}/pull/12), ticket #7)

### Other

These pull requests have no `Changelog:` line; their titles are shown instead.

- Refactor the parser ([#14]({REPO_URL}/pull/14), tickets #9, #7)

## Build manifest

- **Tag:** `v1.4.3`
- **Commit:** `{HEAD}`
- **Branch:** `release-lts/v1.4`
- **Previous version:** `v1.4.2`
- **Tickets:** #7, #8, #9, #10
- **Pull requests:** 5

| Pull request | Merge commit |
| --- | --- |
| [#12]({REPO_URL}/pull/12) | `{12:040x}` |
| [#14]({REPO_URL}/pull/14) | `{14:040x}` |
| [#15]({REPO_URL}/pull/15) | `{15:040x}` |
| [#16]({REPO_URL}/pull/16) | `{16:040x}` |
| [#17]({REPO_URL}/pull/17) | `{17:040x}` |
"""


def test_release_notes_security_first_by_cve_then_fixes_then_other() -> None:
    assert release_notes(context()) == EXPECTED_NOTES


def test_context_properties() -> None:
    ctx = context()
    assert [c.pr for c in ctx.security_changes] == [16, 15, 17]
    assert [c.pr for c in ctx.fixes] == [12]
    assert [c.pr for c in ctx.undocumented] == [14, 17]
    assert ctx.tickets == (7, 8, 9, 10)
    assert ctx.compare_url == f"{REPO_URL}/compare/v1.4.2...v1.4.3"
    assert context(previous_tag=None).compare_url == f"{REPO_URL}/commits/v1.4.3"


def test_release_notes_of_a_first_release_without_security() -> None:
    ctx = context(CHANGES[:1], version=ReleaseVersion(1, 6, 0), previous_tag=None)
    notes = release_notes(ctx)
    assert notes.startswith(
        "Fixes 1 issue in v1.6.\n\n"
        "- **Affected versions:** none, v1.6.0 is the first release of v1.6\n"
        "- **Upgrade:** `pip install --upgrade acme-widget==1.6.0`\n"
        f"- **Changelog:** {REPO_URL}/commits/v1.6.0\n\n### Fixes\n"
    )
    assert "- **Previous version:** none (first release of v1.6)\n" in notes
    for absent in ("### Security", "### Other", "security fix"):
        assert absent not in notes


@pytest.mark.parametrize(
    ("changes", "summary"),
    [
        ((), "No changes in v1.4."),
        (CHANGES[:2], "Fixes 2 issues in v1.4."),
        (CHANGES[2:3], "Fixes 1 issue in v1.4, including 1 security fix."),
        (CHANGES, "Fixes 5 issues in v1.4, including 3 security fixes."),
    ],
)
def test_release_notes_summary(changes: tuple[IncludedChange, ...], summary: str) -> None:
    assert release_notes(context(changes)).split("\n", 1)[0] == summary


def test_undocumented_pr_is_under_other_and_flagged_by_the_checklist() -> None:
    ctx = context(CHANGES[:2])
    notes = release_notes(ctx)
    other = notes.split("### Other", 1)[1].split("## Build manifest", 1)[0]
    assert f"- Refactor the parser ([#14]({REPO_URL}/pull/14), tickets #9, #7)" in other
    assert "Fix the crash" not in other
    items = checklist(
        ChecklistInput(branch=ctx.branch, undocumented=tuple(c.pr for c in ctx.undocumented))
    )
    flagged = next(item for item in items if item.key == "changelog")
    assert flagged.state == "failed"
    assert flagged.detail == (
        "no `Changelog:` line on #14: their titles are listed under Other in the release notes"
    )


def test_release_notes_shorten_long_entries_before_folding() -> None:
    # 300 entries of 1,000 characters do not fit; cut to 100 characters they do.
    changes = tuple(change(n, "x" * 1_000, tickets=(n,)) for n in range(1, 301))
    notes = release_notes(context(changes))
    assert len(notes) <= RELEASE_BODY_LIMIT
    assert "… and" not in notes
    assert f"- {'x' * 99}… ([#300]({REPO_URL}/pull/300), ticket #300)" in notes
    assert notes.count("\n| [#") == 300


def test_release_notes_fold_lists_to_stay_within_githubs_limit() -> None:
    changes = tuple(change(n, f"Fix number {n} " + "y" * 300, tickets=(n,)) for n in range(1, 1001))
    ctx = context(changes)
    notes = release_notes(ctx)
    assert len(notes) <= RELEASE_BODY_LIMIT
    # Folded, yet close to the limit: as many entries as fit are shown.
    assert len(notes) > RELEASE_BODY_LIMIT * 0.9
    shown = notes.count(f"]({REPO_URL}/pull/") // 2  # each PR: once in Fixes, once in the table
    assert f"- … and {1000 - shown:,} more" in notes
    assert f"| … and {1000 - shown:,} more | |" in notes
    assert f"- **Commit:** `{HEAD}`" in notes
    assert notes.startswith("Fixes 1,000 issues in v1.4.")


def test_release_notes_include_the_advisory_when_asked() -> None:
    ctx = context()
    draft = advisory_draft(ctx)
    assert draft is not None
    notes = release_notes(ctx, advisory=draft)
    assert advisory_markdown(draft) in notes
    assert notes.index("## Security advisory") < notes.index("## Build manifest")


# --- advisory ----------------------------------------------------------------------------


def test_advisory_draft_follows_the_template() -> None:
    draft = advisory_draft(context())
    assert draft == AdvisoryDraft(
        summary=(
            "acme-widget 1.4.3 fixes 3 security issues: Bound the size of headers; "
            "Reject `..` in upload paths; Harden the cookie parser"
        ),
        description="\n".join(
            [
                "### Impact",
                "",
                f"- **CVE-2024-9999**: Bound the size of headers ([#16]({REPO_URL}/pull/16), "
                "ticket #10)",
                f"- **CVE-2024-10001**: Reject `..` in upload paths ([#15]({REPO_URL}/pull/15), "
                "ticket #8, severity medium)",
                "- Harden the cookie parser (no `Changelog:` line) "
                f"([#17]({REPO_URL}/pull/17), severity critical)",
                "",
                "### Mitigation",
                "",
                "Upgrade to 1.4.3. No workaround is known.",
                "",
                "### Details",
                "",
                "- **CVE:** CVE-2024-9999, CVE-2024-10001",
                "- **Severity:** critical",
                "- **Affected versions:** `>= 1.4.0, < 1.4.3` (on v1.4)",
                "- **Patched versions:** `1.4.3`",
                "- **Upgrade:** `pip install --upgrade acme-widget==1.4.3`",
                f"- **Release:** [v1.4.3]({REPO_URL}/releases/tag/v1.4.3)",
                "- **Disclosure timeline:** to be filled in (dates, if the disclosure is "
                "coordinated)",
                "- **Contact:** security@acme.example",
            ]
        ),
        severity="critical",
        cve_id="CVE-2024-9999",
        vulnerable_range=">= 1.4.0, < 1.4.3",
        patched="1.4.3",
    )


@pytest.mark.parametrize(
    ("changes", "version", "severity", "cve_id", "vulnerable"),
    [
        pytest.param(CHANGES[2:3], V143, "medium", "CVE-2024-10001", ">= 1.4.0, < 1.4.3", id="one"),
        pytest.param(
            (change(1, "Fix", security=True, severity="bogus"),),
            V143,
            "high",
            None,
            ">= 1.4.0, < 1.4.3",
            id="unknown severity and no CVE",
        ),
        pytest.param(
            (change(1, "Fix", security=True, severity="LOW"),),
            ReleaseVersion(2, 0, 0),
            "low",
            None,
            "< 2.0.0",
            id="first release of a line",
        ),
        pytest.param(
            (change(1, "Fix", security=True, cves=("GHSA-xxxx", "CVE-2023-0001")),),
            V143,
            "high",
            "CVE-2023-0001",
            ">= 1.4.0, < 1.4.3",
            id="not a CVE id is no cve_id",
        ),
    ],
)
def test_advisory_draft_fields(
    changes: tuple[IncludedChange, ...],
    version: ReleaseVersion,
    severity: str,
    cve_id: str | None,
    vulnerable: str,
) -> None:
    draft = advisory_draft(context(changes, version=version))
    assert draft is not None
    assert (draft.severity, draft.cve_id, draft.vulnerable_range, draft.patched) == (
        severity,
        cve_id,
        vulnerable,
        str(version),
    )


def test_no_advisory_without_security_changes() -> None:
    assert advisory_draft(context(CHANGES[:2])) is None
    assert advisory_draft(context(())) is None


def test_advisory_summary_stays_within_githubs_limit() -> None:
    changes = tuple(change(n, "z" * 90, security=True) for n in range(1, 200))
    draft = advisory_draft(context(changes))
    assert draft is not None
    assert len(draft.summary) == ADVISORY_SUMMARY_LIMIT
    assert draft.summary.endswith("…")
    assert "- … and 149 more" in draft.description


def test_advisory_request() -> None:
    draft = advisory_draft(context(CHANGES[2:3]))
    assert draft is not None
    assert advisory_request(draft, "acme-widget") == {
        "summary": draft.summary,
        "description": draft.description,
        "severity": "medium",
        "cve_id": "CVE-2024-10001",
        "vulnerabilities": [
            {
                "package": {"ecosystem": "pip", "name": "acme-widget"},
                "vulnerable_version_range": ">= 1.4.0, < 1.4.3",
                "patched_versions": "1.4.3",
            }
        ],
    }
    assert "cve_id" not in advisory_request(replace(draft, cve_id=None), "acme-widget")


def test_advisory_markdown() -> None:
    draft = advisory_draft(context(CHANGES[2:3]))
    assert draft is not None
    assert advisory_markdown(draft) == (
        "## Security advisory\n\n" + ADVISORY_DRAFT_WARNING + "\n\n"
        "**acme-widget 1.4.3 fixes a security issue: Reject `..` in upload paths**\n\n"
        + draft.description
    )


@pytest.mark.parametrize(
    ("package", "command"),
    [
        ("acme-widget", "pip install --upgrade acme-widget==1.4.3"),
        ("acme_widget.core", "pip install --upgrade acme_widget.core==1.4.3"),
        ("acme[cli]", "pip install --upgrade 'acme[cli]==1.4.3'"),
    ],
)
def test_upgrade_command(package: str, command: str) -> None:
    assert upgrade_command(package, V143) == command


# --- internal status ---------------------------------------------------------------------


def test_internal_status() -> None:
    text = internal_status(
        context(),
        state="full",
        published_at=datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        assets=("acme_widget-1.4.3.tar.gz", "SHA256SUMS"),
        known_issues=("slow start on Windows",),
        owners=("alice", "@bob"),
        tracking_issue=40,
    )
    assert text == "\n".join(
        [
            "### Internal status: v1.4.3",
            "",
            f"- **Release:** [v1.4.3]({REPO_URL}/releases/tag/v1.4.3) (release ticket #40)",
            "- **Time:** 2026-11-23T09:30:00Z",
            f"- **Artifacts:** [acme_widget-1.4.3.tar.gz]({REPO_URL}/releases/download/v1.4.3/"
            f"acme_widget-1.4.3.tar.gz), [SHA256SUMS]({REPO_URL}/releases/download/v1.4.3/"
            "SHA256SUMS)",
            "- **Rollout:** full",
            "- **Known issues:** slow start on Windows",
            "- **Rollback:** not needed",
            "- **Owners:** @alice, @bob",
        ]
    )


def test_internal_status_before_publishing() -> None:
    text = internal_status(
        context(), state="staging", published_at=None, rollback="executed at 2026-11-24 08:00"
    )
    assert "- **Time:** not published" in text
    assert "- **Artifacts:** none published" in text
    assert "- **Known issues:** none" in text
    assert "- **Rollback:** executed at 2026-11-24 08:00" in text
    assert "- **Owners:** none named" in text
    assert f"- **Release:** [v1.4.3]({REPO_URL}/releases/tag/v1.4.3)\n" in text


def test_internal_status_takes_a_naive_time_as_utc() -> None:
    text = internal_status(context(), state="full", published_at=datetime(2026, 1, 2, 3, 4, 5))
    assert "- **Time:** 2026-01-02T03:04:05Z" in text
    aware = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert text == internal_status(context(), state="full", published_at=aware)


# --- the pre-release checklist -----------------------------------------------------------

BRANCH = "release-lts/v1.4"
KEYS = (
    "merged-gated",
    "approvals",
    "ci",
    "security",
    "artifacts",
    "signatures",
    "sbom",
    "rollback",
    "changelog",
    "communication",
)


def states(inp: ChecklistInput) -> dict[str, ItemState]:
    return {item.key: item.state for item in checklist(inp)}


def test_checklist_keys_in_order() -> None:
    assert tuple(item.key for item in checklist(ChecklistInput(branch=BRANCH))) == KEYS


# Start with nothing ready; each step adds one fact and changes exactly the states listed.
NOTHING = ChecklistInput(
    branch=BRANCH,
    previous_tag="v1.4.2",
    require_artifacts=("checksums", "signatures", "sbom"),
    undocumented=(14,),
)
STEPS: list[tuple[str, dict[str, object], dict[str, ItemState]]] = [
    (
        "two PRs merged, one of them a security fix",
        {
            "changes": (
                ChangeChecks(12, None, None),
                ChangeChecks(14, None, None, security=True),
            )
        },
        {"merged-gated": "pending", "security": "pending"},
    ),
    (
        "lts/gate green on both",
        {
            "changes": (
                ChangeChecks(12, "success", None),
                ChangeChecks(14, "success", None, security=True),
            )
        },
        {"merged-gated": "done"},
    ),
    (
        "lts/approvals green on both",
        {
            "changes": (
                ChangeChecks(12, "success", "success"),
                ChangeChecks(14, "success", "success", security=True),
            )
        },
        {"approvals": "done"},
    ),
    (
        "security signs off",
        {
            "changes": (
                ChangeChecks(12, "success", "success"),
                ChangeChecks(14, "success", "success", security=True, security_approved=True),
            )
        },
        {"security": "done"},
    ),
    ("CI running", {"head_checks": (("test", "in_progress", None),)}, {}),
    ("CI green", {"head_checks": (("test", "completed", "success"),)}, {"ci": "done"}),
    ("a required check is missing", {"required_checks": ("lint",)}, {"ci": "pending"}),
    (
        "it reports, skipped",
        {"head_checks": (("test", "completed", "success"), ("lint", "completed", "skipped"))},
        {"ci": "done"},
    ),
    ("the wheel is attached", {"assets": ("acme_widget-1.4.3-py3-none-any.whl",)}, {}),
    (
        "its checksum",
        {"assets": ("acme_widget-1.4.3-py3-none-any.whl", "SHA256SUMS")},
        {"artifacts": "done"},
    ),
    (
        "a signature",
        {"assets": ("acme_widget-1.4.3-py3-none-any.whl", "SHA256SUMS", "SHA256SUMS.asc")},
        {"signatures": "done"},
    ),
    (
        "an SBOM",
        {
            "assets": (
                "acme_widget-1.4.3-py3-none-any.whl",
                "SHA256SUMS",
                "SHA256SUMS.asc",
                "acme-widget.cdx.json",
            )
        },
        {"sbom": "done"},
    ),
    ("the previous release is published", {"previous_release_ok": True}, {"rollback": "done"}),
    ("#14 gets a changelog line", {"undocumented": ()}, {"changelog": "done"}),
    ("the release note is drafted", {"notes_ready": True}, {}),
    ("the advisory is drafted", {"advisory_ready": True}, {"communication": "done"}),
]


def test_checklist_turns_green_one_fact_at_a_time() -> None:
    inp = NOTHING
    before = states(inp)
    assert before == {
        "merged-gated": "failed",
        "approvals": "pending",
        "ci": "pending",
        "security": "n/a",
        "artifacts": "pending",
        "signatures": "pending",
        "sbom": "pending",
        "rollback": "failed",
        "changelog": "failed",
        "communication": "pending",
    }
    assert not ready(checklist(inp))
    for name, facts, changed in STEPS:
        assert not ready(checklist(inp)), name
        inp = replace(inp, **facts)  # type: ignore[arg-type]
        after = states(inp)
        assert {k: v for k, v in after.items() if before[k] != v} == changed, name
        before = after
    assert ready(checklist(inp))
    assert set(before.values()) == {"done"}


@dataclass(frozen=True)
class ItemCase:
    id: str
    inp: ChecklistInput
    key: str
    state: ItemState
    detail: str


GREEN_PR = ChangeChecks(12, "success", "success")
ITEM_CASES = [
    ItemCase(
        "no PRs since the previous release",
        ChecklistInput(branch=BRANCH, previous_tag="v1.4.2"),
        "merged-gated",
        "failed",
        "no PRs merged into release-lts/v1.4 since v1.4.2",
    ),
    ItemCase(
        "no PRs on a new line",
        ChecklistInput(branch=BRANCH),
        "merged-gated",
        "failed",
        "no PRs merged into release-lts/v1.4 yet",
    ),
    ItemCase(
        "gate red and missing",
        ChecklistInput(
            branch=BRANCH,
            changes=(
                ChangeChecks(12, "failure", None),
                ChangeChecks(13, None, None),
                ChangeChecks(14, "neutral", None),
            ),
        ),
        "merged-gated",
        "failed",
        "`lts/gate` is not green on #12, #14; no `lts/gate` run yet on #13",
    ),
    ItemCase(
        "gate green",
        ChecklistInput(branch=BRANCH, changes=(GREEN_PR,)),
        "merged-gated",
        "done",
        "the PR has a green `lts/gate`",
    ),
    ItemCase(
        "approvals red",
        ChecklistInput(branch=BRANCH, changes=(GREEN_PR, ChangeChecks(13, "success", "failure"))),
        "approvals",
        "failed",
        "`lts/approvals` is not green on #13",
    ),
    ItemCase(
        "approvals green",
        ChecklistInput(branch=BRANCH, changes=(GREEN_PR, replace(GREEN_PR, pr=13))),
        "approvals",
        "done",
        "all 2 PRs have a green `lts/approvals`",
    ),
    ItemCase(
        "many PRs are counted",
        ChecklistInput(
            branch=BRANCH, changes=tuple(ChangeChecks(n, None, None) for n in range(1, 26))
        ),
        "approvals",
        "pending",
        "no `lts/approvals` run yet on " + ", ".join(f"#{n}" for n in range(1, 21)) + " and 5 more",
    ),
    ItemCase(
        "CI failed, running and missing",
        ChecklistInput(
            branch=BRANCH,
            head_checks=(
                ("test", "completed", "failure"),
                ("build", "queued", None),
                ("docs", "completed", "neutral"),
                ("lint", "completed", "timed_out"),
            ),
            required_checks=("test", "ci / e2e"),
        ),
        "ci",
        "failed",
        "failed: `test` (failure), `lint` (timed_out); running: `build`; "
        "required but not reported: `ci / e2e`",
    ),
    ItemCase(
        "a re-run replaces the earlier run",
        ChecklistInput(
            branch=BRANCH,
            head_checks=(("test", "completed", "failure"), ("test", "completed", "success")),
        ),
        "ci",
        "done",
        "1 check passed",
    ),
    ItemCase(
        "no checks at all",
        ChecklistInput(branch=BRANCH),
        "ci",
        "pending",
        "no check has reported on the branch head",
    ),
    ItemCase(
        "security waits",
        ChecklistInput(
            branch=BRANCH,
            changes=(
                ChangeChecks(12, "success", "success", security=True),
                ChangeChecks(13, "success", "success", security=True, security_approved=True),
            ),
        ),
        "security",
        "pending",
        "waiting for a security sign-off on #12",
    ),
    ItemCase(
        "only checksums",
        ChecklistInput(branch=BRANCH, assets=("x.whl.sha256",)),
        "artifacts",
        "pending",
        "no artifact is attached to the draft release",
    ),
    ItemCase(
        "no checksums",
        ChecklistInput(branch=BRANCH, assets=("x.whl", "x.tar.gz")),
        "artifacts",
        "pending",
        "no checksum file (`*.sha256` or `SHA256SUMS`)",
    ),
    ItemCase(
        "checksums not required",
        ChecklistInput(branch=BRANCH, assets=("x.whl",), require_artifacts=()),
        "artifacts",
        "done",
        "1 artifact",
    ),
    ItemCase(
        "artifacts with checksums",
        ChecklistInput(
            branch=BRANCH, assets=("x.whl", "x.tar.gz", "x.whl.SHA256", "sha256sums.txt")
        ),
        "artifacts",
        "done",
        "2 artifacts and 2 checksum files",
    ),
    ItemCase(
        "signatures not required",
        ChecklistInput(branch=BRANCH),
        "signatures",
        "n/a",
        "not required by this repository",
    ),
    ItemCase(
        "signatures missing",
        ChecklistInput(
            branch=BRANCH, assets=("x.whl", "SHA256SUMS"), require_artifacts=("signatures",)
        ),
        "signatures",
        "pending",
        "no signature (`.sig`, `.asc`, `.sigstore`, `.sigstore.json` or `.minisig`) is attached",
    ),
    ItemCase(
        "sbom missing",
        ChecklistInput(branch=BRANCH, assets=("x.whl",), require_artifacts=("sbom",)),
        "sbom",
        "pending",
        "no SBOM (SPDX or CycloneDX) is attached",
    ),
    ItemCase(
        "first release: no rollback",
        ChecklistInput(branch=BRANCH),
        "rollback",
        "n/a",
        "first release of the line",
    ),
    ItemCase(
        "previous release withdrawn",
        ChecklistInput(branch=BRANCH, previous_tag="v1.4.2"),
        "rollback",
        "failed",
        "`v1.4.2` is missing, a draft or withdrawn: publish a safe release to fall back to",
    ),
    ItemCase(
        "undocumented PRs",
        ChecklistInput(branch=BRANCH, undocumented=(14, 15)),
        "changelog",
        "failed",
        "no `Changelog:` line on #14, #15: "
        "their titles are listed under Other in the release notes",
    ),
    ItemCase(
        "advisory missing",
        ChecklistInput(
            branch=BRANCH,
            changes=(ChangeChecks(12, None, None, security=True),),
            notes_ready=True,
            advisory_ready=False,
        ),
        "communication",
        "pending",
        "the security advisory is not drafted",
    ),
    ItemCase(
        "nothing drafted",
        ChecklistInput(branch=BRANCH, changes=(ChangeChecks(12, None, None, security=True),)),
        "communication",
        "pending",
        "the release note is not drafted; the security advisory is not drafted",
    ),
]


@pytest.mark.parametrize("case", ITEM_CASES, ids=lambda c: c.id)
def test_checklist_item(case: ItemCase) -> None:
    item = next(item for item in checklist(case.inp) if item.key == case.key)
    assert (item.state, item.detail) == (case.state, case.detail)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("acme_widget-1.4.3-py3-none-any.whl", "artifact"),
        ("acme-widget-1.4.3.tar.gz", "artifact"),
        ("acme-widget-1.4.3.tar.gz.sha256", "checksums"),
        ("SHA256SUMS", "checksums"),
        ("sha256sums.TXT", "checksums"),
        ("SHA256SUMS.asc", "signatures"),
        ("x.whl.sig", "signatures"),
        ("x.whl.sigstore", "signatures"),
        ("x.whl.sigstore.json", "signatures"),
        ("x.whl.minisig", "signatures"),
        ("acme.spdx", "sbom"),
        ("acme.spdx.json", "sbom"),
        ("acme.cdx.json", "sbom"),
        ("acme.cyclonedx.json", "sbom"),
        ("acme.cdx.xml", "sbom"),
        ("acme-SBOM.json", "sbom"),
        ("acme.spdx.json.sig", "signatures"),
        ("acme.cdx.json.sha256", "checksums"),
        ("checksums.sha512", "artifact"),
    ],
)
def test_asset_kind(name: str, kind: str) -> None:
    assert asset_kind(name) == kind


def test_render_checklist_and_ready() -> None:
    items = (
        ChecklistItem("a", "Done item", "done", "all good"),
        ChecklistItem("b", "Skipped item", "n/a", "first release of the line"),
        ChecklistItem("c", "Waiting item", "pending", "CI running"),
        ChecklistItem("d", "Broken item", "failed", "no `Changelog:` line on #14"),
        ChecklistItem("e", "Bare item", "done"),
    )
    assert render_checklist(items) == "\n".join(
        [
            "- [x] Done item — all good",
            "- [x] Skipped item (not applicable) — first release of the line",
            "- [ ] Waiting item — CI running",
            "- [ ] ❌ Broken item — no `Changelog:` line on #14",
            "- [x] Bare item",
        ]
    )
    assert not ready(items)
    assert ready(items[:2] + items[4:])
    assert ready(())


# --- rollback ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v1.4.3", "[withdrawn] v1.4.3"),
        ("LTS 1.4.3", "[withdrawn] LTS 1.4.3"),
        (None, "[withdrawn] v1.4.3"),
        ("", "[withdrawn] v1.4.3"),
        ("   ", "[withdrawn] v1.4.3"),
        ("[withdrawn] v1.4.3", "[withdrawn] v1.4.3"),
    ],
)
def test_withdrawn_name(name: str | None, expected: str) -> None:
    assert withdrawn_name(name, "v1.4.3") == expected
    assert withdrawn_name(withdrawn_name(name, "v1.4.3"), "v1.4.3") == expected
    assert expected.startswith(WITHDRAWN_PREFIX)


WITHDRAWN = """\
<!-- lts-bot:withdrawn -->
> [!WARNING]
> **`v1.4.3` is withdrawn.** Reason: crashes on start-up
>
> Go back to `v1.4.2`: `pip install acme-widget==1.4.2`
<!-- /lts-bot:withdrawn -->

Fixes 1 issue in v1.4."""


def test_withdrawn_body() -> None:
    args = {"tag": "v1.4.3", "safe_tag": "v1.4.2", "package": "acme-widget"}
    body = withdrawn_body("Fixes 1 issue in v1.4.", reason="crashes on start-up", **args)
    assert body == WITHDRAWN
    # Idempotent, and a new reason replaces the block rather than stacking it.
    assert withdrawn_body(body, reason="crashes on start-up", **args) == body
    again = withdrawn_body(body, reason="corrupts the cache", **args)
    assert again == WITHDRAWN.replace("crashes on start-up", "corrupts the cache")
    assert again.count(WITHDRAWN_START) == again.count(WITHDRAWN_END) == 1


@pytest.mark.parametrize(
    ("safe_tag", "line"),
    [
        ("v1.4.2-lts", "> Go back to `v1.4.2-lts`: `pip install acme-widget==1.4.2`"),
        (
            None,
            "> There is no earlier release of v1.4 to go back to: stay on the version you ran "
            "before, or wait for a fixed release.",
        ),
    ],
)
def test_withdrawn_body_go_back(safe_tag: str | None, line: str) -> None:
    body = withdrawn_body(
        None, tag="v1.4.3-lts", reason="", safe_tag=safe_tag, package="acme-widget"
    )
    assert body.split("\n")[2] == "> **`v1.4.3-lts` is withdrawn.** Reason: none given"
    assert body.split("\n")[4] == line
    assert body.endswith(f"{WITHDRAWN_END}\n")


def test_withdrawn_body_keeps_markers_out_of_the_reason() -> None:
    args = {"tag": "v1.4.3", "safe_tag": "v1.4.2", "package": "acme-widget"}
    reason = f"bad {WITHDRAWN_END} <b>bold</b>\nsecond line"
    body = withdrawn_body("Notes.", reason=reason, **args)
    assert (
        "Reason: bad &lt;!-- /lts-bot:withdrawn --&gt; &lt;b&gt;bold&lt;/b&gt; second line" in body
    )
    assert withdrawn_body(body, reason=reason, **args) == body


@settings(max_examples=200)
@given(st.text(), st.text())
def test_withdrawn_body_is_idempotent_on_any_body(body: str, reason: str) -> None:
    args = {"tag": "v1.4.3", "safe_tag": "v1.4.2", "package": "acme-widget"}
    once = withdrawn_body(body, reason=reason, **args)
    assert withdrawn_body(once, reason=reason, **args) == once
    assert once.startswith(WITHDRAWN_START)


def test_incident_texts() -> None:
    assert incident_title("v1.4.3") == "Rollback of v1.4.3"
    body = incident_body(
        tag="v1.4.3",
        reason="crashes on start-up",
        actor="alice",
        safe_tag="v1.4.2",
        package="acme-widget",
        tracking_issue=40,
    )
    lines = body.split("\n")
    assert lines[0] == "@alice rolled back `v1.4.3` (release ticket #40): crashes on start-up."
    tasks = [line for line in lines if line.startswith("- [ ] ")]
    assert tasks[:6] == [
        "- [ ] Stop the staged rollout and tell the release manager and the on-call SRE.",
        "- [ ] Mark `1.4.3` deprecated in the registry: yank it (on PyPI, the release's Options "
        "menu, Yank), so `pip` installs it only when pinned exactly.",
        "- [ ] Direct users to the pinned previous version `v1.4.2` "
        "(`pip install acme-widget==1.4.2`), or re-publish it if the registry lost it.",
        "- [ ] Run remediation scripts only where they are safe: never reverse a data "
        "migration blindly.",
        "- [ ] Re-run the smoke tests on `v1.4.2` and watch health for 48 to 72 hours.",
        "- [ ] Notify stakeholders: users, the security contact if the release fixed a "
        "vulnerability, and the internal status.",
    ]
    postmortem = body.split("## Postmortem", 1)[1]
    headings = [line for line in postmortem.split("\n") if line.startswith("### ")]
    assert headings == [
        "### Timeline",
        "### Root cause",
        "### Contributing factors",
        "### Corrective actions",
        "### Follow-up",
    ]
    assert "the tracking issue #40" in postmortem
    assert "| Action (test, process change, automation) | Owner | Deadline |" in postmortem
    assert "- [ ] Postmortem shared\n- [ ] Runbooks updated" in postmortem


def test_incident_body_without_a_safe_release_or_tracking_issue() -> None:
    body = incident_body(
        tag="v1.4.0-lts",
        reason="",
        actor="@bob",
        safe_tag=None,
        package="acme-widget",
        tracking_issue=None,
    )
    assert body.startswith("@bob rolled back `v1.4.0-lts`: no reason given.\n")
    assert (
        "- [ ] There is no earlier release of v1.4 to go back to: stay on the version you ran "
        "before, or wait for a fixed release."
    ) in body
    assert "Mark `1.4.0` deprecated" in body
    assert "#" not in body.split("## Postmortem", 1)[1].replace("### ", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.4.3 crashes on start-up", True),
        ("Since 1.4.3 the parser hangs", True),
        ("Regression in V1.4.3.", True),
        ("regression (1.4.3)", True),
        ("see release-v1.4.3", True),
        ("see #40", True),
        ("Follow-up of #40.", True),
        ("broken after upgrading to 1.4.30", False),
        ("broken on 11.4.3", False),
        ("broken on 1.4.3.1", False),
        ("broken on 1.4.3rc1", False),
        ("broken on v1.4.3-rc1", False),
        ("broken on 1.4.3+local", False),
        ("broken on 2.1.4.3", False),
        ("see #400", False),
        ("see acme/other#40", False),
        ("see issue40", False),
        ("v1.4.2 crashes", False),
        ("", False),
    ],
)
def test_references_release(text: str, expected: bool) -> None:
    assert references_release(text, V143, "v1.4.3", 40) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1.4.3-lts crashes", True),
        ("1.4.3 crashes", True),
        ("v1.4.3-lts-rc1 crashes", False),
        ("#40 crashes", False),
    ],
)
def test_references_release_lts_tag_without_tracking_issue(text: str, expected: bool) -> None:
    assert references_release(text, V143, "v1.4.3-lts", None) is expected


# --- going back, and what is still to ship ---------------------------------------------


@pytest.mark.parametrize(
    ("releases", "want"),
    [
        ([], None),
        ([PublishedRelease("v1.4.1"), PublishedRelease("v1.4.2")], "v1.4.2"),
        # Drafts, withdrawn releases, other lines, later versions and foreign tags are skipped.
        (
            [
                PublishedRelease("v1.4.1"),
                PublishedRelease("v1.4.2", name="[withdrawn] v1.4.2"),
                PublishedRelease("v1.4.2-rc1"),
                PublishedRelease("v1.4.4", draft=True),
                PublishedRelease("v1.5.0"),
                PublishedRelease("v1.4.9"),
                PublishedRelease("nightly"),
            ],
            "v1.4.1",
        ),
    ],
)
def test_safe_release(releases: list[PublishedRelease], want: str | None) -> None:
    assert safe_release(ReleaseVersion(1, 4, 3), releases, "vX.Y.Z") == want


def test_safe_release_in_the_lts_tag_format() -> None:
    releases = [PublishedRelease("v1.4.1-lts"), PublishedRelease("v1.4.2")]
    assert safe_release(ReleaseVersion(1, 4, 3), releases, "vX.Y.Z-lts") == "v1.4.1-lts"


@pytest.mark.parametrize(
    ("planned", "labels", "want"),
    [
        (("1.4", "1.3"), ["released/v1.4.1"], ("v1.3",)),
        (("1.4", "1.3"), ["released/v1.4.1", "released/v1.3.0-lts"], ()),
        # v1.4.1 is not a release of line 1.41, nor v1.41.0 of line 1.4.
        (("1.41",), ["released/v1.4.1"], ("v1.41",)),
        (("1.4",), ["released/v1.41.0", "backported/v1.4"], ("v1.4",)),
        ((), ["released/v1.4.1"], ()),
    ],
)
def test_unshipped_lines(
    planned: tuple[str, ...], labels: list[str], want: tuple[str, ...]
) -> None:
    assert unshipped_lines(planned, labels) == want
