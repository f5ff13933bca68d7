"""Automatic backports: pick plans, ticket references, messages, names, texts and the matrix."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import LineConfig, RepoConfig
from bot.policies import branches
from bot.policies.backport import (
    CommitData,
    PickMethod,
    PickPlan,
    backport_message,
    branch_name,
    changelog_line,
    conflict_comment,
    failure_comment,
    matrix_transition,
    plan_pick,
    pr_body,
    pr_title,
    render_matrix,
    ticket_refs,
)
from bot.policies.commit_message import CommitInfo, evaluate, parse_trailers
from bot.ticket import BackportEntry

CONFIG = RepoConfig(
    lines=(
        LineConfig(version="1.4", eol=date(2027, 6, 30)),
        LineConfig(version="1.10", eol=date(2028, 6, 30)),
    )
)
REPO = "acme/widget"
HTML_URL = "https://github.com/acme/widget"
SHA = "0123456789abcdef0123456789abcdef01234567"
MARKER = "<!-- lts-bot:backport -->"


# --- plan_pick ---------------------------------------------------------------------------


def commit(
    sha: str,
    *parents: str,
    message: str = "",
    author: str = "Ada",
    email: str = "ada@example.com",
    when: str = "2024-05-01T10:00:00Z",
) -> CommitData:
    return CommitData(
        sha=sha,
        parents=parents,
        tree=f"tree-{sha}",
        message=message or f"Change {sha}",
        author_name=author,
        author_email=email,
        author_date=when,
    )


PR_A = commit("a1", "base", message="First step", when="2024-05-01T10:00:00Z")
PR_B = commit("b1", "a1", message="Second step", when="2024-05-01T11:00:00Z")
PR_C = commit("c1", "b1", message="Third step", when="2024-05-01T12:00:00Z")
# The PR branch with main merged into it half-way.
PR_MERGE = commit("m1", "a1", "main7", message="Merge branch 'main' into fix")
# Rebased copies on main: same message and author, new sha and committer.
RB_A = commit("ra", "main9", message="First step", when="2024-05-01T10:00:00Z")
RB_B = commit("rb", "ra", message="Second step", when="2024-05-01T11:00:00Z")
RB_C = commit("rc", "rb", message="Third step", when="2024-05-01T12:00:00Z")
MAIN_9 = commit("main9", "main8", message="Unrelated change on main")
SQUASH = commit("sq", "main9", message="Fix the crash (#42)\n\n* First step\n\n* Second step")
MERGE = commit("mc", "main9", "c1", message="Merge pull request #42 from acme/fix")


@pytest.mark.parametrize(
    ("merge_commit", "chain", "pr_commits", "expected"),
    [
        pytest.param(
            SQUASH, [SQUASH, MAIN_9], [PR_A, PR_B], PickPlan("squash", (SQUASH,)), id="squash"
        ),
        pytest.param(
            commit("one", "main9", message="First step"),
            [commit("one", "main9", message="First step")],
            [PR_A],
            PickPlan("squash", (commit("one", "main9", message="First step"),)),
            id="single-commit",
        ),
        pytest.param(
            RB_C,
            [RB_C, RB_B, RB_A],
            [PR_A, PR_B, PR_C],
            PickPlan("rebase", (RB_A, RB_B, RB_C)),
            id="rebase",
        ),
        pytest.param(
            RB_B,
            [RB_B, RB_A, MAIN_9],
            [PR_A, PR_B],
            PickPlan("rebase", (RB_A, RB_B)),
            id="rebase-chain-longer-than-needed",
        ),
        pytest.param(
            MERGE,
            [MERGE],
            [PR_A, PR_MERGE, PR_C],
            PickPlan("merge", (PR_A, PR_C)),
            id="merge-with-inner-merge",
        ),
        pytest.param(MERGE, [MERGE], [PR_A, PR_B], PickPlan("merge", (PR_A, PR_B)), id="merge"),
        # Same messages, but the authoring time differs: a squash that happens to carry
        # the newest commit's message, on top of a main commit that looks like the first.
        pytest.param(
            commit("sq2", "x9", message="Second step", when="2024-06-01T00:00:00Z"),
            [
                commit("sq2", "x9", message="Second step", when="2024-06-01T00:00:00Z"),
                commit("x9", "x8", message="First step"),
            ],
            [PR_A, PR_B],
            PickPlan(
                "squash",
                (commit("sq2", "x9", message="Second step", when="2024-06-01T00:00:00Z"),),
            ),
            id="rebase-look-alike-is-squash",
        ),
        pytest.param(
            commit("sq3", "y9", message="Second step", when="2024-05-01T11:00:00Z"),
            [
                commit("sq3", "y9", message="Second step", when="2024-05-01T11:00:00Z"),
                commit("y9", "y8", message="First step", author="Bob"),
            ],
            [PR_A, PR_B],
            PickPlan(
                "squash",
                (commit("sq3", "y9", message="Second step", when="2024-05-01T11:00:00Z"),),
            ),
            id="other-author-is-squash",
        ),
        pytest.param(
            # The chain is not linear: the second item is not the first's parent.
            commit("rb2", "elsewhere", message="Second step", when="2024-05-01T11:00:00Z"),
            [
                commit("rb2", "elsewhere", message="Second step", when="2024-05-01T11:00:00Z"),
                RB_A,
            ],
            [PR_A, PR_B],
            PickPlan(
                "squash",
                (commit("rb2", "elsewhere", message="Second step", when="2024-05-01T11:00:00Z"),),
            ),
            id="broken-chain-is-squash",
        ),
        pytest.param(
            RB_C,
            [RB_C, RB_B],
            [PR_A, PR_B, PR_C],
            PickPlan("squash", (RB_C,)),
            id="short-chain-is-squash",
        ),
        pytest.param(SQUASH, [SQUASH], [], PickPlan("squash", (SQUASH,)), id="no-pr-commits"),
    ],
)
def test_plan_pick_reads_the_merge_method_off_the_history(
    merge_commit: CommitData,
    chain: list[CommitData],
    pr_commits: list[CommitData],
    expected: PickPlan,
) -> None:
    assert plan_pick(merge_commit, chain, pr_commits) == expected


# --- ticket_refs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Fix the crash", "Fixes #12", (12,)),
        ("Fix the crash", "fixes: #12\ncloses #13\nRESOLVED #14", (12, 13, 14)),
        (
            "Fix the crash",
            "close #1 closed #2 fix #3 fixed #4 resolve #5 resolves #6",
            (1, 2, 3, 4, 5, 6),
        ),
        ("Fix the crash (#7)", "Fixes #12 and fixes #7", (7, 12)),
        ("Fix #7 and #8", "", (7, 8)),
        ("", "Fixes acme/widget#12", (12,)),
        ("", "Fixes ACME/Widget#12", (12,)),
        ("", "Fixes other/repo#12 and fixes acme/widget-two#13", ()),
        ("other/repo#5 port", "", ()),
        ("acme/widget#5 port", "", (5,)),
        ("", "Resolves https://github.com/acme/widget/issues/12", (12,)),
        ("", "See https://github.com/acme/widget/issues/12 for context", (12,)),
        ("", "See https://github.com/other/repo/issues/12", ()),
        ("", "See https://github.com/acme/widget-two/issues/12", ()),
        ("", "See https://github.com/acme/widget/pull/12", ()),
        # A bare `#N` in the body without a keyword is a mention, not the ticket.
        ("", "Related to #12", ()),
        ("", "Prefixes #12", ()),
        ("", "Fixes#12", ()),
        ("", "Fixes #12abc", ()),
        ("", "Fixes `#12` and `fixes #13`", ()),
        ("Fix `#7`", "", ()),
        ("", "```\nFixes #12\n```\nFixes #13", (13,)),
        ("", "~~~~\nFixes #12\n~~~\nstill code: fixes #14\n~~~~\nFixes #13", (13,)),
        ("", "``` \nunterminated fence: fixes #12", ()),
        ("", "<!-- Fixes #123 (example) -->\nFixes #13", (13,)),
        ("", "``Fixes `#12` here`` Fixes #13", (13,)),
        ("", "a ` lonely backtick, fixes #13", (13,)),
        ("", "Fixes #12\r\nFixes #12\r\nFixes #0", (12,)),
        ("", "Fixes #99999999999", ()),
        ("Fix (#12)", "Closes #12", (12,)),
    ],
)
def test_ticket_refs_finds_this_repositorys_tickets_in_order(
    title: str, body: str, expected: tuple[int, ...]
) -> None:
    assert ticket_refs(title, body, repo_full_name=REPO, html_url=HTML_URL) == expected


def test_ticket_refs_reads_a_bounded_body() -> None:
    body = "x" * (64 * 1024) + " Fixes #12"
    assert ticket_refs("", body, repo_full_name=REPO, html_url=HTML_URL) == ()


def test_ticket_refs_is_linear_on_many_backtick_runs() -> None:
    body = " ".join("`" * n for n in range(1, 300)) + " Fixes #12"
    assert ticket_refs("", body, repo_full_name=REPO, html_url=HTML_URL) == (12,)


# --- changelog_line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "body", "messages", "expected"),
    [
        (
            "Fix it (#42)",
            "Some text\nChangelog: Fixed a crash\n",
            ["S\n\nChangelog: other"],
            "Fixed a crash",
        ),
        ("Fix it", "changelog :   spaced   out  ", [], "spaced out"),
        (
            "Fix it",
            "Changelog: <one line for the release notes>",
            ["S\n\nChangelog: From commit"],
            "From commit",
        ),
        ("Fix it", "Changelog: <!-- write it here -->", [], "Fix it"),
        ("Fix it", "```\nChangelog: in code\n```", [], "Fix it"),
        ("Fix it", "", ["Subject\n\nChangelog: first", "Subject\n\nChangelog: second"], "first"),
        ("Fix it", "", ["Subject\n\nChangelog:", "Subject\n\nChangelog: second"], "second"),
        (
            "Fix it",
            "",
            ["Subject\n\nChangelog: wrapped\n  onto two lines"],
            "wrapped onto two lines",
        ),
        ("Fix the crash (#42)", "", ["Changelog: only a subject"], "Fix the crash"),
        ("  Fix\tthe crash  (#42)  ", "", [], "Fix the crash"),
        ("", "", [], ""),
    ],
)
def test_changelog_line_prefers_body_then_commits_then_title(
    title: str, body: str, messages: list[str], expected: str
) -> None:
    assert changelog_line(title, body, messages) == expected


def test_changelog_line_is_one_clipped_line() -> None:
    text = changelog_line("T", "Changelog: " + "word " * 100, [])
    assert len(text) == 200
    assert text.endswith("…")
    assert "\n" not in text


# --- backport_message --------------------------------------------------------------------


def passes(message: str, ticket: int = 123, version: str = "1.4") -> bool:
    decision = evaluate(
        [CommitInfo(SHA, message)],
        ticket=ticket,
        base_version=version,
        repo_url=HTML_URL,
        config=CONFIG,
    )
    return decision.conclusion == "success"


def backport(
    original: str, *, changelog: str = "Fixed a crash", co_author: str | None = None
) -> str:
    return backport_message(
        original, sha=SHA, version="1.4", ticket=123, changelog=changelog, co_author=co_author
    )


@pytest.mark.parametrize(
    ("original", "co_author", "expected"),
    [
        (
            "Fix the crash\n\nWhy and what.",
            None,
            "Fix the crash\n\nWhy and what.\n\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nRefs #123\n"
            "Changelog: Fixed a crash\n",
        ),
        (
            "Fix the crash (#123)\r\n\r\nWhy.\r\n\r\nChangelog: Old text\r\n"
            "Signed-off-by: Ada <ada@example.com>\r\n",
            "Bob <bob@example.com>",
            "Fix the crash (#123)\n\nWhy.\n\nSigned-off-by: Ada <ada@example.com>\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nChangelog: Fixed a crash\n"
            "Co-authored-by: Bob <bob@example.com>\n",
        ),
        (
            "Fix\n\nBody\n\nChangelog: a\n  wrapped\nBackport to v1.3\n"
            "(cherry picked from commit abc)\nCo-authored-by: Bob <bob@example.com>",
            "Bob  <bob@example.com>",
            "Fix\n\nBody\n\nCo-authored-by: Bob <bob@example.com>\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nRefs #123\n"
            "Changelog: Fixed a crash\n",
        ),
        (
            # Prose in the last paragraph keeps its own paragraph.
            "Fix\n\nSee https://github.com/acme/widget/issues/9\nChangelog: old",
            None,
            "Fix\n\nSee https://github.com/acme/widget/issues/9\n\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nRefs #123\n"
            "Changelog: Fixed a crash\n",
        ),
        (
            "",
            None,
            "Backport of commit 0123456789ab to v1.4\n\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nRefs #123\n"
            "Changelog: Fixed a crash\n",
        ),
        (
            "Subject only, closes #123",
            None,
            "Subject only, closes #123\n\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nChangelog: Fixed a crash\n",
        ),
        (
            "\n\n   Indented subject   \n\n\n\nBody\n\n\n",
            None,
            "Indented subject\n\nBody\n\n"
            f"(cherry picked from commit {SHA})\nBackport to v1.4\nRefs #123\n"
            "Changelog: Fixed a crash\n",
        ),
    ],
)
def test_backport_message_rewrites_the_trailers(
    original: str, co_author: str | None, expected: str
) -> None:
    message = backport(original, co_author=co_author)
    assert message == expected
    assert passes(message)


@pytest.mark.parametrize(
    ("changelog", "expected"),
    [
        ("  Fixed\na crash  ", "Fixed a crash"),
        ("<Fixed a crash>", "Fixed a crash"),
        ("", "Fix the crash"),
        ("<>", "Fix the crash"),
    ],
)
def test_backport_message_makes_the_changelog_acceptable(changelog: str, expected: str) -> None:
    message = backport("Fix the crash\n\nBody", changelog=changelog)
    assert parse_trailers(message)["changelog"] == [expected]
    assert passes(message)


MESSAGE_LINES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "   ",
            "Changelog: old text",
            "changelog :",
            "CHANGELOG: <placeholder>",
            "  continued",
            "Backport to v1.4",
            "Backported to 1.3",
            "(cherry picked from commit deadbeef)",
            "Signed-off-by: Ada <ada@example.com>",
            "Co-authored-by: Bob <bob@example.com>",
            "Fixes #123",
            "Refs #1234",
            "https://github.com/acme/widget/issues/123",
            "\u2028",
            "\x0c",
        ]
    ),
)
ORIGINALS = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda lines, newline: newline.join(lines),
        st.lists(MESSAGE_LINES, max_size=12),
        st.sampled_from(["\n", "\r\n", "\r"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    original=ORIGINALS,
    changelog=st.text(max_size=80),
    co_author=st.none() | st.text(max_size=40),
    ticket=st.integers(1, 2**31 - 1),
    version=st.sampled_from(["1.4", "1.10", "v1.4"]),
)
def test_backport_message_always_passes_the_commit_message_check(
    original: str, changelog: str, co_author: str | None, ticket: int, version: str
) -> None:
    message = backport_message(
        original, sha=SHA, version=version, ticket=ticket, changelog=changelog, co_author=co_author
    )
    assert passes(message, ticket=ticket, version=version.removeprefix("v"))
    assert len(parse_trailers(message)["changelog"]) == 1
    assert f"(cherry picked from commit {SHA})" in message
    assert "\r" not in message


def test_backport_message_passes_when_huge() -> None:
    original = "Fixes #123 " + "x" * (200 * 1024) + "\n\n" + "Signed-off-by: A <a@b>\n" * 5000
    message = backport(original)
    assert "Refs #123" in message
    assert passes(message)


@pytest.mark.parametrize("pad", range(1, 22))
def test_backport_message_passes_when_the_check_cuts_through_trailers(pad: int) -> None:
    # The check reads a long message's last 32 KiB: whichever character of a line that cut
    # lands on (the changelog's length moves it), no part-line reads as a second changelog.
    original = "Subject\n\nBody\n\n" + "Note: xChangelog: y\n" * 5000
    message = backport(original, changelog="c" * pad)
    assert "Note: xChangelog: y\n\n(cherry picked" in message
    assert passes(message)


def test_backport_message_keeps_a_small_trailer_block_with_ours() -> None:
    message = backport("S\n\nBody\n\n" + "Signed-off-by: A <a@b>\n" * 3)
    assert "Signed-off-by: A <a@b>\n(cherry picked" in message


# --- branch_name, pr_title ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "taken", "expected"),
    [
        ("1.4", set(), "lts/v1.4/issue-123"),
        ("v1.4", {"lts/v1.3/issue-123"}, "lts/v1.4/issue-123"),
        ("1.4", {"lts/v1.4/issue-123"}, "lts/v1.4/issue-123-2"),
        ("1.4", {"lts/v1.4/issue-123", "lts/v1.4/issue-123-2"}, "lts/v1.4/issue-123-3"),
        ("1.4", {"lts/v1.4/issue-123", "lts/v1.4/issue-123-3"}, "lts/v1.4/issue-123-2"),
    ],
)
def test_branch_name_takes_the_first_free_suffix(
    version: str, taken: set[str], expected: str
) -> None:
    name = branch_name(version, 123, taken)
    assert name == expected
    assert branches.parse_patch_branch(name) is not None
    assert branches.ticket_number(name) == 123


@pytest.mark.parametrize(
    ("version", "title", "expected"),
    [
        ("1.4", "Fix the crash", "[v1.4] Fix the crash"),
        ("v1.4", "[v1.4] Fix the crash", "[v1.4] Fix the crash"),
        ("1.4", "[v1.3] Fix the crash", "[v1.4] [v1.3] Fix the crash"),
        ("1.4", "  Fix\nthe   crash ", "[v1.4] Fix the crash"),
        ("1.4", "", "[v1.4] Backport"),
    ],
)
def test_pr_title_prefixes_the_line_once(version: str, title: str, expected: str) -> None:
    assert pr_title(version, title) == expected


def test_pr_title_fits_githubs_limit() -> None:
    title = pr_title("1.4", "word " * 100)
    assert len(title) == 256
    assert title.startswith("[v1.4] word")


# --- pr_body, conflict_comment, failure_comment ------------------------------------------


@pytest.mark.parametrize(
    ("method", "shas", "expected"),
    [
        ("squash", ["aaa111"], "squash-merged"),
        ("rebase", ["aaa111", "bbb222"], "rebase-merged"),
        ("merge", ["aaa111", "bbb222"], "merge commit"),
    ],
)
def test_pr_body_explains_the_backport(method: PickMethod, shas: list[str], expected: str) -> None:
    body = pr_body(
        version="1.4",
        ticket=123,
        source=42,
        source_title="Fix @someone's `crash`",
        changelog="Fixed a crash",
        shas=shas,
        method=method,
        marker=MARKER,
    )
    assert body.startswith(MARKER + "\n")
    assert "Automatic backport of #42 to `release-lts/v1.4` for ticket #123." in body
    assert expected in body
    for sha in shas:
        assert f"- `{sha}`" in body
    assert "> `Fixed a crash`" in body
    assert "`lts/backport-fidelity`" in body
    assert "`` Fix @someone's `crash` ``" in body


def test_pr_body_bounds_the_commit_list() -> None:
    body = pr_body(
        version="1.4",
        ticket=1,
        source=2,
        source_title="T",
        changelog="C",
        shas=[f"{i:040x}" for i in range(60)],
        method="rebase",
        marker=MARKER,
    )
    assert "- … and 10 more" in body


@pytest.mark.parametrize(
    ("files", "remote", "expected", "unexpected"),
    [
        (
            ["src/a.py", "docs/b.md"],
            "origin",
            ["Files that changed on both sides", "- `src/a.py`", "- `docs/b.md`", "likely"],
            ["does not report which files"],
        ),
        ([], "origin", ["GitHub does not report which files conflict"], ["Files that changed"]),
        ([], "upstream", ["git fetch upstream\n", "upstream/release-lts/v1.4"], []),
    ],
)
def test_conflict_comment_says_how_to_backport_by_hand(
    files: list[str], remote: str, expected: list[str], unexpected: list[str]
) -> None:
    text = conflict_comment(
        version="1.4",
        ticket=123,
        source=42,
        shas=["aaa111", "bbb222"],
        branch="lts/v1.4/issue-123",
        base_branch="release-lts/v1.4",
        files=files,
        remote=remote,
        marker=MARKER,
    )
    assert text.startswith(MARKER + "\n")
    assert "The cherry-pick of #42 onto `release-lts/v1.4` conflicts" in text
    assert "```sh\n" in text
    assert f"git switch -c lts/v1.4/issue-123 {remote}/release-lts/v1.4\n" in text
    assert "git cherry-pick -x aaa111 bbb222\n" in text
    assert f"git push {remote} lts/v1.4/issue-123\n" in text
    assert "`[v1.4] …`" in text
    assert "`/backport v1.4`" in text
    for part in expected:
        assert part in text
    for part in unexpected:
        assert part not in text


def test_conflict_comment_quotes_unsafe_names() -> None:
    text = conflict_comment(
        version="1.4",
        ticket=1,
        source=2,
        shas=["abc"],
        branch="lts/v1.4/issue-1;rm -rf ~",
        base_branch="release-lts/v1.4",
        files=[],
        marker=MARKER,
    )
    assert "git push origin 'lts/v1.4/issue-1;rm -rf ~'" in text


def test_failure_comment_says_why_and_how_to_retry() -> None:
    text = failure_comment(
        version="1.4", ticket=123, source=42, reason="the branch is protected\n", marker=MARKER
    )
    assert text.startswith(MARKER + "\n")
    assert "#42 to v1.4 for ticket #123: the branch is protected." in text
    assert "`/backport v1.4` on #123" in text


# --- the matrix --------------------------------------------------------------------------

HEADER = "| Line | Status | Backport | Notes |\n| --- | --- | --- | --- |\n"


@pytest.mark.parametrize(
    ("entries", "targets", "source", "expected"),
    [
        ([], [], None, ""),
        ([], [], 42, ""),
        (
            [],
            ["1.9", "1.10", "1.4"],
            42,
            HEADER + "| v1.10 | requested — waits for the fix to merge | — |  |\n"
            "| v1.9 | requested — waits for the fix to merge | — |  |\n"
            "| v1.4 | requested — waits for the fix to merge | — |  |",
        ),
        (
            [
                BackportEntry("1.4", 42, "open", pr=50),
                BackportEntry("1.3", 42, "conflict", detail="src/a.py | src/b.py\nmore"),
                BackportEntry("1.4", 43, "merged", pr=51),
            ],
            ["1.4", "1.3", "1.2"],
            42,
            HEADER + "| v1.4 | PR open | #50 |  |\n"
            "| v1.3 | conflict — needs a hand backport | — | src/a.py \\| src/b.py more |\n"
            "| v1.2 | requested — waits for the fix to merge | — |  |",
        ),
        (
            [
                BackportEntry("1.4", 42, "merged", pr=50, detail="shipped in 1.4.3"),
                BackportEntry("1.4", 43, "already-in"),
                BackportEntry("1.3", 42, "failed", detail="protected branch"),
                BackportEntry("1.2", 42, "declined"),
            ],
            ["1.4", "1.3"],
            None,
            HEADER + "| v1.4 | merged | #50 | from #42; shipped in 1.4.3 |\n"
            "| v1.4 | already in v1.4 | — | from #43 |\n"
            "| v1.3 | failed | — | from #42; protected branch |\n"
            "| v1.2 | declined | — | from #42 |",
        ),
        (
            [BackportEntry("1.4", 42, "requested")],
            [],
            None,
            HEADER + "| v1.4 | requested — waits for the fix to merge | — |  |",
        ),
    ],
)
def test_render_matrix_shows_one_row_per_line_and_entry(
    entries: list[BackportEntry], targets: list[str], source: int | None, expected: str
) -> None:
    assert render_matrix(entries, targets, source=source) == expected


def test_render_matrix_clips_details() -> None:
    table = render_matrix([BackportEntry("1.4", 1, "failed", detail="x" * 1000)], ["1.4"])
    row = table.splitlines()[-1]
    assert "x" * 299 + "…" in row
    assert "x" * 300 not in row


@pytest.mark.parametrize(
    ("entries", "new", "expected"),
    [
        ((), BackportEntry("1.4", 42, "requested"), (BackportEntry("1.4", 42, "requested"),)),
        (
            (BackportEntry("1.4", 42, "requested"), BackportEntry("1.3", 42, "requested")),
            BackportEntry("1.4", 42, "open", pr=50),
            (BackportEntry("1.4", 42, "open", pr=50), BackportEntry("1.3", 42, "requested")),
        ),
        (
            (BackportEntry("1.4", 42, "merged", pr=50),),
            BackportEntry("1.4", 43, "requested"),
            (BackportEntry("1.4", 42, "merged", pr=50), BackportEntry("1.4", 43, "requested")),
        ),
    ],
)
def test_matrix_transition_replaces_or_appends(
    entries: tuple[BackportEntry, ...], new: BackportEntry, expected: tuple[BackportEntry, ...]
) -> None:
    assert matrix_transition(entries, new) == expected
