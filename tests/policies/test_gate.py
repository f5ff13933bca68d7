"""lts/gate: every part green or the first blocker named; /hold and /unhold by role holders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import HoldCommand, UnholdCommand, parse_comment
from bot.config import RepoConfig
from bot.policies import approvals
from bot.policies.gate import (
    GateSnapshot,
    Hold,
    HoldEvent,
    apply_hold_command,
    evaluate,
    hold_state,
    parts,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
URLS = {
    "lts/branch-name": "https://github.test/checks/1",
    "lts/commit-message": "https://github.test/checks/2",
    "lts/approvals": "https://github.test/checks/3",
    "ci / test": "https://github.test/checks/4",
    "ci / lint": "https://github.test/checks/5",
}
GREEN = GateSnapshot(
    branch_name="success",
    commit_message="success",
    approvals="success",
    check_urls=URLS,
    required_checks={"ci / test": "success", "ci / lint": "success"},
    ticket_triaged_for_line=True,
    ticket_number=123,
    line_version="1.4",
    ticket_url="https://github.test/acme/app/issues/123",
)
HOLD = Hold("remy", "until 1.4.3 is out", T0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_everything_green_is_ready_to_merge() -> None:
    decision = evaluate(GREEN)
    assert decision.name == "lts/gate"
    assert decision.conclusion == "success"
    assert decision.title == "Ready to merge"
    assert "❌" not in decision.summary
    assert "⏳" not in decision.summary
    assert "- ✅ [lts/approvals](https://github.test/checks/3): success" in decision.summary
    assert "- ✅ [CI `ci / test`](https://github.test/checks/4): success" in decision.summary
    assert (
        "- ✅ Ticket [#123](https://github.test/acme/app/issues/123): is triaged for v1.4"
        in decision.summary
    )
    assert "- ✅ Hold: none" in decision.summary


@dataclass(frozen=True)
class Case:
    id: str
    change: dict[str, Any]
    title: str
    line: str  # a line of the summary that says what is wrong


CASES = [
    Case(
        "a failing branch-name check blocks",
        {"branch_name": "failure"},
        "lts/branch-name: failure",
        "- ❌ [lts/branch-name](https://github.test/checks/1): failure: rename the branch",
    ),
    Case(
        "a branch-name check not reported yet waits",
        {"branch_name": None},
        "Waiting for lts/branch-name",
        "- ⏳ [lts/branch-name](https://github.test/checks/1): has not reported",
    ),
    Case(
        "a failing commit-message check blocks",
        {"commit_message": "failure"},
        "lts/commit-message: failure",
        "- ❌ [lts/commit-message](https://github.test/checks/2): failure",
    ),
    Case(
        "incomplete approvals block",
        {"approvals": "failure"},
        "lts/approvals: failure",
        "- ❌ [lts/approvals](https://github.test/checks/3): failure: sign-offs are missing",
    ),
    Case(
        "approvals not evaluated yet wait",
        {"approvals": None},
        "Waiting for lts/approvals",
        "- ⏳ [lts/approvals](https://github.test/checks/3)",
    ),
    Case(
        "a failed required CI check blocks",
        {"required_checks": {"ci / test": "failure", "ci / lint": "success"}},
        "CI check 'ci / test': failure",
        "- ❌ [CI `ci / test`](https://github.test/checks/4): failure",
    ),
    Case(
        "a timed-out required CI check blocks",
        {"required_checks": {"ci / test": "timed_out", "ci / lint": "success"}},
        "CI check 'ci / test': timed_out",
        "- ❌ [CI `ci / test`](https://github.test/checks/4): timed_out",
    ),
    Case(
        "a cancelled required CI check blocks",
        {"required_checks": {"ci / test": "success", "ci / lint": "cancelled"}},
        "CI check 'ci / lint': cancelled",
        "- ❌ [CI `ci / lint`](https://github.test/checks/5): cancelled",
    ),
    Case(
        "a running required CI check waits",
        {"required_checks": {"ci / test": "pending", "ci / lint": "success"}},
        "Waiting for CI check 'ci / test'",
        "- ⏳ [CI `ci / test`](https://github.test/checks/4): is running",
    ),
    Case(
        "a required CI check missing on the head waits",
        {"required_checks": {"ci / test": "success", "ci / lint": None}},
        "Waiting for CI check 'ci / lint'",
        "- ⏳ [CI `ci / lint`](https://github.test/checks/5): has not reported",
    ),
    Case(
        "a ticket not triaged for the line blocks and says how to triage it",
        {"ticket_triaged_for_line": False},
        "Ticket #123 is not triaged for v1.4",
        "it needs `triage/backport` and `backport/v1.4`; a triager sets them with "
        "`/triage backport` and `/backport v1.4`",
    ),
    Case(
        "no linked ticket blocks",
        {"ticket_number": None},
        "No LTS ticket for this pull request",
        "- ❌ Ticket: no LTS ticket is linked",
    ),
    Case(
        "a hold blocks and names who placed it and why",
        {"hold": HOLD},
        "On hold by @remy: until 1.4.3 is out",
        "- ❌ Hold: placed by @remy on 2026-11-23 09:00 UTC: until 1.4.3 is out; "
        "any role holder lifts it with `/unhold`",
    ),
    Case(
        "a hold without a reason still blocks",
        {"hold": Hold("remy", "", T0)},
        "On hold by @remy",
        "- ❌ Hold: placed by @remy on 2026-11-23 09:00 UTC; any role holder",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_part_not_green_keeps_the_gate_red(case: Case) -> None:
    decision = evaluate(replace(GREEN, **case.change))
    assert decision.conclusion == "failure"
    assert decision.title == case.title
    assert case.line in decision.summary
    assert decision.summary.startswith("1 part of the LTS gate is not green yet.")


@pytest.mark.parametrize("conclusion", ["success", "neutral", "skipped"])
def test_success_neutral_and_skipped_ci_checks_count_as_green(conclusion: Any) -> None:
    snapshot = replace(GREEN, required_checks={"ci / test": conclusion})
    assert evaluate(snapshot).conclusion == "success"


def test_without_required_ci_checks_the_gate_says_none_are_required() -> None:
    decision = evaluate(replace(GREEN, required_checks={}))
    assert decision.conclusion == "success"
    assert "No CI checks are required (`checks.required` is empty)." in decision.summary


def test_the_title_names_a_failing_part_before_a_waiting_one_and_counts_the_rest() -> None:
    snapshot = replace(
        GREEN,
        approvals=None,
        required_checks={"ci / test": "pending", "ci / lint": "failure"},
        ticket_triaged_for_line=False,
    )
    decision = evaluate(snapshot)
    assert decision.title == "Ticket #123 is not triaged for v1.4 (+3 more)"
    assert decision.summary.startswith("4 parts of the LTS gate are not green yet.")


def test_a_hold_is_named_first() -> None:
    decision = evaluate(replace(GREEN, hold=HOLD, branch_name="failure", approvals="failure"))
    assert decision.title == "On hold by @remy: until 1.4.3 is out (+2 more)"


def test_every_part_is_listed_in_fixing_order_with_its_link() -> None:
    names = [part.name for part in parts(GREEN)]
    assert names == [
        "Hold",
        "lts/branch-name",
        "lts/commit-message",
        "Ticket [#123](https://github.test/acme/app/issues/123)",
        "CI `ci / test`",
        "CI `ci / lint`",
        "lts/approvals",
    ]
    assert [part.url for part in parts(GREEN)][1:3] == [
        URLS["lts/branch-name"],
        URLS["lts/commit-message"],
    ]


def test_a_part_without_a_url_is_named_without_a_link() -> None:
    decision = evaluate(replace(GREEN, check_urls={}, ticket_url=None, approvals="failure"))
    assert "- ❌ lts/approvals: failure" in decision.summary
    assert "- ✅ Ticket #123: is triaged" in decision.summary


def test_a_hold_reason_cannot_inject_markdown_or_html() -> None:
    hold = Hold("remy", "wait <!-- | `x` -->", T0)
    summary = evaluate(replace(GREEN, hold=hold)).summary
    assert "<!--" not in summary
    assert "wait &lt;!-- \\| `x` --&gt;" in summary


def test_approvals_feed_the_gate() -> None:
    result = approvals.evaluate(
        approvals.ApprovalSnapshot(pr_author="ana", head_sha="abc"), RepoConfig()
    )
    decision = evaluate(replace(GREEN, approvals=result.decision.conclusion))
    assert decision.title == "lts/approvals: failure"


STATUSES = st.sampled_from(
    [None, "pending", "success", "neutral", "skipped", "failure", "cancelled", "timed_out"]
)
CONCLUSIONS = st.sampled_from([None, "success", "neutral", "failure", "action_required"])


@settings(max_examples=150, deadline=None)
@given(
    branch=CONCLUSIONS,
    message=CONCLUSIONS,
    signed=CONCLUSIONS,
    checks=st.dictionaries(st.sampled_from(["a", "b", "c"]), STATUSES),
    triaged=st.booleans(),
    ticket=st.sampled_from([None, 7]),
    held=st.booleans(),
)
def test_the_gate_is_green_exactly_when_every_part_is(
    branch: Any,
    message: Any,
    signed: Any,
    checks: dict[str, Any],
    triaged: bool,
    ticket: int | None,
    held: bool,
) -> None:
    snapshot = GateSnapshot(
        branch_name=branch,
        commit_message=message,
        approvals=signed,
        required_checks=checks,
        ticket_triaged_for_line=triaged,
        ticket_number=ticket,
        line_version="1.4",
        hold=HOLD if held else None,
    )
    green = {"success", "neutral", "skipped"}
    expected = (
        all(c in green for c in (branch, message, signed, *checks.values()))
        and triaged
        and ticket is not None
        and not held
    )
    decision = evaluate(snapshot)
    assert (decision.conclusion == "success") is expected
    assert decision.summary.count("\n- ") == len(parts(snapshot)) + (0 if checks else 1)


# --- /hold and /unhold -------------------------------------------------------------------

ROLES: dict[str, frozenset[str]] = {
    "remy": frozenset({"release-manager"}),
    "quinn": frozenset({"qa"}),
    "tess": frozenset({"triage"}),
    "helper[bot]": frozenset({"release-manager"}),
}


def hold(actor: str, t: int = 0, reason: str = "") -> HoldEvent:
    return HoldEvent(actor, at(t), HoldCommand(line=1, raw="/hold", reason=reason))


def unhold(actor: str, t: int = 0) -> HoldEvent:
    return HoldEvent(actor, at(t), UnholdCommand(line=1, raw="/unhold"))


@dataclass(frozen=True)
class HoldCase:
    id: str
    events: tuple[HoldEvent, ...]
    expected: Hold | None


HOLD_CASES = [
    HoldCase("nothing said means no hold", (), None),
    HoldCase(
        "a role holder's /hold holds, with its reason",
        (hold("remy", 1, "release freeze"),),
        Hold("remy", "release freeze", at(1)),
    ),
    HoldCase("any role holds, triage included", (hold("tess", 1),), Hold("tess", "", at(1))),
    HoldCase("a /hold from someone without a role is ignored", (hold("visitor", 1),), None),
    HoldCase("a bot's /hold is ignored even when it holds a role", (hold("helper[bot]"),), None),
    HoldCase(
        "an /unhold from someone without a role leaves the hold",
        (hold("remy", 1, "freeze"), unhold("visitor", 2)),
        Hold("remy", "freeze", at(1)),
    ),
    HoldCase(
        "another role holder's /unhold lifts the hold",
        (hold("remy", 1, "freeze"), unhold("quinn", 2)),
        None,
    ),
    HoldCase(
        "the last command wins",
        (hold("remy", 1, "freeze"), unhold("quinn", 2), hold("quinn", 3, "flaky")),
        Hold("quinn", "flaky", at(3)),
    ),
    HoldCase(
        "a second /hold replaces the first",
        (hold("remy", 1, "freeze"), hold("quinn", 2, "flaky")),
        Hold("quinn", "flaky", at(2)),
    ),
    HoldCase(
        "commands count in time order whatever order they arrive in",
        (unhold("quinn", 5), hold("remy", 1, "freeze")),
        None,
    ),
    HoldCase(
        "logins match roles without regard to case",
        (hold("REMY", 1, "freeze"),),
        Hold("REMY", "freeze", at(1)),
    ),
]


@pytest.mark.parametrize("case", HOLD_CASES, ids=[case.id for case in HOLD_CASES])
def test_hold_state(case: HoldCase) -> None:
    assert hold_state(case.events, ROLES) == case.expected


def test_apply_hold_command_ignores_people_without_a_role() -> None:
    current = Hold("remy", "freeze", at(0))
    assert apply_hold_command(current, unhold("visitor", 1), frozenset()) == current
    assert apply_hold_command(current, unhold("quinn", 1), frozenset({"qa"})) is None
    assert apply_hold_command(None, hold("quinn", 2, "x"), frozenset({"qa"})) == Hold(
        "quinn", "x", at(2)
    )


def test_a_parsed_hold_comment_becomes_a_hold() -> None:
    commands = parse_comment("Please wait.\n\n/hold waiting for   the QA matrix").commands
    command = commands[0]
    assert isinstance(command, HoldCommand)
    events = (HoldEvent("quinn", at(1), command),)
    assert hold_state(events, ROLES) == Hold("quinn", "waiting for the QA matrix", at(1))
