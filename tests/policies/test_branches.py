"""The `lts/branch-name` check run: patch-branch names, their line and their ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import LineConfig, Phase, RepoConfig
from bot.policies.branches import (
    CHECK_NAME,
    BranchSnapshot,
    PatchBranch,
    TicketSnapshot,
    base_line,
    evaluate,
    parse_patch_branch,
    ticket_number,
)
from bot.ticket import TicketState

CONFIG = RepoConfig(
    lines=(
        LineConfig(version="1.4", eol=date(2027, 6, 30)),
        LineConfig(version="1.3", eol=date(2026, 12, 31), phase=Phase.SECURITY_ONLY),
        LineConfig(version="1.10", eol=date(2028, 6, 30)),
    )
)
BASE = "release-lts/v1.4"
READY = ("triage/backport", "backport/v1.4", "severity/high")


def ticket(
    number: int = 123,
    labels: tuple[str, ...] = READY,
    *,
    exists: bool = True,
    is_pull_request: bool = False,
    state: TicketState | None = None,
) -> TicketSnapshot:
    return TicketSnapshot(number, exists, is_pull_request, state, labels)


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("lts/v1.4/issue-123", PatchBranch("1.4", 123)),
        ("lts/v1.10/issue-7", PatchBranch("1.10", 7)),
        ("lts/v0.0/issue-1", PatchBranch("0.0", 1)),
        ("lts/v1.4/issue-123-2", PatchBranch("1.4", 123, "2")),
        ("lts/v1.4/issue-123-docs.v2_b-c", PatchBranch("1.4", 123, "docs.v2_b-c")),
        ("refs/heads/lts/v1.4/issue-123", PatchBranch("1.4", 123)),
        ("octocat:lts/v1.4/issue-123-2", PatchBranch("1.4", 123, "2")),
        ("lts/v1.4/issue-2147483647", PatchBranch("1.4", 2147483647)),
        ("lts/v1.4/issue-2147483648", None),
        ("lts/v1.4/issue-123/2", None),
        ("lts/v1.4/issue-123-", None),
        ("lts/v1.4/issue-123-.x", None),
        ("lts/v1.4/issue-123-" + "x" * 65, None),
        ("lts/v1.4/issue-0123", None),
        ("lts/v1.4/issue-0", None),
        ("lts/v1.4/issue-123abc", None),
        ("lts/1.4/issue-123", None),
        ("lts/v01.4/issue-123", None),
        ("lts/v1/issue-123", None),
        ("LTS/v1.4/issue-123", None),
        ("lts/v1.4/Issue-123", None),
        ("feature/lts/v1.4/issue-123", None),
        ("", None),
    ],
)
def test_parse_patch_branch_reads_version_issue_and_suffix(
    ref: str, expected: PatchBranch | None
) -> None:
    assert parse_patch_branch(ref) == expected


def test_a_patch_branch_name_parses_back_to_itself() -> None:
    branch = PatchBranch("1.4", 123, "2")
    assert branch.name == "lts/v1.4/issue-123-2"
    assert parse_patch_branch(branch.name) == branch
    assert PatchBranch("1.4", 123).name == "lts/v1.4/issue-123"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("lts/v1.4/issue-123", 123),
        ("lts/v1.4/issue-123-2", 123),
        ("user:lts/v1.4/issue-123", 123),
        # The explicit issue-N token is enough to know which issue to read ...
        ("lts/v1.4/issue-123/2", 123),
        ("lts/1.4/issue-45", 45),
        ("LTS/V1.4/Issue-9", 9),
        ("issue-77", 77),
        # ... a bare number is not.
        ("lts/v1.4/123", None),
        ("fix-123", None),
        ("lts/v1.4/myissue-123", None),
        ("lts/v1.4/issue-0123", None),
        ("lts/v1.4/issue-99999999999", None),
        ("", None),
    ],
)
def test_ticket_number_takes_the_issue_n_token(ref: str, expected: int | None) -> None:
    assert ticket_number(ref) == expected


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("release-lts/v1.4", "1.4"),
        ("refs/heads/release-lts/v1.10", "1.10"),
        ("release-lts/v1.1", None),
        ("release-lts/vv1.4", None),
        ("release-lts/1.4", None),
        ("main", None),
    ],
)
def test_base_line_is_the_line_whose_branch_is_exactly_the_base(
    ref: str, version: str | None
) -> None:
    line = base_line(ref, CONFIG)
    assert (line.version if line else None) == version


# --- evaluate: table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    head: str
    ticket: TicketSnapshot | None
    conclusion: str
    title: str
    summary_lines: tuple[str, ...] = ()
    base: str = BASE


EXPECTED_123 = "Expected here: `lts/v1.4/issue-123`."
RENAME_123 = "git branch -m {head} lts/v1.4/issue-123"
PUSH_123 = "git push -u origin lts/v1.4/issue-123"

CASES: dict[str, Case] = {
    "the patch branch of a ticket targeting the line": Case(
        "lts/v1.4/issue-123",
        ticket(),
        "success",
        "lts/v1.4/issue-123 is the patch branch of #123 for v1.4",
        (
            "The head branch `lts/v1.4/issue-123` follows `lts/vX.Y/issue-N` for "
            "`release-lts/v1.4`, and #123 is an issue triaged `triage/backport` with "
            "`backport/v1.4` among its targets.",
        ),
    ),
    "a numbered suffix": Case(
        "lts/v1.4/issue-123-2",
        ticket(),
        "success",
        "lts/v1.4/issue-123-2 is the patch branch of #123 for v1.4",
    ),
    "a word suffix": Case(
        "lts/v1.4/issue-123-docs",
        ticket(),
        "success",
        "lts/v1.4/issue-123-docs is the patch branch of #123 for v1.4",
    ),
    "a fork's head label": Case(
        "octocat:lts/v1.4/issue-123",
        ticket(),
        "success",
        "lts/v1.4/issue-123 is the patch branch of #123 for v1.4",
    ),
    "a refs/heads/ prefix on both refs": Case(
        "refs/heads/lts/v1.10/issue-123",
        ticket(labels=("triage/backport", "backport/v1.10")),
        "success",
        "lts/v1.10/issue-123 is the patch branch of #123 for v1.10",
        base="refs/heads/release-lts/v1.10",
    ),
    "the ticket's signed state, when read, over its labels": Case(
        "lts/v1.4/issue-123",
        ticket(labels=(), state=TicketState(123, decision="backport", backport=("1.4",))),
        "success",
        "lts/v1.4/issue-123 is the patch branch of #123 for v1.4",
    ),
    "a signed state that says defer, whatever the labels say": Case(
        "lts/v1.4/issue-123",
        ticket(state=TicketState(123, decision="defer", backport=("1.4",))),
        "failure",
        "Issue #123 is not triaged for backport",
        ("Issue #123 is `triage/defer`; a patch branch needs a ticket triaged `triage/backport`.",),
    ),
    # --- the name ---
    "a slash suffix": Case(
        "lts/v1.4/issue-123/2",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        (
            "Expected here: `lts/v1.4/issue-123`.",
            "The head branch `lts/v1.4/issue-123/2` is not a patch branch name: the suffix "
            "must be joined with a hyphen, not a slash (`issue-123-2`): git cannot hold both "
            "`lts/v1.4/issue-123` and branches below it.",
            "git branch -m lts/v1.4/issue-123/2 lts/v1.4/issue-123",
            PUSH_123,
        ),
    ),
    "upper case": Case(
        "LTS/v1.4/Issue-123",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        (
            "The head branch `LTS/v1.4/Issue-123` is not a patch branch name: git branch names "
            "are case-sensitive and the scheme is lowercase.",
        ),
    ),
    "no lts/ prefix and no issue token": Case(
        "fix-crash",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        (
            "Pull requests into `release-lts/v1.4` come from a branch named `lts/v1.4/issue-N` "
            "(N: the LTS ticket), optionally with a suffix such as `-2` to keep several pull "
            "requests apart. Expected here: `lts/v1.4/issue-<N>`.",
            "The head branch `fix-crash` is not a patch branch name: it must start with `lts/`.",
            "Use the number of the LTS ticket (the issue triaged `triage/backport`) for `<N>`. "
            "Rename the branch and push it, then open a new pull request from it into "
            "`release-lts/v1.4` and close this one (GitHub cannot change a pull request's "
            "head branch):",
            "git branch -m fix-crash 'lts/v1.4/issue-<N>'",
        ),
    ),
    "only two parts": Case(
        "lts/v1.4",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        (
            "The head branch `lts/v1.4` is not a patch branch name: it needs three parts, "
            "`lts/`, the line `vX.Y` and `issue-N`.",
        ),
    ),
    "a version without v": Case(
        "lts/1.4/issue-123",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        (
            "The head branch `lts/1.4/issue-123` is not a patch branch name: the version "
            "needs a `v`: `v1.4`.",
            EXPECTED_123,
        ),
    ),
    "not a version": Case(
        "lts/v1.x/issue-123",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        (
            "The head branch `lts/v1.x/issue-123` is not a patch branch name: `v1.x` is not "
            "a line version such as `v1.4`.",
        ),
    ),
    "a bare number": Case(
        "lts/v1.4/123",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        (
            "The head branch `lts/v1.4/123` is not a patch branch name: `123` must be "
            "`issue-N`, N being the LTS ticket's number.",
        ),
    ),
    "a leading zero": Case(
        "lts/v1.4/issue-0123",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        (
            "The head branch `lts/v1.4/issue-0123` is not a patch branch name: the issue "
            "number must not start with 0.",
        ),
    ),
    "a huge number": Case(
        "lts/v1.4/issue-99999999999",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        ("the number after `issue-` is too large to be an issue number.",),
    ),
    "a suffix without hyphen": Case(
        "lts/v1.4/issue-123abc",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        ("a suffix after the issue number starts with a hyphen: `issue-123-abc`.",),
    ),
    "a trailing hyphen": Case(
        "lts/v1.4/issue-123-",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        ("it ends with a hyphen; drop it or add a suffix such as `-2`.",),
    ),
    "a suffix with a forbidden first character": Case(
        "lts/v1.4/issue-123-.x",
        ticket(),
        "failure",
        "Head branch should be named lts/v1.4/issue-123",
        (
            "The head branch `lts/v1.4/issue-123-.x` is not a patch branch name: the suffix "
            "`.x` may hold only letters, digits, `.`, `_` and `-`, start with a letter or "
            "digit, and be at most 64 characters.",
        ),
    ),
    "an empty head": Case(
        "",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        (
            "The head branch `  ` is not a patch branch name: it is empty.",
            "git branch -m <branch> 'lts/v1.4/issue-<N>'",
        ),
    ),
    "shell characters in the head are quoted": Case(
        "fix`rm -rf`$HOME",
        None,
        "failure",
        "Head branch should be named lts/v1.4/issue-<N>",
        ("git branch -m 'fix`rm -rf`$HOME' 'lts/v1.4/issue-<N>'",),
    ),
    # --- the version ---
    "another configured line": Case(
        "lts/v1.3/issue-123-2",
        ticket(),
        "failure",
        "Branch is for v1.3, the base is release-lts/v1.4",
        (
            "Expected here: `lts/v1.4/issue-123-2`.",
            "The head branch `lts/v1.3/issue-123-2` names line v1.3, but the pull request "
            "goes into `release-lts/v1.4` (v1.4). If the change is meant for v1.3, keep the "
            "name and change the pull request's base to `release-lts/v1.3` instead (**Edit** "
            "next to the title).",
            "git branch -m lts/v1.3/issue-123-2 lts/v1.4/issue-123-2",
        ),
    ),
    "a line that is not configured": Case(
        "lts/v1.9/issue-123",
        ticket(),
        "failure",
        "Branch is for v1.9, the base is release-lts/v1.4",
        (
            "The head branch `lts/v1.9/issue-123` names line v1.9, but the pull request goes "
            "into `release-lts/v1.4` (v1.4). v1.9 is not a configured LTS line.",
        ),
    ),
    "v1.1 is not v1.10": Case(
        "lts/v1.1/issue-123",
        ticket(labels=("triage/backport", "backport/v1.10")),
        "failure",
        "Branch is for v1.1, the base is release-lts/v1.10",
        ("Expected here: `lts/v1.10/issue-123`.",),
        base="release-lts/v1.10",
    ),
    # --- the ticket ---
    "a ticket that does not exist": Case(
        "lts/v1.4/issue-999",
        ticket(999, exists=False, labels=()),
        "failure",
        "Issue #999 does not exist",
        ("The branch names issue #999, which does not exist in this repository.",),
    ),
    "a pull request instead of an issue": Case(
        "lts/v1.4/issue-124",
        ticket(124, is_pull_request=True, labels=()),
        "failure",
        "#124 is a pull request, not an issue",
        (
            "The branch names #124, which is a pull request. A patch branch names the LTS "
            "ticket: the issue triaged for backport, not a pull request.",
        ),
    ),
    "a ticket the handler did not read": Case(
        "lts/v1.4/issue-123",
        None,
        "failure",
        "Issue #123 could not be read",
        ("Re-run this check; if it fails again, ask a maintainer to look at lts-bot.",),
    ),
    "a snapshot of another issue": Case(
        "lts/v1.4/issue-123",
        ticket(321),
        "failure",
        "Issue #123 could not be read",
    ),
    "a ticket not triaged yet": Case(
        "lts/v1.4/issue-123",
        ticket(labels=("backport/v1.4",)),
        "failure",
        "Issue #123 is not triaged for backport",
        (
            "Issue #123 is not triaged yet; a patch branch needs a ticket triaged "
            "`triage/backport`.",
            "A triager decides by commenting `/triage backport` on #123; then re-run this check.",
        ),
    ),
    "a rejected ticket": Case(
        "lts/v1.4/issue-123",
        ticket(labels=("triage/reject", "backport/v1.4")),
        "failure",
        "Issue #123 is not triaged for backport",
        (
            "Issue #123 is `triage/reject`; a patch branch needs a ticket triaged "
            "`triage/backport`.",
        ),
    ),
    "a ticket targeting other lines": Case(
        "lts/v1.4/issue-123",
        ticket(labels=("triage/backport", "backport/v1.3", "backport/v1.10")),
        "failure",
        "Issue #123 does not target v1.4",
        (
            "Issue #123 lacks `backport/v1.4`: its backport targets are v1.3, v1.10.",
            "A triager adds the line by commenting `/backport v1.4` on #123; then re-run "
            "this check.",
        ),
    ),
    "an untriaged ticket with no targets": Case(
        "lts/v1.4/issue-123",
        ticket(labels=()),
        "failure",
        "Issue #123 is not triaged for backport (+1 more)",
        (
            "### 1. Issue #123 is not triaged for backport",
            "### 2. Issue #123 does not target v1.4",
            "Issue #123 lacks `backport/v1.4`: its backport targets are none.",
        ),
    ),
    "a bad name and a bad ticket together": Case(
        "lts/v1.4/issue-123/2",
        ticket(labels=("triage/defer",)),
        "failure",
        "Head branch should be named lts/v1.4/issue-123 (+2 more)",
        (
            "### 1. Head branch should be named lts/v1.4/issue-123",
            "### 2. Issue #123 is not triaged for backport",
            "### 3. Issue #123 does not target v1.4",
        ),
    ),
    # --- the base ---
    "a base that is not an LTS branch": Case(
        "lts/v1.4/issue-123",
        ticket(),
        "neutral",
        "Base branch main is not an LTS branch",
        (
            "The base branch `main` is not an LTS branch. Patch-branch names are only checked "
            "on pull requests into a configured `release-lts/vX.Y` branch. Configured LTS "
            "branches: `release-lts/v1.4`, `release-lts/v1.3`, `release-lts/v1.10`.",
        ),
        base="main",
    ),
    "an LTS branch no longer configured": Case(
        "lts/v1.2/issue-123",
        ticket(),
        "neutral",
        "release-lts/v1.2 is not a configured LTS line",
        (
            "The base branch `release-lts/v1.2` looks like an LTS branch, but no entry in "
            "`lines:` of `.github/lts.yml` maintains it (the line may have been removed).",
        ),
        base="release-lts/v1.2",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_evaluate(case: Case) -> None:
    decision = evaluate(BranchSnapshot(case.base, case.head, case.ticket), CONFIG)
    assert decision.name == CHECK_NAME
    assert (decision.conclusion, decision.title) == (case.conclusion, case.title)
    lines = decision.summary.splitlines()
    for line in case.summary_lines:
        assert line in lines or line in decision.summary, (line, decision.summary)


def test_a_failure_names_each_fix_after_the_rule_it_breaks() -> None:
    decision = evaluate(BranchSnapshot(BASE, "lts/v1.4/issue-123/2", ticket(labels=())), CONFIG)
    summary = decision.summary
    assert (
        summary.index("### 1.")
        < summary.index("git branch -m")
        < summary.index("### 2.")
        < summary.index("/triage backport")
        < summary.index("### 3.")
        < summary.index("/backport v1.4")
    )


def test_no_lines_configured_is_neutral() -> None:
    decision = evaluate(BranchSnapshot(BASE, "lts/v1.4/issue-1", ticket(1)), RepoConfig())
    assert decision.conclusion == "neutral"
    assert decision.summary.endswith("Configured LTS branches: none.")


def test_a_huge_head_ref_is_shown_cut() -> None:
    head = "x" * 100_000
    decision = evaluate(BranchSnapshot(BASE, head, None), CONFIG)
    assert decision.conclusion == "failure"
    assert len(decision.summary) < 2_000
    assert "x" * 199 + "…" in decision.summary
    assert "git branch -m <branch> 'lts/v1.4/issue-<N>'" in decision.summary


# --- evaluate: properties ----------------------------------------------------------------

_REF = st.one_of(
    st.text(max_size=80),
    st.builds(
        "/".join,
        st.lists(
            st.sampled_from(["lts", "v1.4", "v1.3", "1.4", "issue-123", "issue-0", "-2", "x", ""]),
            max_size=5,
        ),
    ),
)
_TICKET = st.one_of(
    st.none(),
    st.builds(
        TicketSnapshot,
        number=st.integers(-5, 2**40),
        exists=st.booleans(),
        is_pull_request=st.booleans(),
        state=st.one_of(
            st.none(),
            st.builds(
                TicketState,
                number=st.integers(1, 500),
                decision=st.sampled_from([None, "backport", "defer", "reject"]),
                backport=st.lists(st.sampled_from(["1.4", "1.3", "9.9"]), max_size=3).map(tuple),
            ),
        ),
        labels=st.lists(st.text(max_size=20) | st.sampled_from(READY), max_size=5).map(tuple),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.one_of(st.text(max_size=30), st.sampled_from([BASE, "release-lts/v1.3"])),
    head=_REF,
    snapshot_ticket=_TICKET,
)
def test_evaluate_never_raises(
    base: str, head: str, snapshot_ticket: TicketSnapshot | None
) -> None:
    decision = evaluate(BranchSnapshot(base, head, snapshot_ticket), CONFIG)
    assert decision.conclusion in ("success", "failure", "neutral")
    assert len(decision.title) <= 255
    assert decision.summary
    number = ticket_number(head)
    assert number is None or 1 <= number < 2**31


@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from(["1.4", "1.3", "1.10", "0.0", "12.345"]),
    issue=st.integers(1, 2**31 - 1),
    suffix=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)),
)
def test_every_well_formed_name_parses_back(version: str, issue: int, suffix: str | None) -> None:
    branch = PatchBranch(version, issue, suffix)
    assert parse_patch_branch(branch.name) == branch
    assert ticket_number(branch.name) == issue
    if version == "1.4":
        labels = ("triage/backport", "backport/v1.4")
        decision = evaluate(BranchSnapshot(BASE, branch.name, ticket(issue, labels)), CONFIG)
        assert decision.conclusion == "success"
