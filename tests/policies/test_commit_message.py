"""The `lts/commit-message` check run: ticket reference, changelog trailer and target line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import LineConfig, RepoConfig
from bot.decisions import CHECK_TEXT_LIMIT, CheckRunDecision
from bot.policies.commit_message import (
    CHECK_NAME,
    EXAMPLE,
    MAX_LISTED,
    MAX_MESSAGE_CHARS,
    CommitInfo,
    changelog_line,
    evaluate,
    example_message,
    parse_trailers,
)

CONFIG = RepoConfig(
    lines=(
        LineConfig(version="1.4", eol=date(2027, 6, 30)),
        LineConfig(version="1.10", eol=date(2028, 6, 30)),
    )
)
REPO = "https://github.com/acme/widget"
GOOD = (
    "Fix the crash on empty input (#123)\n\nWhy and what.\n\n"
    "Changelog: Fixed a crash\nBackport to v1.4"
)
SHA = "0123456789abcdef0123456789abcdef01234567"


def check(
    *messages: str, ticket: int | None = 123, version: str = "1.4", repo_url: str = REPO
) -> CheckRunDecision:
    commits = [CommitInfo(f"{i:07x}" + "0" * 33, message) for i, message in enumerate(messages)]
    return evaluate(commits, ticket=ticket, base_version=version, repo_url=repo_url, config=CONFIG)


# --- trailers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Subject\n\nBody\n\nChangelog: x\nSigned-off-by: A <a@b>",
            {"changelog": ["x"], "signed-off-by": ["A <a@b>"]},
        ),
        ("Subject\r\n\r\nChangelog: x\r\nBackport to v1.4\r\n", {"changelog": ["x"]}),
        ("Subject\n\nChangelog: x   \t\n\n\n  \n", {"changelog": ["x"]}),
        ("Subject\n\nChangelog:   spaced out  ", {"changelog": ["spaced out"]}),
        ("Subject\n\nCHANGELOG : x", {"changelog": ["x"]}),
        ("Subject\n\nChangelog: a\nChangelog: b", {"changelog": ["a", "b"]}),
        ("Subject\n\nChangelog: first\n  second", {"changelog": ["first\nsecond"]}),
        ("Subject\n\nChangelog:\n  on the next line", {"changelog": ["on the next line"]}),
        ("Subject\n\nChangelog:", {"changelog": [""]}),
        # Prose and git's own lines may share the last paragraph.
        (
            "Subject\n\nChangelog: x\nBackport to v1.4\n(cherry picked from commit abc)",
            {"changelog": ["x"]},
        ),
        # An indented line after prose continues nothing.
        ("Subject\n\nprose\n  indented\nKey: v", {"key": ["v"]}),
        # A URL on its own line is not a trailer.
        ("Subject\n\nhttps://github.com/acme/widget/issues/123", {}),
        # Only the last paragraph counts; the subject paragraph never does.
        ("Subject\n\nChangelog: x\n\nMore prose.", {}),
        ("Changelog: x", {}),
        ("Subject\nChangelog: x", {}),
        ("\n\nChangelog: x", {}),
        ("", {}),
        ("Subject\n\nNot a trailer line", {}),
        ("Subject\n\nTwo words: no", {}),
    ],
)
def test_parse_trailers_reads_the_last_paragraph(
    message: str, expected: dict[str, list[str]]
) -> None:
    assert parse_trailers(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (GOOD, "Fixed a crash"),
        ("S\n\nchangelog: lower case key", "lower case key"),
        ("S\n\nChangelog:", None),
        ("S\n\nChangelog: a\nChangelog: b", None),
        ("S\n\nChangelog: wrapped\n  value", None),
        ("S\n\nChangelog: mid-body\n\nThe end.", None),
        ("S", None),
    ],
)
def test_changelog_line_is_one_non_empty_line(message: str, expected: str | None) -> None:
    assert changelog_line(message) == expected


# --- the example -------------------------------------------------------------------------


def test_the_example_follows_the_template_and_passes() -> None:
    assert EXAMPLE == (
        "Fix the crash on an empty configuration file (#123)\n\n"
        "<why the change is needed and what it does>\n\n"
        "Changelog: <one line for the release notes>\n"
        "Backport to v1.4"
    )
    filled = EXAMPLE.replace("<one line for the release notes>", "Fixed a crash")
    assert check(filled).conclusion == "success"


@pytest.mark.parametrize(
    ("ticket", "version", "summary", "changelog", "subject", "last"),
    [
        (123, "1.4", "Fix it", None, "Fix it (#123)", "Backport to v1.4"),
        (123, "v1.4", "Fix it (#123)", None, "Fix it (#123)", "Backport to v1.4"),
        (123, "1.4", "Fix it (#1234)", None, "Fix it (#1234) (#123)", "Backport to v1.4"),
        (None, "1.10", "Fix it", "Fixed", "Fix it (#<N>)", "Backport to v1.10"),
        (7, "1.4", "  ", None, "<short summary> (#7)", "Backport to v1.4"),
    ],
)
def test_example_message(
    ticket: int | None,
    version: str,
    summary: str,
    changelog: str | None,
    subject: str,
    last: str,
) -> None:
    lines = example_message(ticket, version, summary, changelog=changelog).split("\n")
    assert lines[0] == subject
    assert lines[-1] == last
    assert lines[-2] == f"Changelog: {changelog or '<one line for the release notes>'}"


# --- evaluate: table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    messages: tuple[str, ...]
    conclusion: str
    title: str
    summary_lines: tuple[str, ...] = ()
    ticket: int | None = 123
    version: str = "1.4"


def msg(subject: str = "Fix the crash (#123)", *trailers: str, body: str = "Why.") -> str:
    return "\n\n".join([subject, body, "\n".join(trailers)])


CL, BP = "Changelog: Fixed a crash", "Backport to v1.4"
NO_REF = "no reference to the ticket"

CASES: dict[str, Case] = {
    "every element": Case(
        (GOOD,),
        "success",
        "The commit names #123, a changelog line and v1.4",
        (
            "The commit references #123, carries a `Changelog:` line and says `Backport to v1.4`.",
            "- `Fixed a crash`",
        ),
    ),
    "several good commits, CRLF and the issue URL": Case(
        (
            GOOD,
            GOOD.replace("\n", "\r\n"),
            msg("Fix it", CL, BP, body="See https://github.com/acme/widget/issues/123."),
            msg("Fix it", CL, BP, body="See ACME/Widget#123."),
            msg("Fix it", CL, "backport to v1.4.", body="#123"),
        ),
        "success",
        "All 5 commits name #123, a changelog line and v1.4",
    ),
    "no ticket reference": Case(
        (msg("Fix the crash", CL, BP),),
        "failure",
        "1 of 1 commit message needs fixing (#123)",
        (f"- `0000000` `Fix the crash`: {NO_REF}",),
    ),
    "another issue, another repository, or a longer number": Case(
        (
            msg("Fix (#1234)", CL, BP),
            msg("Fix other/repo#123", CL, BP),
            msg("Fix abc#123", CL, BP),
            msg("Fix", CL, BP, body="https://github.com/acme/widget/issues/1234"),
            msg("Fix", CL, BP, body="https://github.com/acme/other/issues/123"),
            msg("Fix", CL, BP, body="https://github.com/acme/widget/pull/123"),
        ),
        "failure",
        "6 of 6 commit messages need fixing (#123)",
    ),
    "no changelog line": Case(
        (msg("Fix (#123)", BP),),
        "failure",
        "1 of 1 commit message needs fixing (Changelog line)",
        ("- `0000000` `Fix (#123)`: no `Changelog:` line",),
    ),
    "a changelog line mid-body": Case(
        ("Fix (#123)\n\nChangelog: Fixed it\n\nMore words.\n\nBackport to v1.4",),
        "failure",
        "1 of 1 commit message needs fixing (Changelog line)",
        (
            "- `0000000` `Fix (#123)`: its `Changelog:` line is not in the last paragraph "
            "(put it at the end, after a blank line)",
        ),
    ),
    "a changelog line right under the subject": Case(
        ("Fix (#123)\nChangelog: Fixed it\nBackport to v1.4",),
        "failure",
        "1 of 1 commit message needs fixing (Changelog line)",
        ("its `Changelog:` line is not in the last paragraph",),
    ),
    "an empty, a doubled, a wrapped and a placeholder changelog": Case(
        (
            msg("A (#123)", "Changelog:", BP),
            msg("B (#123)", CL, "Changelog: again", BP),
            msg("C (#123)", "Changelog: starts here", "  and goes on", BP),
            msg("D (#123)", "Changelog: <one line for the release notes>", BP),
        ),
        "failure",
        "4 of 4 commit messages need fixing (Changelog line)",
        (
            "- `0000000` `A (#123)`: an empty `Changelog:` line",
            "- `0000001` `B (#123)`: 2 `Changelog:` lines (keep one)",
            "- `0000002` `C (#123)`: a `Changelog:` line that continues on the next line "
            "(keep it to one line)",
            "- `0000003` `D (#123)`: the template's placeholder as `Changelog:` "
            "(`<one line for the release notes>`)",
        ),
    ),
    "no backport line": Case(
        (msg("Fix (#123)", CL),),
        "failure",
        "1 of 1 commit message needs fixing (Backport to v1.4)",
        ("- `0000000` `Fix (#123)`: no `Backport to v1.4` line",),
    ),
    "a backport line for another line or without v": Case(
        (
            msg("A (#123)", CL, "Backport to v1.3"),
            msg("B (#123)", CL, "Backport to 1.4"),
            msg("C (#123)", CL, "Backported to v1.4"),
            msg("D (#123)", CL, "Backport to v1.40"),
        ),
        "failure",
        "4 of 4 commit messages need fixing (Backport to v1.4)",
        (
            "- `0000000` `A (#123)`: `Backport to v1.3` instead of `Backport to v1.4`",
            "- `0000001` `B (#123)`: `Backport to 1.4` instead of `Backport to v1.4`",
            "- `0000002` `C (#123)`: `Backported to v1.4` instead of `Backport to v1.4`",
        ),
    ),
    "v1.1 is not v1.10": Case(
        (msg("Fix (#123)", CL, "Backport to v1.1"),),
        "failure",
        "1 of 1 commit message needs fixing (Backport to v1.10)",
        version="1.10",
    ),
    "nothing at all": Case(
        ("wip",),
        "failure",
        "1 of 1 commit message needs fixing (#123, Changelog line and Backport to v1.4)",
        (
            f"- `0000000` `wip`: {NO_REF}; no `Changelog:` line; no `Backport to v1.4` line",
            "Reword the listed commits to add `#123`, a `Changelog:` line and "
            "`Backport to v1.4`: `git rebase -i origin/release-lts/v1.4` and mark each one "
            "`reword` (for the last commit alone, `git commit --amend` is enough), then "
            "`git push --force-with-lease`. Working from a fork, use the remote that points at "
            "this repository instead of `origin`.",
            "For example, `0000000` could read:",
            "wip (#123)",
            "<why the change is needed and what it does>",
            "Changelog: <one line for the release notes>",
            "Backport to v1.4",
        ),
    ),
    "the example keeps a good changelog": Case(
        (msg("Fix", CL, BP),),
        "failure",
        "1 of 1 commit message needs fixing (#123)",
        ("Fix (#123)", "Changelog: Fixed a crash"),
    ),
    "good and bad mixed": Case(
        (GOOD, "wip", GOOD),
        "failure",
        "1 of 3 commit messages needs fixing (#123, Changelog line and Backport to v1.4)",
        ("**1 of 3 commits** needs a fixed message.",),
    ),
    "backticks and blank subjects": Case(
        ("Fix `x` ``y``", "\n\n  \n"),
        "failure",
        "2 of 2 commit messages need fixing (#123, Changelog line and Backport to v1.4)",
        ("- `0000000` ``` Fix `x` ``y`` ```: ", "- `0000001` (empty message): "),
    ),
    "no ticket known: any reference counts": Case(
        (msg("Fix (#77)", CL, BP), msg("Fix", CL, BP)),
        "failure",
        "1 of 2 commit messages needs fixing (#N)",
        (
            "- a reference to the ticket: `#N` or `https://github.com/acme/widget/issues/N`;",
            "The head branch names no ticket (see `lts/branch-name`), so any issue reference "
            "`#N` is accepted here.",
            "Fix (#<N>)",
        ),
        ticket=None,
    ),
    "a base that is not a configured line": Case(
        (GOOD,),
        "neutral",
        "v9.9 is not a configured LTS line",
        version="9.9",
    ),
    "no commits": Case((), "neutral", "No commits to check"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_evaluate(case: Case) -> None:
    decision = check(*case.messages, ticket=case.ticket, version=case.version)
    assert decision.name == CHECK_NAME
    assert (decision.conclusion, decision.title) == (case.conclusion, case.title)
    lines = decision.summary.splitlines()
    for line in case.summary_lines:
        assert line in lines or line in decision.summary, (line, decision.summary)


def test_merge_commits_are_skipped() -> None:
    commits = [
        CommitInfo(SHA, GOOD),
        CommitInfo("f" * 40, "Merge branch 'release-lts/v1.4'", parents=2),
        CommitInfo("e" * 40, "Octopus", parents=3),
    ]
    decision = evaluate(commits, ticket=123, base_version="1.4", repo_url=REPO, config=CONFIG)
    assert decision.conclusion == "success"
    assert decision.title == (
        "The commit names #123, a changelog line and v1.4 (2 merge commits skipped)"
    )
    only_merges = evaluate(
        commits[1:], ticket=123, base_version="v1.4", repo_url=REPO, config=CONFIG
    )
    assert only_merges.conclusion == "neutral"
    assert only_merges.title == "No commits to check (2 merge commits skipped)"


def test_a_repo_url_that_is_not_a_url_still_accepts_hash_references() -> None:
    assert check(GOOD, repo_url="").conclusion == "success"
    assert check(GOOD, repo_url="not a url").conclusion == "success"
    assert "`#123` or `<repository URL>/issues/123`" in check("wip", repo_url="").summary


# --- bounds ------------------------------------------------------------------------------


def test_ten_thousand_bad_commits_list_the_first_250() -> None:
    commits = [CommitInfo(f"{i:040x}", f"wip {i}") for i in range(10_000)]
    decision = evaluate(commits, ticket=123, base_version="1.4", repo_url=REPO, config=CONFIG)
    assert decision.conclusion == "failure"
    assert decision.title.startswith("10,000 of 10,000 commit messages need fixing")
    entries = [line for line in decision.summary.splitlines() if line.startswith("- `")]
    assert len(entries) == MAX_LISTED
    assert entries[-1].startswith("- `0000000` `wip 249`")
    assert "- … and 9,750 more (the first 250 are listed)" in decision.summary
    assert len(decision.summary) <= CHECK_TEXT_LIMIT


def test_ten_thousand_good_commits_pass() -> None:
    commits = [CommitInfo(f"{i:040x}", GOOD) for i in range(10_000)]
    decision = evaluate(commits, ticket=123, base_version="1.4", repo_url=REPO, config=CONFIG)
    assert decision.conclusion == "success"
    assert decision.title == "All 10,000 commits name #123, a changelog line and v1.4"
    assert "- … and 9,750 more" in decision.summary


def test_long_subjects_and_problems_stay_within_the_size_limit() -> None:
    subject = "x" * 5_000
    near_miss = "Backport to " + "y" * 5_000
    commits = [CommitInfo(f"{i:040x}", f"{subject}\n\n{near_miss}") for i in range(300)]
    decision = evaluate(commits, ticket=123, base_version="1.4", repo_url=REPO, config=CONFIG)
    assert len(decision.summary) <= CHECK_TEXT_LIMIT
    assert len(decision.title) <= 255
    assert "x" * 71 + "…" in decision.summary
    assert "- … and 50 more (the first 250 are listed)" in decision.summary


def test_the_list_stops_early_rather_than_overflow_the_summary() -> None:
    # Backticks make every entry as long as it gets: each code span needs a longer fence.
    subject = "`" * 5_000
    near_miss = "Backport to " + "`" * 5_000
    commits = [CommitInfo("`" * 40, f"{subject}\n\n{near_miss}") for i in range(300)]
    decision = evaluate(commits, ticket=123, base_version="1.4", repo_url=REPO, config=CONFIG)
    assert len(decision.summary) <= CHECK_TEXT_LIMIT
    assert "cut to fit" not in decision.summary
    entries = [line for line in decision.summary.splitlines() if line.startswith("- `")]
    assert len(entries) < MAX_LISTED
    assert decision.summary.endswith(
        f"- … and {300 - len(entries)} more (the first {len(entries)} are listed)"
    )


def test_a_megabyte_message_is_read_at_both_ends() -> None:
    filler = ("lorem ipsum " * 10 + "\n") * 8_500  # about 1 MB
    good = f"Fix (#123)\n\n{filler}\nChangelog: Fixed a crash\nBackport to v1.4"
    assert len(good) > 1_000_000
    decision = check(good)
    assert decision.conclusion == "success"
    assert (
        f"1 commit message longer than {MAX_MESSAGE_CHARS:,} characters: lts-bot read the "
        "first and last 32,768 characters of each."
    ) in decision.summary


def test_a_reference_only_in_the_unread_middle_is_not_seen() -> None:
    half = ("lorem ipsum " * 10 + "\n") * 300
    message = f"Fix\n\n{half}See #123.\n{half}\nChangelog: Fixed\nBackport to v1.4"
    decision = check(message)
    assert decision.conclusion == "failure"
    assert decision.title == "1 of 1 commit message needs fixing (#123)"


def test_a_long_line_of_blanks_is_cheap() -> None:
    # Regexes with two optional runs in a row would take minutes here.
    message = "Fix (#123)\n\nBackport" + " " * 60_000 + "x\nChangelog" + " " * 60_000 + "x"
    assert check(message).conclusion == "failure"


# --- properties --------------------------------------------------------------------------

_MESSAGE = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            [
                "",
                " ",
                "Subject (#123)",
                "Changelog: x",
                "Changelog:",
                "  cont",
                "Backport to v1.4",
                "backport to 1.4",
                "#123",
                "\r",
                "`",
                "Key: v",
                "https://github.com/acme/widget/issues/123",
            ]
        ),
        max_size=12,
    ).map("\n".join),
)


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(st.tuples(st.text(max_size=45), _MESSAGE, st.integers(0, 3)), max_size=6),
    ticket=st.one_of(st.none(), st.integers(-3, 10**12)),
    version=st.one_of(st.sampled_from(["1.4", "v1.4", "1.10"]), st.text(max_size=8)),
    repo_url=st.one_of(st.just(REPO), st.text(max_size=40)),
)
def test_evaluate_never_raises(
    messages: list[tuple[str, str, int]], ticket: int | None, version: str, repo_url: str
) -> None:
    commits = [CommitInfo(sha, message, parents) for sha, message, parents in messages]
    decision = evaluate(
        commits, ticket=ticket, base_version=version, repo_url=repo_url, config=CONFIG
    )
    assert decision.conclusion in ("success", "failure", "neutral")
    assert len(decision.title) <= 255
    assert len(decision.summary) <= CHECK_TEXT_LIMIT


@settings(max_examples=200, deadline=None)
@given(message=_MESSAGE)
def test_parse_trailers_never_raises_and_keys_are_lower_case(message: str) -> None:
    trailers = parse_trailers(message)
    assert all(key == key.lower() and values for key, values in trailers.items())
    line = changelog_line(message)
    assert line is None or (line and "\n" not in line)


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=300))
def test_any_body_passes_with_the_template_around_it(body: str) -> None:
    message = f"Fix (#123)\n\n{body}\n\nChangelog: Fixed a crash\nBackport to v1.4"
    assert check(message).conclusion == "success"
