"""The `lts/backport-fidelity` check run: a backport against the change it cherry-picks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.decisions import CHECK_TEXT_LIMIT
from bot.policies.fidelity import (
    CHECK_NAME,
    MAX_FILES,
    MAX_LINES_PER_FILE,
    MAX_SHOWN_LINES,
    FidelitySnapshot,
    FileDiff,
    conflict_markers,
    evaluate,
)

APPROVE = "`/approve release-manager`"


def hunk(*lines: str, at: int = 1) -> str:
    """A GitHub-style patch: one `@@` header, then the lines as given (" x", "+x", "-x")."""
    return f"@@ -{at},{len(lines)} +{at},{len(lines)} @@ def f():\n" + "\n".join(lines)


FIX = hunk("     x = 1", "-    return x", "+    return x + 1", "     # end")
FIX_FILE = FileDiff("src/app.py", "modified", FIX)
TEST_FILE = FileDiff("tests/test_app.py", "modified", hunk("+def test_x():", "+    assert f()"))
ORIGINAL = (FIX_FILE, TEST_FILE)


def app(patch: str, status: str = "modified") -> FileDiff:
    return FileDiff("src/app.py", status, patch)


# --- evaluate: table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    backport: tuple[FileDiff, ...]
    conclusion: str
    title: str
    summary: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    original: tuple[FileDiff, ...] | None = ORIGINAL
    refs: tuple[str, ...] = ("#12",)
    truncated: bool = False


CASES: dict[str, Case] = {
    "identical": Case(
        ORIGINAL,
        "success",
        "Same change as the original (#12)",
        ("The backport adds and removes the same lines in the same files as the original",),
    ),
    "other positions, context and hunk order": Case(
        (
            app(
                hunk("+    assert x", at=90)
                + "\n"
                + hunk(" other context", "-    return x", "+    return x + 1", at=40)
            ),
            TEST_FILE,
        ),
        "success",
        "Same change as the original (#12)",
        original=(
            app(hunk("-    return x", "+    return x + 1", at=3) + "\n" + hunk("+    assert x")),
            TEST_FILE,
        ),
    ),
    "trailing whitespace, CRLF and no newline at end of file": Case(
        (
            app(
                hunk(
                    "-    return x  ", "+    return x + 1\t", "\\ No newline at end of file"
                ).replace("\n", "\r\n")
            ),
            TEST_FILE,
        ),
        "success",
        "Same change as the original (#12)",
    ),
    "files listed in another order": Case(
        (TEST_FILE, FIX_FILE),
        "success",
        "Same change as the original (#12)",
    ),
    "several refs, and no refs": Case(
        ORIGINAL,
        "success",
        "Same change as the original (#12, abc1234, def5678 and 2 more)",
        refs=("#12", "abc1234", "def5678", "0123456", "789abcd"),
    ),
    "no refs": Case(ORIGINAL, "success", "Same change as the original", refs=()),
    "an extra added line": Case(
        (app(FIX + "\n+    print('debug')"), TEST_FILE),
        "failure",
        "Differs from the original (#12): changes 1 line the original did not",
        (
            "- **1 line** added or removed that the original did not add or remove, in "
            "1 file: `src/app.py`.",
            "A person must review these differences: explain the extra changes in the pull "
            "request (an adaptation to this line is fine when it is said why) or drop them. "
            "The gate stays red until this check passes or a release manager signs off on "
            f"this head with {APPROVE}.",
        ),
        (
            "### Lines the original did not add or remove",
            "#### `src/app.py`",
            "+    print('debug')",
        ),
    ),
    "an extra removed line and a repeated added line": Case(
        (app(FIX + "\n-    old()\n+    return x + 1"), TEST_FILE),
        "failure",
        "Differs from the original (#12): changes 2 lines the original did not",
        text=("-    old()\n+    return x + 1",),
    ),
    "an adapted line is extra and missing": Case(
        (app(hunk("-    return x", "+    return x + 2")), TEST_FILE),
        "failure",
        "Differs from the original (#12): changes 1 line the original did not",
        ("- Also left out: **1 line** the original adds or removes, in 1 file: `src/app.py`.",),
        (
            "### Lines the original did not add or remove",
            "+    return x + 2",
            "### Lines of the original left out",
            "+    return x + 1",
        ),
    ),
    "an extra file": Case(
        (*ORIGINAL, FileDiff("src/other.py", "added", hunk("+x = 2"))),
        "failure",
        "Differs from the original (#12): touches 1 file the original did not",
        (
            "- **1 file** that the original does not touch: `src/other.py` (added). A file with "
            "another name on this line than on main shows here too: say so in the pull request.",
        ),
    ),
    "another status": Case(
        (app(FIX, "added"), TEST_FILE),
        "failure",
        "Differs from the original (#12): another status for 1 file",
        ("`src/app.py` (added here, modified in the original)",),
    ),
    "a missing file": Case(
        (FIX_FILE,),
        "neutral",
        "Partial backport: leaves out 1 file of the original (#12)",
        (
            "- Left out: **1 file** the original touches: `tests/test_app.py`.",
            "say in the pull request which parts are left out and why",
        ),
    ),
    "missing lines": Case(
        (app(hunk("-    return x")), TEST_FILE),
        "neutral",
        "Partial backport: leaves out 1 line of the original (#12)",
        ("- Left out: **1 line** the original adds or removes, in 1 file: `src/app.py`.",),
        ("### Lines of the original left out", "```diff\n+    return x + 1\n```"),
    ),
    "missing lines and files": Case(
        (),
        "neutral",
        "Partial backport: leaves out 2 files of the original (#12)",
        original=ORIGINAL,
    ),
    "a file renamed on main": Case(
        ORIGINAL,
        "success",
        "Same change as the original (#12)",
        original=(FileDiff("src/main.py", "renamed", FIX, "src/app.py"), TEST_FILE),
    ),
    "a file renamed by the backport": Case(
        (FileDiff("src/app.py", "renamed", FIX, "src/main.py"), TEST_FILE),
        "success",
        "Same change as the original (#12)",
        original=(FileDiff("src/main.py", "modified", FIX), TEST_FILE),
    ),
    "two commits of the original touch one file": Case(
        (app(FIX + "\n+    more()"), TEST_FILE),
        "success",
        "Same change as the original (#12, abc1234)",
        original=(FIX_FILE, TEST_FILE, app(hunk("+    more()", at=9))),
        refs=("#12", "abc1234"),
    ),
    "a binary file on both sides": Case(
        (*ORIGINAL, FileDiff("logo.png", "modified")),
        "success",
        "Same change as the original (#12)",
        (
            "Not compared line by line, only by presence and status, because GitHub gives no "
            "diff text for them (binary files, very large diffs, renames without changes): "
            "`logo.png`.",
        ),
        original=(*ORIGINAL, FileDiff("logo.png", "modified")),
    ),
    "a binary file with another status": Case(
        (*ORIGINAL, FileDiff("logo.png", "removed")),
        "failure",
        "Differs from the original (#12): another status for 1 file",
        ("`logo.png` (removed here, modified in the original)",),
        original=(*ORIGINAL, FileDiff("logo.png", "modified")),
    ),
    "a patch on one side only": Case(
        (FileDiff("src/app.py", "modified"), TEST_FILE),
        "success",
        "Same change as the original (#12)",
        ("`src/app.py`.",),
    ),
    "a binary file missing": Case(
        ORIGINAL,
        "neutral",
        "Partial backport: leaves out 1 file of the original (#12)",
        original=(*ORIGINAL, FileDiff("logo.png", "added")),
    ),
    "truncated and the same": Case(
        ORIGINAL,
        "neutral",
        "Partial comparison: what was compared matches the original (#12)",
        ("The comparison is partial: GitHub listed only part of the change",),
        truncated=True,
    ),
    "truncated and partial": Case(
        (FIX_FILE,),
        "neutral",
        "Partial backport: leaves out 1 file of the original (#12) (comparison partial)",
        truncated=True,
    ),
    "truncated does not hide a failure": Case(
        (*ORIGINAL, FileDiff("x.py", "added", "@@ -0,0 +1 @@\n+x")),
        "failure",
        "Differs from the original (#12): touches 1 file the original did not",
        ("The comparison is partial",),
        truncated=True,
    ),
    "not a cherry-pick": Case(
        ORIGINAL,
        "neutral",
        "Not a cherry-pick: nothing to compare",
        ("`(cherry picked from commit <sha>)`", "`git cherry-pick -x <sha>`"),
        original=None,
    ),
    "not a cherry-pick, with a conflict marker": Case(
        (app(hunk("+<<<<<<< HEAD")),),
        "neutral",
        "Not a cherry-pick: nothing to compare",
        ("Added lines that look like conflict markers, in 1 file: `src/app.py`.",),
        original=None,
    ),
    "an empty cherry-pick": Case((), "success", "Same change as the original (#12)", original=()),
}

MARKERS = {
    "ours": "<<<<<<< HEAD",
    "unlabelled": "<<<<<<<",
    "separator": "=======",
    "theirs": ">>>>>>> 1a2b3c4 (Fix the crash)",
    "diff3 base": "||||||| merged common ancestors",
}
for kind, marker in MARKERS.items():
    CASES[f"conflict marker: {kind}"] = Case(
        (app(FIX + f"\n+{marker}"), TEST_FILE),
        "failure",
        "Differs from the original (#12): conflict markers in 1 file",
        (
            "- **1 conflict marker** left from the cherry-pick in 1 file: `src/app.py`.",
            "A person must review these differences: resolve the conflict markers (edit the "
            "files, remove the `<<<<<<<`, `=======`, `|||||||` and `>>>>>>>` lines, amend the "
            f"commit and push). The gate stays red until this check passes or a release "
            f"manager signs off on this head with {APPROVE}.",
        ),
        ("### Conflict markers", f"```text\n{marker}\n```"),
    )

CASES["a whole conflict with both sides"] = Case(
    (
        app(
            hunk(
                "-    return x",
                "+<<<<<<< HEAD",
                "+    return x - 1",
                "+=======",
                "+    return x + 1",
                "+>>>>>>> abc1234",
            )
        ),
        TEST_FILE,
    ),
    "failure",
    "Differs from the original (#12): conflict markers in 1 file, changes 1 line the "
    "original did not",
    ("- **3 conflict markers** left from the cherry-pick in 1 file: `src/app.py`.",),
    ("```text\n<<<<<<< HEAD\n=======\n>>>>>>> abc1234\n```", "```diff\n+    return x - 1\n```"),
)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_evaluate(case: Case) -> None:
    snapshot = FidelitySnapshot(case.backport, case.original, case.refs, case.truncated)
    decision = evaluate(snapshot)
    assert decision.name == CHECK_NAME
    assert (decision.conclusion, decision.title) == (case.conclusion, case.title)
    for part in case.summary:
        assert part in decision.summary, (part, decision.summary)
    for part in case.text:
        assert decision.text is not None
        assert part in decision.text, (part, decision.text)


# --- conflict markers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            hunk("+<<<<<<< HEAD", "+a", "+=======", "+b", "+>>>>>>> x"),
            ["<<<<<<< HEAD", "=======", ">>>>>>> x"],
        ),
        (hunk("+||||||| base", "+<<<<<<<"), ["||||||| base", "<<<<<<<"]),
        (hunk("+=======   "), ["======="]),
        # Removed and context lines are not what the backport adds.
        (hunk("-<<<<<<< HEAD", " =======", "->>>>>>> x"), []),
        # Near misses: other lengths, no blank after the marker, indented, mid-line.
        (hunk("+========", "+======", "+<<<<<<<<", "+<<<<<<<HEAD", "+ =======", "+a ======="), []),
        # Headers of a full `git diff` before the first hunk are no added lines.
        ("diff --git a/x b/x\n--- a/x\n+++ b/x\n" + hunk("+======="), ["======="]),
        ("", []),
    ],
)
def test_conflict_markers(patch: str, expected: list[str]) -> None:
    assert conflict_markers(patch) == expected


def test_a_marker_line_the_original_adds_too_is_no_conflict() -> None:
    # reStructuredText underlines a seven-letter title with seven "=".
    doc = FileDiff("docs/index.rst", "modified", hunk("+Install", "+======="))
    decision = evaluate(FidelitySnapshot((doc,), (doc,), ("#12",)))
    assert decision.conclusion == "success"


def test_a_removed_dash_dash_line_inside_a_hunk_is_a_removed_line() -> None:
    # "--- x" inside a hunk removes "-- x" (an SQL comment); it is no file header there.
    backport = FileDiff("q.sql", "modified", hunk("--- x", "+-- y"))
    original = FileDiff("q.sql", "modified", hunk("+-- y"))
    decision = evaluate(FidelitySnapshot((backport,), (original,), ("#12",)))
    assert decision.conclusion == "failure"
    assert decision.text is not None
    assert "```diff\n--- x\n```" in decision.text


# --- bounds ------------------------------------------------------------------------------


def test_a_huge_patch_is_read_up_to_the_cap_and_said_so() -> None:
    body = "\n".join(f"+line {i}" for i in range(MAX_LINES_PER_FILE * 50))
    # A marker past the cap is not seen: the work stops at the cap.
    huge = app(hunk(body) + "\n+<<<<<<< HEAD")
    decision = evaluate(FidelitySnapshot((huge, TEST_FILE), (huge, TEST_FILE), ("#12",)))
    assert decision.conclusion == "neutral"
    assert decision.title == "Partial comparison: what was compared matches the original (#12)"
    assert "Too long to compare line by line" in decision.summary
    assert f"at most {MAX_LINES_PER_FILE:,} diff lines of a file" in decision.summary
    assert "`src/app.py`" in decision.summary
    assert conflict_markers(huge.patch or "") == []


def test_a_huge_single_line_is_cut_by_characters() -> None:
    huge = app("@@ -1 +1 @@\n+" + "x" * 10_000_000)
    decision = evaluate(FidelitySnapshot((huge,), (app(hunk("+y")),), ("#12",)))
    assert decision.conclusion == "neutral"
    assert "Too long to compare line by line" in decision.summary


def test_many_large_files_exhaust_the_side_budget() -> None:
    patch = hunk(*(f"+{i}" for i in range(MAX_LINES_PER_FILE - 10)))
    files = tuple(FileDiff(f"f{i}.py", "added", patch) for i in range(15))
    decision = evaluate(FidelitySnapshot(files, files, ("#12",)))
    assert decision.conclusion == "neutral"
    assert "Too long to compare line by line" in decision.summary
    assert "`f0.py`" not in decision.summary.split("Too long")[1]
    assert "`f14.py`" in decision.summary


def test_the_lines_shown_are_bounded_and_the_rest_counted() -> None:
    extra = "\n".join(f"+extra {i} " + "`" * 300 for i in range(6_000))
    decision = evaluate(FidelitySnapshot((app(FIX + "\n" + extra),), (FIX_FILE,), ("#12",)))
    assert decision.conclusion == "failure"
    assert (
        decision.title
        == "Differs from the original (#12): changes 6,000 lines the original did not"
    )
    assert decision.text is not None
    shown = [line for line in decision.text.splitlines() if line.startswith("+extra")]
    assert len(shown) == MAX_SHOWN_LINES
    assert decision.text.endswith("… and 5,950 more lines (the first 50 are shown).")
    assert all(len(line) <= 1 + 200 for line in shown)  # the sign, then the line cut
    assert len(decision.summary) <= CHECK_TEXT_LIMIT
    assert len(decision.text) <= CHECK_TEXT_LIMIT


def test_a_repeated_line_is_shown_within_the_bound() -> None:
    backport = app(FIX + "\n" + "\n".join(["+same"] * 19_000))
    decision = evaluate(FidelitySnapshot((backport,), (FIX_FILE,)))
    assert decision.text is not None
    assert decision.text.count("+same") == MAX_SHOWN_LINES
    assert "… and 18,950 more lines" in decision.text


def test_thousands_of_extra_files_are_listed_briefly() -> None:
    files = tuple(FileDiff(f"gen/{i}.py", "added", hunk("+x")) for i in range(3_000))
    decision = evaluate(FidelitySnapshot(files, (), ("#12",)))
    assert (
        decision.title
        == "Differs from the original (#12): touches 3,000 files the original did not"
    )
    assert "`gen/19.py` (added) and 2,980 more." in decision.summary
    assert len(decision.summary) < 10_000


def test_files_past_the_file_cap_are_not_compared_and_said_so() -> None:
    files = tuple(FileDiff(f"gen/{i}.bin", "modified") for i in range(MAX_FILES + 5))
    decision = evaluate(FidelitySnapshot(files, files[:MAX_FILES], ("#12",)))
    assert decision.conclusion == "neutral"
    assert decision.title == "Partial comparison: what was compared matches the original (#12)"
    assert f"5 files past the first {MAX_FILES:,} of a side were not compared" in decision.summary


def test_hostile_names_and_lines_stay_inert() -> None:
    name = "a`b`` <img src=x>\x1b[31m.py"
    backport = FileDiff(name, "modified", hunk("+```", "+\x00@everyone"))
    decision = evaluate(FidelitySnapshot((backport,), (FileDiff(name, "modified", ""),)))
    assert decision.conclusion == "failure"
    assert "```a`b`` <img src=x> [31m.py```" in decision.summary
    assert decision.text is not None
    assert "````diff\n+```\n+ @everyone\n````" in decision.text


# --- properties --------------------------------------------------------------------------

_LINE = st.text(
    st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=30
)
_BODY_LINE = st.one_of(
    st.tuples(st.sampled_from(["+", "-", " "]), _LINE).map("".join),
    st.just("\\ No newline at end of file"),
    st.just("@@ -1,2 +1,2 @@"),
    st.sampled_from(["+<<<<<<< HEAD", "+=======", "+>>>>>>> x", "+||||||| base"]),
)
_PATCH = st.one_of(
    st.none(),
    st.lists(_BODY_LINE, max_size=12).map(lambda lines: "\n".join(["@@ -1 +1 @@", *lines])),
    st.text(max_size=200),
)
_NAME = st.sampled_from(["a.py", "b.py", "c/d.py", "e.png", ""])
_FILE = st.builds(
    FileDiff,
    filename=_NAME,
    status=st.sampled_from(["added", "removed", "modified", "renamed", "copied", "changed", "x"]),
    patch=_PATCH,
    previous_filename=st.one_of(st.none(), _NAME),
)
_FILES = st.lists(_FILE, max_size=6).map(tuple)


@settings(max_examples=300, deadline=None)
@given(files=_FILES)
def test_a_diff_without_markers_matches_itself(files: tuple[FileDiff, ...]) -> None:
    files = tuple(f for f in files if not conflict_markers(f.patch or ""))
    decision = evaluate(FidelitySnapshot(backport=files, original=files))
    assert decision.conclusion == "success", decision


@settings(max_examples=300, deadline=None)
@given(
    backport=_FILES,
    original=st.one_of(st.none(), _FILES),
    refs=st.lists(st.text(max_size=20), max_size=5).map(tuple),
    truncated=st.booleans(),
)
def test_evaluate_never_raises(
    backport: tuple[FileDiff, ...],
    original: tuple[FileDiff, ...] | None,
    refs: tuple[str, ...],
    truncated: bool,
) -> None:
    decision = evaluate(FidelitySnapshot(backport, original, refs, truncated))
    assert decision.conclusion in ("success", "failure", "neutral")
    assert len(decision.title) <= 255
    assert len(decision.summary) <= CHECK_TEXT_LIMIT
    if truncated or original is None:
        assert decision.conclusion != "success"
    if decision.conclusion == "failure":
        assert APPROVE in decision.summary
