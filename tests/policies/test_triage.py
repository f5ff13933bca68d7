"""Triage policy: commands and hand-set labels on a ticket, eligibility, risk, approvers, labels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import (
    AffectsCommand,
    AssignCommand,
    BackportCommand,
    CheckCommand,
    Command,
    HelpCommand,
    RegressionCommand,
    RemoveAffectsCommand,
    RemoveBackportCommand,
    SecurityCommand,
    SeverityCommand,
    SlaCommand,
    StatusCommand,
    TriageCommand,
    UnassignCommand,
    help_text,
    parse_comment,
)
from bot.config import RepoConfig
from bot.policies import triage
from bot.policies.triage import (
    RISK_FORMULA,
    Outcome,
    RequestKind,
    apply_command,
    apply_label_change,
    desired_labels,
    kind_of,
    label_diff,
    required_approvers,
    risk_score,
)
from bot.ticket import (
    DECISIONS,
    SEVERITIES,
    AuditEntry,
    Checklist,
    PauseSpan,
    TicketState,
    is_owned_label,
)

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=2)

CONFIG = RepoConfig.model_validate(
    {
        "lines": [
            {"version": "1.4", "eol": "2027-06-30"},
            {"version": "1.3", "eol": "2026-12-31", "phase": "security-only"},
            {"version": "1.2", "eol": "2026-06-30"},  # past its end of life on TODAY
        ]
    }
)
CONFIG_WITH_ROLES = CONFIG.model_copy(
    update={
        "roles": RepoConfig.model_validate(
            {"roles": {"triage": ["@acme/lts-triage", "alice"]}}
        ).roles
    }
)
SUPPORTED = (
    "supported lines: v1.4 (maintenance, until 2027-06-30), v1.3 (security-only, until 2026-12-31)"
)

TRIAGER = frozenset({"triage"})
RELEASE_TRIAGER = frozenset({"triage", "release-manager"})
NOBODY: frozenset[str] = frozenset()

BASE = TicketState(number=123)
# A bug ready to be triaged for backport to v1.4.
READY = replace(BASE, severity="high", affects=("1.4",), checklist=Checklist(api_change="no"))
DECIDED = replace(READY, decision="backport", decided_at=EARLIER)
SECURE = replace(DECIDED, security=True, affects=("1.4", "1.3"))
PAUSED = replace(BASE, pauses=(PauseSpan(start=EARLIER, end=None, reason="waiting"),))

SECURITY_ONLY = (
    "v1.3 is security-only: only security fixes are backported to it "
    "(this ticket is not marked /security)"
)
ANSWER_API = (
    "answer /check api-change=yes|no first: bug fixes are backported only when they "
    "need no API change"
)
API_BREAK = (
    "the fix needs an API change (api-change=yes), and API-breaking changes are not "
    "backported to LTS lines; use /triage defer, or /check api-change=no if that is wrong"
)
FEATURE = (
    "feature requests are deferred in LTS: only a release manager can backport one; "
    "use /triage defer, or ask a release manager"
)


def cmd(text: str) -> Command:
    """The one command a comment line holds, as the parser reads it."""
    parsed = parse_comment(text)
    assert parsed.errors == (), parsed
    assert len(parsed.commands) == 1, parsed
    return parsed.commands[0]


def run(
    state: TicketState,
    command: Command | str,
    *,
    roles: frozenset[str] = TRIAGER,
    kind: RequestKind = "bug",
    is_author: bool = False,
    config: RepoConfig = CONFIG,
) -> Outcome:
    return apply_command(
        state,
        cmd(command) if isinstance(command, str) else command,
        actor="octocat",
        actor_roles=roles,
        is_author=is_author,
        config=config,
        today=TODAY,
        now=NOW,
        kind=kind,
    )


def label(
    state: TicketState,
    name: str,
    added: bool = True,
    *,
    roles: frozenset[str] = TRIAGER,
    kind: RequestKind = "bug",
) -> Outcome:
    return apply_label_change(
        state,
        name,
        added,
        actor="x",
        actor_roles=roles,
        config=CONFIG,
        today=TODAY,
        now=NOW,
        kind=kind,
    )


# --- accepted commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    state: TicketState
    command: str | Command
    expected: TicketState  # without the audit entry
    audit: tuple[str, str] | None  # (action, detail); None: nothing changed
    roles: frozenset[str] = TRIAGER
    kind: RequestKind = "bug"
    assign: tuple[str, ...] = ()
    unassign: tuple[str, ...] = ()


ACCEPTED = {
    "/severity sets the severity and when it was set": Accepted(
        BASE,
        "/severity high",
        replace(BASE, severity="high", severity_set_at=NOW),
        ("severity set", "high"),
    ),
    "/severity replaces a severity and says what it was": Accepted(
        replace(BASE, severity="medium", severity_set_at=EARLIER),
        "/severity critical",
        replace(BASE, severity="critical", severity_set_at=NOW),
        ("severity set", "critical (was medium)"),
    ),
    "/severity with the same level changes nothing": Accepted(
        replace(BASE, severity="high", severity_set_at=EARLIER),
        "/severity HIGH",
        replace(BASE, severity="high", severity_set_at=EARLIER),
        None,
    ),
    "/affects adds supported lines, newest first": Accepted(
        BASE,
        "/affects v1.3 v1.4",
        replace(BASE, affects=("1.4", "1.3")),
        ("affects added", "v1.4, v1.3"),
    ),
    "/affects records only the lines not there yet": Accepted(
        replace(BASE, affects=("1.4",)),
        "/affects 1.3, v1.4",
        replace(BASE, affects=("1.4", "1.3")),
        ("affects added", "v1.3"),
    ),
    "/affects with lines already there changes nothing": Accepted(
        replace(BASE, affects=("1.4",)), "/affects v1.4", replace(BASE, affects=("1.4",)), None
    ),
    "/remove-affects removes a line": Accepted(
        replace(BASE, affects=("1.4", "1.3")),
        "/remove-affects v1.3",
        replace(BASE, affects=("1.4",)),
        ("affects removed", "v1.3"),
    ),
    "/remove-affects removes a line that has reached its end of life": Accepted(
        replace(BASE, affects=("1.4", "1.2")),
        "/remove-affects v1.2",
        replace(BASE, affects=("1.4",)),
        ("affects removed", "v1.2"),
    ),
    "/remove-affects of a supported line not marked changes nothing": Accepted(
        replace(BASE, affects=("1.4",)),
        "/remove-affects v1.3",
        replace(BASE, affects=("1.4",)),
        None,
    ),
    "/triage defer records the decision, its reason and when": Accepted(
        BASE,
        "/triage defer waiting for a reproducer",
        replace(BASE, decision="defer", decision_reason="waiting for a reproducer", decided_at=NOW),
        ("triage decided", "defer: waiting for a reproducer"),
    ),
    "/triage backport for a bug fix without API change on a maintained line": Accepted(
        READY,
        "/triage backport",
        replace(READY, decision="backport", decided_at=NOW),
        ("triage decided", "backport"),
    ),
    "/triage backport needs only one maintained line among the affected ones": Accepted(
        replace(READY, affects=("1.4", "1.3")),
        "/triage backport",
        replace(READY, affects=("1.4", "1.3"), decision="backport", decided_at=NOW),
        ("triage decided", "backport"),
    ),
    "/triage backport for a security fix on a security-only line": Accepted(
        replace(BASE, severity="critical", affects=("1.3",), security=True),
        "/triage backport",
        replace(
            BASE,
            severity="critical",
            affects=("1.3",),
            security=True,
            decision="backport",
            decided_at=NOW,
        ),
        ("triage decided", "backport"),
    ),
    "/triage backport for a feature by a release manager": Accepted(
        READY,
        "/triage backport trivial and low risk",
        replace(READY, decision="backport", decision_reason="trivial and low risk", decided_at=NOW),
        ("triage decided", "backport: trivial and low risk"),
        roles=RELEASE_TRIAGER,
        kind="feature",
    ),
    "/triage with a new reason keeps the decision time": Accepted(
        replace(BASE, decision="defer", decision_reason="a", decided_at=EARLIER),
        "/triage defer b",
        replace(BASE, decision="defer", decision_reason="b", decided_at=EARLIER),
        ("triage decided", "defer: b"),
    ),
    "/triage reject withdraws the backport targets": Accepted(
        replace(DECIDED, backport=("1.4",)),
        "/triage reject duplicate of #7",
        replace(READY, decision="reject", decision_reason="duplicate of #7", decided_at=NOW),
        (
            "triage decided",
            "reject (was backport): duplicate of #7; backport targets withdrawn: v1.4",
        ),
    ),
    "/triage with the same decision and reason changes nothing": Accepted(
        replace(BASE, decision="defer", decided_at=EARLIER),
        "/triage defer",
        replace(BASE, decision="defer", decided_at=EARLIER),
        None,
    ),
    "/backport plans a maintained line for a bug fix": Accepted(
        DECIDED,
        "/backport v1.4",
        # The first target makes the plan: the plan clock stops.
        replace(DECIDED, backport=("1.4",), planned_at=NOW),
        ("backport planned", "v1.4"),
    ),
    "/backport plans a security-only line for a security fix": Accepted(
        SECURE,
        "/backport v1.3 v1.4",
        replace(SECURE, backport=("1.4", "1.3"), planned_at=NOW),
        ("backport planned", "v1.4, v1.3"),
    ),
    "/backport for a feature by a release manager": Accepted(
        DECIDED,
        "/backport v1.4",
        replace(DECIDED, backport=("1.4",), planned_at=NOW),
        ("backport planned", "v1.4"),
        roles=RELEASE_TRIAGER,
        kind="feature",
    ),
    "/remove-backport withdraws a target": Accepted(
        replace(SECURE, backport=("1.4", "1.3"), planned_at=EARLIER),
        "/remove-backport v1.3",
        replace(SECURE, backport=("1.4",), planned_at=EARLIER),
        ("backport withdrawn", "v1.3"),
    ),
    "/remove-backport of the last target reopens the plan": Accepted(
        replace(SECURE, backport=("1.3",), planned_at=EARLIER),
        "/remove-backport v1.3",
        SECURE,
        ("backport withdrawn", "v1.3"),
    ),
    "/backport adding a line keeps the plan's time": Accepted(
        replace(SECURE, backport=("1.4",), planned_at=EARLIER),
        "/backport v1.3",
        replace(SECURE, backport=("1.4", "1.3"), planned_at=EARLIER),
        ("backport planned", "v1.3"),
    ),
    "/security flags the ticket": Accepted(
        BASE, "/security", replace(BASE, security=True), ("security flagged", "")
    ),
    "/security on a flagged ticket changes nothing": Accepted(
        replace(BASE, security=True), "/security", replace(BASE, security=True), None
    ),
    "/regression flags the ticket": Accepted(
        BASE, "/regression", replace(BASE, regression=True), ("regression flagged", "")
    ),
    "/check merges answers into the checklist": Accepted(
        replace(BASE, checklist=Checklist(exploit="yes")),
        "/check reproduced=yes api-change=no effort=small",
        replace(
            BASE,
            checklist=Checklist(reproduced="yes", exploit="yes", api_change="no", effort="small"),
        ),
        ("checklist answered", "reproduced=yes, api-change=no, effort=small"),
    ),
    "/check says what an answer was": Accepted(
        replace(BASE, checklist=Checklist(effort="small", workaround="yes")),
        "/check effort=large workaround=no",
        replace(BASE, checklist=Checklist(effort="large", workaround="no")),
        ("checklist answered", "workaround=no (was yes), effort=large (was small)"),
    ),
    "/check with the same answers changes nothing": Accepted(
        replace(BASE, checklist=Checklist(exploit="no")),
        "/check exploit=no",
        replace(BASE, checklist=Checklist(exploit="no")),
        None,
    ),
    "/assign makes the first user named the owner and assigns all": Accepted(
        BASE,
        "/assign @alice @bob",
        replace(BASE, owner="alice"),
        ("owner set", "alice"),
        assign=("alice", "bob"),
    ),
    "/assign replaces the owner": Accepted(
        replace(BASE, owner="alice"),
        "/assign @carol",
        replace(BASE, owner="carol"),
        ("owner set", "carol (was alice)"),
        assign=("carol",),
    ),
    "/assign of the owner assigns again without a change": Accepted(
        replace(BASE, owner="alice"),
        "/assign @Alice",
        replace(BASE, owner="alice"),
        None,
        assign=("Alice",),
    ),
    "/unassign of the owner removes the owner": Accepted(
        replace(BASE, owner="alice"),
        "/unassign @alice",
        BASE,
        ("owner removed", "alice"),
        unassign=("alice",),
    ),
    "/unassign of someone else unassigns them and keeps the owner": Accepted(
        replace(BASE, owner="alice"),
        "/unassign @bob",
        replace(BASE, owner="alice"),
        None,
        unassign=("bob",),
    ),
    "/sla pause opens a pause with its reason": Accepted(
        BASE,
        "/sla pause waiting for the reporter",
        replace(BASE, pauses=(PauseSpan(start=NOW, end=None, reason="waiting for the reporter"),)),
        ("sla paused", "waiting for the reporter"),
    ),
    "/sla resume closes the pause": Accepted(
        PAUSED,
        "/sla resume",
        replace(BASE, pauses=(PauseSpan(start=EARLIER, end=NOW, reason="waiting"),)),
        ("sla resumed", "paused since 2026-11-23 08:00 UTC: waiting"),
    ),
}


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_command_is_accepted(case: Accepted) -> None:
    out = run(case.state, case.command, roles=case.roles, kind=case.kind)
    assert out.accepted
    assert out.reply is None
    assert out.reaction == "+1"
    assert (out.assign, out.unassign) == (case.assign, case.unassign)
    assert not out.revert
    assert not out.rerender
    assert replace(out.state, audit=()) == case.expected
    if case.audit is None:
        assert out.changes == ()
        assert out.state.audit == case.state.audit
    else:
        assert out.changes == (AuditEntry(NOW, "octocat", *case.audit),)
        assert out.state.audit == (*case.state.audit, *out.changes)


def test_status_asks_for_a_rerender_from_anyone() -> None:
    out = run(READY, "/status", roles=NOBODY)
    assert out == Outcome(READY, accepted=True, reaction="eyes", rerender=True)


@pytest.mark.parametrize(
    ("roles", "is_author"),
    [(NOBODY, False), (TRIAGER, False), (frozenset({"qa", "eng-lead"}), True)],
)
def test_help_lists_the_commands_the_actor_may_use(roles: frozenset[str], is_author: bool) -> None:
    out = run(BASE, "/help", roles=roles, is_author=is_author)
    held = roles | {"anyone"} | ({"author"} if is_author else set())
    assert out == Outcome(BASE, accepted=True, reply=help_text(held), reaction="eyes")
    assert ("/severity" in (out.reply or "")) == ("triage" in roles)


def test_commands_of_other_policies_are_left_to_them() -> None:
    out = run(DECIDED, "/approve qa", roles=frozenset({"qa"}))
    assert out == Outcome(DECIDED, accepted=False)


# --- refused commands --------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    state: TicketState
    command: str | Command
    reply: str
    roles: frozenset[str] = TRIAGER
    kind: RequestKind = "bug"
    config: RepoConfig = CONFIG


ROLE_DEFAULT = "people with triage permission or above"

REFUSED = {
    "a command needing the triage role, without it": Refused(
        BASE, "/severity high", f"only the triage role can use /severity: {ROLE_DEFAULT}", NOBODY
    ),
    "another role does not stand in for triage": Refused(
        BASE,
        "/security",
        f"only the triage role can use /security: {ROLE_DEFAULT}",
        frozenset({"release-manager", "qa"}),
    ),
    "the refusal names the configured members without notifying them": Refused(
        BASE,
        "/affects v1.4",
        "only the triage role can use /affects: `@acme/lts-triage`, `alice`",
        NOBODY,
        config=CONFIG_WITH_ROLES,
    ),
    "/affects of an unknown line": Refused(
        BASE, "/affects v1.9", f"v1.9 is not an LTS line of this project; {SUPPORTED}"
    ),
    "/affects of a line past its end of life": Refused(
        BASE, "/affects v1.4 v1.2", f"v1.2 reached its end of life on 2026-06-30; {SUPPORTED}"
    ),
    "/affects with no supported line configured": Refused(
        BASE,
        "/affects v1.4",
        "v1.4 is not an LTS line of this project; no LTS line is supported; "
        "add one under `lines` in `.github/lts.yml`",
        config=RepoConfig(),
    ),
    "/remove-affects of an unknown line": Refused(
        replace(BASE, affects=("1.4",)),
        "/remove-affects v1.4 v1.9",
        f"v1.9 is not an LTS line of this project; {SUPPORTED}",
    ),
    "/triage backport without a severity": Refused(
        replace(READY, severity=None),
        "/triage backport",
        "/triage backport needs a severity first: use /severity critical|high|medium|low",
    ),
    "/triage backport without an affected line": Refused(
        replace(READY, affects=()),
        "/triage backport",
        f"/triage backport needs an affected line first: use /affects vX.Y ({SUPPORTED})",
    ),
    "/triage backport when every affected line has reached its end of life": Refused(
        replace(READY, affects=("1.2",)),
        "/triage backport",
        f"none of the affected lines (v1.2) is supported any more; {SUPPORTED}",
    ),
    "/triage backport of a bug fix affecting only a security-only line": Refused(
        replace(READY, affects=("1.3",)), "/triage backport", SECURITY_ONLY
    ),
    "/triage backport of a bug fix with the API question unanswered": Refused(
        replace(READY, checklist=Checklist()), "/triage backport", ANSWER_API
    ),
    "/triage backport of a bug fix that changes the API": Refused(
        replace(READY, checklist=Checklist(api_change="yes")), "/triage backport", API_BREAK
    ),
    "/triage backport of a feature by a triager who is not a release manager": Refused(
        READY, "/triage backport", FEATURE, kind="feature"
    ),
    "/backport before any decision": Refused(
        READY,
        "/backport v1.4",
        "backports are planned after the decision to backport (no decision yet); "
        "use /triage backport first",
    ),
    "/backport of a deferred ticket": Refused(
        replace(READY, decision="defer"),
        "/backport v1.4",
        "backports are planned after the decision to backport (this ticket is triaged defer); "
        "use /triage backport first",
    ),
    "/backport to a line past its end of life": Refused(
        SECURE, "/backport v1.2", f"v1.2 reached its end of life on 2026-06-30; {SUPPORTED}"
    ),
    "/backport of a bug fix to a security-only line": Refused(
        DECIDED, "/backport v1.4 v1.3", SECURITY_ONLY
    ),
    "/remove-backport of an unknown line": Refused(
        SECURE, "/remove-backport v2.0", f"v2.0 is not an LTS line of this project; {SUPPORTED}"
    ),
    "/sla pause without a reason": Refused(
        BASE,
        SlaCommand(line=1, raw="/sla pause", action="pause", reason="  "),
        "/sla pause needs a reason, so the record shows why: /sla pause <reason>",
    ),
    "/sla pause while paused": Refused(
        PAUSED,
        "/sla pause another reason",
        "the SLA clock is already paused since 2026-11-23 08:00 UTC; use /sla resume first, "
        "then pause again with the new reason",
    ),
    "/sla resume while running": Refused(
        BASE,
        "/sla resume",
        "the SLA clock is not paused; to pause it, use /sla pause <reason>",
    ),
    "/assign of something that is not a login is quoted as code": Refused(
        BASE,
        AssignCommand(line=1, raw="/assign", users=("<b>x</b> `y`",)),
        "`` <b>x</b> `y` `` is not a GitHub user; write /assign @login",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_command_is_refused_saying_why(case: Refused) -> None:
    out = run(case.state, case.command, roles=case.roles, kind=case.kind, config=case.config)
    assert out == Outcome(case.state, accepted=False, reply=case.reply)


# --- eligibility -------------------------------------------------------------------------

OK = None

# (request kind, /security flag, line, api-change answer, release manager) -> refusal
ELIGIBILITY: list[tuple[RequestKind, bool, str, Any, bool, str | None]] = [
    ("bug", True, "1.4", None, False, OK),
    ("bug", True, "1.3", "yes", False, OK),
    ("feature", True, "1.3", None, False, OK),  # the flag makes it a security fix
    ("bug", False, "1.4", "no", False, OK),
    ("bug", False, "1.4", None, False, ANSWER_API),
    ("bug", False, "1.4", "yes", False, API_BREAK),
    ("bug", False, "1.4", "yes", True, API_BREAK),
    ("bug", False, "1.3", "no", False, SECURITY_ONLY),
    ("bug", False, "1.3", None, False, SECURITY_ONLY),
    ("bug", False, "1.3", "no", True, SECURITY_ONLY),
    ("feature", False, "1.4", "no", False, FEATURE),
    ("feature", False, "1.3", "no", False, FEATURE),
    ("feature", False, "1.4", "no", True, OK),
    ("feature", False, "1.4", None, True, ANSWER_API),
    ("feature", False, "1.4", "yes", True, API_BREAK),
    ("feature", False, "1.3", "no", True, SECURITY_ONLY),
]


@pytest.mark.parametrize(("kind", "security", "line", "api", "rm", "refusal"), ELIGIBILITY)
def test_backport_eligibility(
    kind: RequestKind, security: bool, line: str, api: Any, rm: bool, refusal: str | None
) -> None:
    """/triage backport and /backport follow the same matrix of kind, phase and API change."""
    roles = RELEASE_TRIAGER if rm else TRIAGER
    ticket = replace(
        BASE,
        severity="high",
        affects=(line,),
        security=security,
        checklist=Checklist(api_change=api),
    )
    triaged = run(ticket, "/triage backport", roles=roles, kind=kind)
    planned = run(
        replace(ticket, decision="backport"), f"/backport v{line}", roles=roles, kind=kind
    )
    for out in (triaged, planned):
        assert out.accepted == (refusal is None)
        assert out.reply == refusal


def test_the_security_flag_decides_the_kind() -> None:
    assert kind_of(replace(BASE, security=True), "feature") == "security"
    assert kind_of(BASE, "feature") == "feature"
    assert kind_of(BASE) == "bug"


# --- labels set by hand ------------------------------------------------------------------


def test_a_label_set_by_a_triager_counts_as_the_command() -> None:
    out = label(BASE, "severity/high")
    assert out.accepted
    assert not out.revert
    assert out.reply is None
    assert (out.state.severity, out.state.severity_set_at) == ("high", NOW)
    assert out.changes == (AuditEntry(NOW, "x", "severity set via label", "high"),)
    assert out.state.audit == out.changes


def test_a_label_set_without_the_role_is_reverted_with_an_explanation() -> None:
    out = label(BASE, "severity/high", roles=frozenset({"qa"}))
    assert out == Outcome(
        BASE,
        accepted=False,
        revert=True,
        reply="@x, `severity/high` is set by the triage role with /severity; I removed it. "
        "Ask a triager or use /severity if you have the role.",
    )


def test_a_label_removed_without_the_role_is_put_back() -> None:
    state = replace(BASE, affects=("1.4", "1.3"))
    out = label(state, "affects/v1.3", added=False, roles=NOBODY)
    assert out == Outcome(
        state,
        accepted=False,
        revert=True,
        reply="@x, `affects/v1.3` is removed by the triage role with /remove-affects; I put it "
        "back. Ask a triager or use /remove-affects if you have the role.",
    )


def test_a_label_without_a_removing_command_is_put_back_for_a_triager_to_remove() -> None:
    state = replace(BASE, security=True)
    out = label(state, "security", added=False, roles=frozenset({"qa"}))
    assert out == Outcome(
        state,
        accepted=False,
        revert=True,
        reply="@x, `security` is managed by the triage role; I put it back. "
        "Ask a triager to remove it.",
    )


def test_sla_paused_removed_without_the_role_points_at_sla_resume() -> None:
    out = label(PAUSED, "sla/paused", added=False, roles=NOBODY)
    assert out.revert
    assert out.reply == (
        "@x, `sla/paused` is removed by the triage role with /sla resume; I put it back. "
        "Ask a triager or use /sla resume if you have the role."
    )


@dataclass(frozen=True)
class LabelCase:
    state: TicketState
    name: str
    added: bool
    expected: TicketState | None  # None: reverted
    audit: tuple[str, str] | None = None
    reply: str | None = None
    kind: RequestKind = "bug"
    roles: frozenset[str] = field(default=TRIAGER)


LABELS = {
    "affects added": LabelCase(
        BASE,
        "affects/v1.4",
        True,
        replace(BASE, affects=("1.4",)),
        ("affects added via label", "v1.4"),
    ),
    "affects removed": LabelCase(
        replace(BASE, affects=("1.4", "1.3")),
        "affects/v1.3",
        False,
        replace(BASE, affects=("1.4",)),
        ("affects removed via label", "v1.3"),
    ),
    "severity removed clears it": LabelCase(
        replace(BASE, severity="low", severity_set_at=EARLIER),
        "severity/low",
        False,
        BASE,
        ("severity cleared via label", "was low"),
    ),
    "a decision removed clears it": LabelCase(
        replace(BASE, decision="defer", decision_reason="r", decided_at=EARLIER),
        "triage/defer",
        False,
        BASE,
        ("triage cleared via label", "was defer"),
    ),
    "a triage label follows the command's rules": LabelCase(
        READY,
        "triage/backport",
        True,
        replace(READY, decision="backport", decided_at=NOW),
        ("triage decided via label", "backport"),
    ),
    "a backport label follows the command's rules": LabelCase(
        SECURE,
        "backport/v1.3",
        True,
        replace(SECURE, backport=("1.3",), planned_at=NOW),
        ("backport planned via label", "v1.3"),
    ),
    "a backport label removed withdraws the target": LabelCase(
        replace(SECURE, backport=("1.3",)),
        "backport/v1.3",
        False,
        SECURE,
        ("backport withdrawn via label", "v1.3"),
    ),
    "the security flag set": LabelCase(
        BASE, "security", True, replace(BASE, security=True), ("security flagged via label", "")
    ),
    "the security flag removed": LabelCase(
        replace(BASE, security=True), "security", False, BASE, ("security cleared via label", "")
    ),
    "the regression flag removed": LabelCase(
        replace(BASE, regression=True),
        "regression",
        False,
        BASE,
        ("regression cleared via label", ""),
    ),
    "sla/paused removed resumes the clock": LabelCase(
        PAUSED,
        "sla/paused",
        False,
        replace(BASE, pauses=(PauseSpan(start=EARLIER, end=NOW, reason="waiting"),)),
        ("sla resumed via label", "paused since 2026-11-23 08:00 UTC: waiting"),
    ),
    "a label the state already has changes nothing": LabelCase(
        replace(BASE, severity="high"), "severity/high", True, replace(BASE, severity="high")
    ),
    "removing a label the state does not have changes nothing": LabelCase(
        BASE, "affects/v9.9", False, BASE
    ),
    "a label the bot does not own changes nothing": LabelCase(
        BASE, "good first issue", True, BASE, roles=NOBODY
    ),
    "a backport label breaking the rules is reverted with the rule": LabelCase(
        DECIDED,
        "backport/v1.3",
        True,
        None,
        reply=f"@x, `backport/v1.3` was not applied: {SECURITY_ONLY}; I removed it.",
    ),
    "a triage label without its prerequisites is reverted": LabelCase(
        BASE,
        "triage/backport",
        True,
        None,
        reply="@x, `triage/backport` was not applied: /triage backport needs a severity first: "
        "use /severity critical|high|medium|low; I removed it.",
    ),
    "an affects label for a line past its end of life is reverted": LabelCase(
        BASE,
        "affects/v1.2",
        True,
        None,
        reply=f"@x, `affects/v1.2` was not applied: v1.2 reached its end of life on 2026-06-30; "
        f"{SUPPORTED}; I removed it.",
    ),
    "an unknown severity is reverted": LabelCase(
        BASE,
        "severity/urgent",
        True,
        None,
        reply="@x, `severity/urgent` is not a severity; use /severity "
        "critical|high|medium|low; I removed it.",
    ),
    "a malformed line label is reverted": LabelCase(
        BASE,
        "backport/1.4",
        True,
        None,
        reply="@x, `backport/1.4` does not name a line; use labels such as backport/v1.4; "
        "I removed it.",
    ),
    "sla/paused set by hand is reverted, it needs a reason": LabelCase(
        BASE,
        "sla/paused",
        True,
        None,
        reply="@x, `sla/paused` is set by /sla pause <reason>, which records why; I removed it.",
    ),
    "needs-info removed by hand is put back": LabelCase(
        replace(BASE, missing_fields=("python_version",)),
        "needs-info",
        False,
        None,
        reply="@x, `needs-info` is managed by lts-bot: it is there while the request form "
        "misses required fields, so edit the issue to fill them in; I put it back.",
    ),
}


@pytest.mark.parametrize("case", LABELS.values(), ids=LABELS.keys())
def test_hand_set_label(case: LabelCase) -> None:
    out = label(case.state, case.name, case.added, roles=case.roles, kind=case.kind)
    if case.expected is None:
        assert out == Outcome(case.state, accepted=False, revert=True, reply=case.reply)
        return
    assert (out.accepted, out.revert, out.reply, out.reaction) == (True, False, None, None)
    assert replace(out.state, audit=()) == case.expected
    expected_changes = () if case.audit is None else (AuditEntry(NOW, "x", *case.audit),)
    assert out.changes == expected_changes


# --- risk score --------------------------------------------------------------------------

FOUR_LINES = RepoConfig.model_validate(
    {"lines": [{"version": f"1.{minor}", "eol": "2030-01-01"} for minor in range(2, 6)]}
)

RISK = {
    "nothing known": (
        BASE,
        CONFIG,
        0,
        "no risk factors = 0 (not known yet: severity, exploit, workaround, api-change)",
    ),
    "everything at its worst": (
        replace(
            BASE,
            severity="critical",
            checklist=Checklist(exploit="yes", workaround="no", api_change="yes"),
            backport=("1.5", "1.4", "1.3", "1.2"),
        ),
        FOUR_LINES,
        100,
        "severity critical 40 + public exploit 20 + no workaround 15 + API change 10 "
        "+ 4 target lines 15 = 100",
    ),
    "benign answers add nothing": (
        replace(
            BASE,
            severity="high",
            checklist=Checklist(exploit="no", workaround="yes", api_change="no"),
            affects=("1.4",),
        ),
        CONFIG,
        35,
        "severity high 30 + 1 target line 5 = 35",
    ),
    "backport targets count rather than affected lines": (
        replace(BASE, severity="medium", affects=("1.4",), backport=("1.4", "1.3")),
        CONFIG,
        25,
        "severity medium 15 + 2 target lines 10 = 25 "
        "(not known yet: exploit, workaround, api-change)",
    ),
    "lines not in the config do not count": (
        replace(BASE, severity="low", affects=("9.9",), checklist=Checklist(exploit="yes")),
        CONFIG,
        25,
        "severity low 5 + public exploit 20 = 25 (not known yet: workaround, api-change)",
    ),
}


@pytest.mark.parametrize(("state", "config", "score", "text"), RISK.values(), ids=RISK.keys())
def test_risk_score(state: TicketState, config: RepoConfig, score: int, text: str) -> None:
    assert risk_score(state, config) == (score, text)


def test_the_risk_formula_is_documented_for_the_docs() -> None:
    assert "| Severity | critical 40, high 30, medium 15, low 5, not set 0 |" in RISK_FORMULA
    assert "+5 per line, at most +15" in RISK_FORMULA


# --- approvers and labels ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "fast_track", "approvers"),
    [
        (False, False, ("reviewer", "qa", "release-manager")),
        (True, False, ("reviewer", "qa", "release-manager", "security")),
        (False, True, ("eng-lead", "release-manager")),
        (True, True, ("eng-lead", "release-manager", "security")),
    ],
)
def test_required_approvers(security: bool, fast_track: bool, approvers: tuple[str, ...]) -> None:
    state = replace(BASE, security=security)
    assert required_approvers(state, fast_track=fast_track) == approvers


def test_label_diff_adds_and_removes_only_owned_labels() -> None:
    state = replace(BASE, severity="high", affects=("1.4",), decision="defer")
    current = ["bug", "severity/low", "affects/v1.2", "triage/defer", "regression", "Help Wanted"]
    assert desired_labels(state) == {"severity/high", "affects/v1.4", "triage/defer"}
    assert label_diff(current, state) == (
        ("affects/v1.4", "severity/high"),
        ("affects/v1.2", "regression", "severity/low"),
    )


def test_label_diff_matches_names_without_regard_to_case() -> None:
    state = replace(BASE, security=True)
    assert label_diff(["Security"], state) == ((), ())


# --- properties --------------------------------------------------------------------------

VERSIONS = st.sampled_from(["1.4", "1.3", "1.2", "1.9"])
VERSION_LISTS = st.lists(VERSIONS, min_size=1, max_size=3, unique=True).map(tuple)
USERS = st.lists(st.sampled_from(["alice", "bob", "Alice", "bad user"]), min_size=1, max_size=2)
ANSWER = st.none() | st.booleans()
REASON = st.sampled_from(["", "waiting", "dup `x` @team <b>"])

COMMANDS: st.SearchStrategy[Command] = st.one_of(
    st.builds(SeverityCommand, line=st.just(1), raw=st.just(""), level=st.sampled_from(SEVERITIES)),
    st.builds(AffectsCommand, line=st.just(1), raw=st.just(""), versions=VERSION_LISTS),
    st.builds(RemoveAffectsCommand, line=st.just(1), raw=st.just(""), versions=VERSION_LISTS),
    st.builds(
        TriageCommand,
        line=st.just(1),
        raw=st.just(""),
        decision=st.sampled_from(DECISIONS),
        reason=REASON,
    ),
    st.builds(BackportCommand, line=st.just(1), raw=st.just(""), versions=VERSION_LISTS),
    st.builds(RemoveBackportCommand, line=st.just(1), raw=st.just(""), versions=VERSION_LISTS),
    st.builds(SecurityCommand, line=st.just(1), raw=st.just("")),
    st.builds(RegressionCommand, line=st.just(1), raw=st.just("")),
    st.builds(
        CheckCommand,
        line=st.just(1),
        raw=st.just(""),
        reproduced=ANSWER,
        exploit=ANSWER,
        workaround=ANSWER,
        api_change=ANSWER,
        effort=st.none() | st.sampled_from(["small", "medium", "large"]),
    ),
    st.builds(AssignCommand, line=st.just(1), raw=st.just(""), users=USERS.map(tuple)),
    st.builds(UnassignCommand, line=st.just(1), raw=st.just(""), users=USERS.map(tuple)),
    st.builds(
        SlaCommand,
        line=st.just(1),
        raw=st.just(""),
        action=st.sampled_from(["pause", "resume"]),
        reason=REASON,
    ),
    st.builds(StatusCommand, line=st.just(1), raw=st.just("")),
    st.builds(HelpCommand, line=st.just(1), raw=st.just("")),
    st.sampled_from(["/approve qa", "/hold", "/release v1.4"]).map(cmd),
)
ROLES = st.frozensets(st.sampled_from(["triage", "release-manager", "qa", "security"]))
KINDS: st.SearchStrategy[RequestKind] = st.sampled_from(["bug", "feature"])
OWNED = [
    *(f"severity/{s}" for s in (*SEVERITIES, "urgent")),
    *(f"{p}/v{v}" for p in ("affects", "backport") for v in ("1.4", "1.3", "1.2", "1.9")),
    *(f"triage/{d}" for d in (*DECISIONS, "maybe")),
    "backport/1.4",
    "security",
    "regression",
    "needs-info",
    "sla/paused",
]
LABELS_ANY = st.sampled_from(
    [*OWNED, "bug", "Security", "SEVERITY/high", "good first issue"]
) | st.text(max_size=12)
PROPERTY = settings(max_examples=150, deadline=None)


def _check_invariants(before: TicketState, out: Outcome) -> None:
    assert out.state.audit == (*before.audit, *out.changes)
    assert len(out.changes) <= 1
    if not out.accepted:
        assert out.state == before
        assert out.changes == ()
    if out.changes:
        # An audit entry always stands for a real change.
        assert replace(out.state, audit=()) != replace(before, audit=())
    else:
        assert out.state == before


@PROPERTY
@given(
    steps=st.lists(st.tuples(COMMANDS, ROLES, KINDS, st.booleans()), max_size=15),
    minutes=st.integers(0, 60),
)
def test_any_command_sequence_is_applied_without_error(
    steps: list[tuple[Command, frozenset[str], RequestKind, bool]], minutes: int
) -> None:
    """Audit grows by exactly one entry per accepted change, and refusals change nothing."""
    state = BASE
    for index, (command, roles, kind, is_author) in enumerate(steps):
        out = apply_command(
            state,
            command,
            actor="octocat",
            actor_roles=roles,
            is_author=is_author,
            config=CONFIG,
            today=TODAY,
            now=NOW + timedelta(minutes=minutes * index),
            kind=kind,
        )
        _check_invariants(state, out)
        assert (out.reaction is not None) == out.accepted
        state = out.state
    # Unknown lines and lines past their end of life never get in.
    assert not {"1.9", "1.2"} & {*state.affects, *state.backport}


@PROPERTY
@given(steps=st.lists(st.tuples(LABELS_ANY, st.booleans(), ROLES, KINDS), max_size=15))
def test_any_label_change_sequence_is_applied_without_error(
    steps: list[tuple[str, bool, frozenset[str], RequestKind]],
) -> None:
    state = replace(BASE, severity="high", checklist=Checklist(api_change="no"))
    for name, added, roles, kind in steps:
        out = apply_label_change(
            state,
            name,
            added,
            actor="x",
            actor_roles=roles,
            config=CONFIG,
            today=TODAY,
            now=NOW,
            kind=kind,
        )
        _check_invariants(state, out)
        assert out.revert == (not out.accepted)
        assert out.revert == (out.reply is not None)
        if out.revert:
            assert is_owned_label(name)
        state = out.state


TICKETS = st.builds(
    TicketState,
    number=st.just(1),
    severity=st.none() | st.sampled_from(SEVERITIES),
    affects=st.lists(VERSIONS, max_size=3, unique=True).map(tuple),
    decision=st.none() | st.sampled_from(DECISIONS),
    backport=st.lists(VERSIONS, max_size=3, unique=True).map(tuple),
    security=st.booleans(),
    regression=st.booleans(),
    missing_fields=st.sampled_from([(), ("python_version",)]),
    pauses=st.sampled_from([(), (PauseSpan(EARLIER, None),), (PauseSpan(EARLIER, NOW),)]),
)


@PROPERTY
@given(current=st.lists(LABELS_ANY, max_size=10), state=TICKETS)
def test_label_diff_never_touches_labels_the_bot_does_not_own(
    current: list[str], state: TicketState
) -> None:
    add, remove = label_diff(current, state)
    assert all(is_owned_label(name) for name in (*add, *remove))
    assert set(remove) <= set(current)
    after = (set(current) - set(remove)) | set(add)
    assert {n for n in after if not is_owned_label(n)} == {
        n for n in current if not is_owned_label(n)
    }
    folded = {n.casefold() for n in after}
    assert all(name.casefold() in folded for name in desired_labels(state))
    assert label_diff(after, state) == ((), ())


def _comment(body: str, roles: frozenset[str]) -> triage.CommentOutcome:
    from bot.commands import parse_comment

    return triage.apply_comment(
        TicketState(number=7),
        parse_comment(body),
        actor="tina",
        actor_roles=roles,
        is_author=False,
        config=CONFIG,
        today=TODAY,
        now=NOW,
    )


def test_a_comment_that_only_succeeds_gets_a_reaction_and_no_reply() -> None:
    out = _comment("/severity high\n/regression", frozenset({"triage"}))
    assert (out.reaction, out.reply) == ("+1", None)
    assert out.state.severity == "high"
    assert out.state.regression


def test_a_comment_with_any_refusal_gets_one_reply_and_keeps_what_succeeded() -> None:
    out = _comment("/sevrity high\n/regression\n/affects v9.9", frozenset({"triage"}))
    assert out.reaction is None
    assert out.reply is not None
    assert out.reply.count("@tina") == 1  # the typo's line; the refusal follows
    assert "did you mean /severity" in out.reply
    assert "v9.9" in out.reply
    assert out.state.regression


def test_a_comment_of_other_policies_commands_is_not_triage_business() -> None:
    from bot.commands import parse_comment

    assert not triage.wants_comment(parse_comment("/approve qa\n/hold"))
    assert triage.wants_comment(parse_comment("/sevrity high"))
    assert not triage.wants_comment(parse_comment("see /etc/hosts"))


def test_docs_triage_md_is_generated_from_the_policy() -> None:
    from pathlib import Path

    from bot.policies import triage_doc

    path = Path(__file__).parents[2] / "docs" / "triage.md"
    assert path.read_text() == triage_doc.render(), (
        "docs/triage.md is stale: run `python -m bot.policies.triage_doc > docs/triage.md`"
    )


@pytest.mark.parametrize(
    ("body", "needed"),
    [
        ("/status", frozenset()),
        ("/severity high\n/status", triage.DECIDING_ROLES),
        ("/help", None),
        ("/approve qa", frozenset()),
    ],
)
def test_only_the_roles_a_comment_needs_are_looked_up(
    body: str, needed: frozenset[str] | None
) -> None:
    from bot.commands import parse_comment

    assert triage.roles_needed(parse_comment(body)) == needed
