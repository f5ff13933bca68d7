"""SLA reminders: which are due when, their texts, recording them, and approval reminders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Duration, SlaConfig
from bot.policies.reminders import (
    Reminder,
    ReminderSnapshot,
    approval_reminder,
    clocks_of,
    due,
    record,
)
from bot.policies.sla import Pause
from bot.ticket import (
    SLA_BREACHED_LABEL,
    AuditEntry,
    BackportEntry,
    BackportStatus,
    PauseSpan,
    Severity,
    TicketState,
)

UTC_SLA = SlaConfig()
# 2026-11-30 is a Monday; in Berlin that week is CET (UTC+1).
BERLIN_SLA = SlaConfig(timezone="Europe/Berlin", holidays=(date(2026, 11, 30),))
BOT = "lts-bot[bot]"


def utc(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    """An instant in 2026 (UTC); November 23rd is a Monday, the 27th a Friday."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


CREATED = utc(23, 9)


def snap(
    state: TicketState,
    *,
    created_at: datetime = CREATED,
    closed: bool = False,
    owners: tuple[str, ...] = ("@alice",),
    escalation: tuple[str, ...] = ("@acme/leads",),
) -> ReminderSnapshot:
    return ReminderSnapshot(
        state=state,
        created_at=created_at,
        closed=closed,
        owner_mentions=owners,
        owner_fallback="people with triage permission or above",
        escalation_mentions=escalation,
        escalation_fallback="people with maintain permission or above",
    )


def keys(reminders: tuple[Reminder, ...]) -> list[str]:
    return [r.key for r in reminders]


# Tickets at each stage: the triage clock runs; the plan clock runs; the release clock runs.
TRIAGING = TicketState(number=42, severity="high")
PLANNING = replace(TRIAGING, decision="backport", decided_at=utc(24, 10))
RELEASING = replace(PLANNING, planned_at=utc(25, 12), backport=("1.4", "1.3"))


# --- each clock: remind, then breach -----------------------------------------------------


@dataclass(frozen=True)
class ClockCase:
    id: str
    state: TicketState
    # The last minute with nothing due, the first with the reminder due, the deadline.
    quiet: datetime
    remind: datetime
    deadline: datetime
    sla: SlaConfig = UTC_SLA
    created_at: datetime = CREATED


CLOCK_CASES = [
    # 24h from Monday 09:00; a quarter left (6h) at Tuesday 03:00.
    ClockCase("triage", TRIAGING, utc(24, 2, 59), utc(24, 3), utc(24, 9)),
    # 3bd from Tuesday 10:00 is Friday 10:00; 18 business hours left at Thursday 16:00.
    ClockCase("plan", PLANNING, utc(26, 15, 59), utc(26, 16), utc(27, 10)),
    # 5bd from Wednesday 12:00 skips the weekend: Wednesday Dec 2 12:00; 30h left on Tuesday
    # 06:00.
    ClockCase("release", RELEASING, utc(1, 5, 59, 12), utc(1, 6, month=12), utc(2, 12, month=12)),
    # Hours are wall-clock hours: a critical request on Saturday 10:00 is due at 14:00, and
    # the reminder comes at 13:00, weekend or not.
    ClockCase(
        "triage",
        TicketState(number=42, severity="critical"),
        utc(28, 12, 59),
        utc(28, 13),
        utc(28, 14),
        created_at=utc(28, 10),
    ),
    # Medium is 3bd in Berlin from Friday 15:00 CET: the weekend and Monday's holiday do
    # not count, so it is due Thursday 15:00 CET; 18 business hours are left on Wednesday
    # 21:00 CET (20:00 UTC).
    ClockCase(
        "triage",
        TicketState(number=42, severity="medium"),
        utc(2, 19, 59, 12),
        utc(2, 20, month=12),
        utc(3, 14, month=12),
        sla=BERLIN_SLA,
        created_at=utc(27, 14),
    ),
    # The same without the holiday: due Wednesday, reminded Tuesday 21:00 CET.
    ClockCase(
        "triage",
        TicketState(number=42, severity="medium"),
        utc(1, 19, 59, 12),
        utc(1, 20, month=12),
        utc(2, 14, month=12),
        sla=SlaConfig(timezone="Europe/Berlin"),
        created_at=utc(27, 14),
    ),
    # A closed pause of two business hours moves the plan clock's reminder by as much.
    ClockCase(
        "plan",
        replace(PLANNING, pauses=(PauseSpan(utc(25, 9), utc(25, 11), "upstream"),)),
        utc(26, 17, 59),
        utc(26, 18),
        utc(27, 12),
    ),
]


@pytest.mark.parametrize("case", CLOCK_CASES, ids=lambda c: c.id)
def test_a_clock_reminds_once_near_its_deadline_then_breaches_once(case: ClockCase) -> None:
    def at(now: datetime, state: TicketState) -> tuple[Reminder, ...]:
        return due(snap(state, created_at=case.created_at), case.sla, now)

    state = case.state
    assert at(case.quiet, state) == ()
    reminders = at(case.remind, state)
    assert keys(reminders) == [f"{case.id}:remind"]
    assert reminders[0].deadline == case.deadline
    assert reminders[0].label is None
    state = record(state, reminders, case.remind, BOT)

    assert at(case.remind + timedelta(minutes=1), state) == ()
    # At the deadline itself the clock is at risk, not late.
    assert at(case.deadline, state) == ()
    late = case.deadline + timedelta(minutes=1)
    breaches = at(late, state)
    assert keys(breaches) == [f"{case.id}:breach"]
    assert breaches[0].label == SLA_BREACHED_LABEL
    assert breaches[0].deadline == case.deadline
    state = record(state, breaches, late, BOT)

    assert at(late + timedelta(days=60), state) == ()
    assert state.reminders == (f"{case.id}:remind", f"{case.id}:breach")


def test_the_business_day_reminder_names_the_deadline_in_the_configured_time_zone() -> None:
    """Friday 15:00 CET + 3bd over a weekend and a holiday is Thursday 15:00 CET."""
    state = TicketState(number=42, severity="medium")
    (reminder,) = due(snap(state, created_at=utc(27, 14)), BERLIN_SLA, utc(2, 20, month=12))
    assert "2026-12-03 15:00 CET" in reminder.body
    assert "**18h left**" in reminder.body
    assert "3 business days for severity medium" in reminder.body


def test_a_breach_without_a_prior_reminder_supersedes_it() -> None:
    """A sweep that first looks after the deadline posts only the breach."""
    reminders = due(snap(TRIAGING), UTC_SLA, utc(25))
    assert keys(reminders) == ["triage:breach"]
    state = record(TRIAGING, reminders, utc(25), BOT)
    assert due(snap(state), UTC_SLA, utc(25, 1)) == ()


def test_no_reminder_follows_a_breach_even_if_the_deadline_moves_later() -> None:
    """Lowering the severity after a breach gives a later deadline, but no reminder."""
    state = record(TRIAGING, due(snap(TRIAGING), UTC_SLA, utc(25)), utc(25), BOT)
    lowered = replace(state, severity="low")  # 3bd from Monday 09:00: Thursday 09:00
    assert due(snap(lowered), UTC_SLA, utc(26, 3)) == ()


def test_each_running_clock_is_looked_at_independently() -> None:
    """Only clocks still running count: triage stopped at the decision gets nothing."""
    decided_late = replace(PLANNING, decided_at=utc(25))  # after the triage deadline
    assert keys(due(snap(decided_late), UTC_SLA, utc(25, 1))) == []
    assert keys(due(snap(decided_late), UTC_SLA, utc(27, 18))) == ["plan:remind"]


# --- when nothing is due -----------------------------------------------------------------

QUIET = [
    pytest.param(snap(TRIAGING, closed=True), id="closed"),
    pytest.param(snap(replace(TRIAGING, decision="defer", decided_at=utc(23, 10))), id="defer"),
    pytest.param(snap(replace(TRIAGING, decision="reject", decided_at=utc(23, 10))), id="reject"),
    pytest.param(
        snap(replace(RELEASING, pauses=(PauseSpan(utc(26), None, "embargo"),))), id="paused"
    ),
    pytest.param(snap(replace(TRIAGING, missing_fields=("logs",))), id="needs-info"),
    pytest.param(snap(TicketState(number=42)), id="no-severity"),
    pytest.param(
        snap(replace(TRIAGING, decision="backport", decided_at=None)), id="decided-untimed"
    ),
]


@pytest.mark.parametrize("snapshot", QUIET)
@pytest.mark.parametrize("now", [utc(24, 4), utc(25), utc(20, month=12)])
def test_nothing_is_due_for_a_ticket_that_is_not_waiting_on_the_team(
    snapshot: ReminderSnapshot, now: datetime
) -> None:
    assert due(snapshot, UTC_SLA, now) == ()


# --- the clocks --------------------------------------------------------------------------


def merged(line: str, at: datetime | None, status: BackportStatus = "merged") -> BackportEntry:
    return BackportEntry(line=line, source=7, status=status, pr=100, at=at)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(TicketState(number=42), [], id="no-severity"),
        pytest.param(TRIAGING, [("triage", CREATED, None)], id="triaging"),
        pytest.param(
            replace(TRIAGING, decision="defer", decided_at=utc(24)),
            [("triage", CREATED, utc(24))],
            id="deferred",
        ),
        pytest.param(
            PLANNING,
            [("triage", CREATED, utc(24, 10)), ("plan", utc(24, 10), None)],
            id="planning",
        ),
        pytest.param(
            RELEASING,
            [
                ("triage", CREATED, utc(24, 10)),
                ("plan", utc(24, 10), utc(25, 12)),
                ("release", utc(25, 12), None),
            ],
            id="releasing",
        ),
        pytest.param(
            replace(RELEASING, severity=None),
            [("plan", utc(24, 10), utc(25, 12))],
            id="releasing-without-severity",
        ),
        pytest.param(
            replace(RELEASING, backports=(merged("1.4", utc(27)),)),
            [
                ("triage", CREATED, utc(24, 10)),
                ("plan", utc(24, 10), utc(25, 12)),
                ("release", utc(25, 12), None),
            ],
            id="one-line-of-two-merged",
        ),
        pytest.param(
            replace(
                RELEASING,
                backports=(
                    merged("1.3", utc(26), "conflict"),
                    merged("1.4", utc(30)),
                    merged("1.3", utc(27), "already-in"),
                ),
            ),
            [
                ("triage", CREATED, utc(24, 10)),
                ("plan", utc(24, 10), utc(25, 12)),
                ("release", utc(25, 12), utc(30)),
            ],
            id="every-line-merged-or-already-in",
        ),
        pytest.param(
            replace(RELEASING, backports=(merged("1.4", None), merged("1.3", None))),
            [
                ("triage", CREATED, utc(24, 10)),
                ("plan", utc(24, 10), utc(25, 12)),
                ("release", utc(25, 12), utc(25, 12)),
            ],
            id="merged-at-unknown-times",
        ),
    ],
)
def test_clocks_start_and_stop_with_the_ticket(
    state: TicketState, expected: list[tuple[str, datetime, datetime | None]]
) -> None:
    clocks = clocks_of(state, created_at=CREATED, sla=UTC_SLA)
    assert [(c.name, c.started, c.stopped) for c in clocks] == expected


def test_clocks_carry_the_ticket_pauses() -> None:
    pauses = (PauseSpan(utc(24), utc(24, 2), "reporter"), PauseSpan(utc(26), None))
    (clock,) = clocks_of(replace(TRIAGING, pauses=pauses), created_at=CREATED, sla=UTC_SLA)
    assert clock.pauses == (Pause(utc(24), utc(24, 2)), Pause(utc(26), None))
    assert clock.duration == Duration(24, "h")


def test_the_release_clock_stops_when_every_planned_line_has_the_fix() -> None:
    late = utc(10, month=12)
    pending = replace(RELEASING, backports=(merged("1.4", utc(27)),))
    assert keys(due(snap(pending), UTC_SLA, late)) == ["release:breach"]
    (reminder,) = due(snap(pending), UTC_SLA, late)
    assert "get the backport PRs merged on: v1.3." in reminder.body
    done = replace(pending, backports=(*pending.backports, merged("1.3", utc(30))))
    assert due(snap(done), UTC_SLA, late) == ()


# --- the texts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "now", "step"),
    [
        (TRIAGING, utc(24, 3), "`/triage backport|defer|reject <reason>`"),
        (PLANNING, utc(26, 16), "plan the backport: `/backport vX.Y …`"),
        (RELEASING, utc(1, 6, month=12), "get the backport PRs merged on: v1.4, v1.3."),
    ],
)
def test_a_reminder_says_which_clock_when_how_long_and_what_to_do(
    state: TicketState, now: datetime, step: str
) -> None:
    (reminder,) = due(snap(state), UTC_SLA, now)
    body = reminder.body
    assert body.startswith(f"<!-- lts-bot:reminder {reminder.clock}:remind -->\n")
    assert body.splitlines()[1].startswith(f"@alice: the **{reminder.clock}** deadline of #42")
    assert "(due 2026-" in body
    assert " left**" in body
    assert step in body
    assert "@acme/leads" not in body
    assert "@lts-bot" not in body


def test_a_breach_mentions_owners_and_escalation_and_says_what_happened() -> None:
    (breach,) = due(snap(TRIAGING), UTC_SLA, utc(24, 11, 30))
    body = breach.body
    assert body.startswith("<!-- lts-bot:reminder triage:breach -->\n")
    assert "@alice: the **triage** deadline of #42 passed at 2026-11-24 09:00 UTC" in body
    assert "**2h 30m late**" in body
    assert "labelled `sla/breached`" in body
    assert "escalated to the `eng-lead` role: @acme/leads." in body
    assert "`/sla pause <reason>`" in body
    assert "`/triage backport|defer|reject <reason>`" in body


def test_the_escalation_role_is_named_as_configured() -> None:
    sla = SlaConfig(escalate_to="release-manager")
    (breach,) = due(snap(TRIAGING), sla, utc(25))
    assert "escalated to the `release-manager` role" in breach.body


def test_without_mentions_the_fallback_words_are_used_and_nobody_is_pinged() -> None:
    snapshot = snap(TRIAGING, owners=(), escalation=())
    (breach,) = due(snapshot, UTC_SLA, utc(25))
    assert "@" not in breach.body
    assert breach.body.splitlines()[1].startswith("people with triage permission or above: ")
    assert "role: people with maintain permission or above." in breach.body


def test_a_bot_account_is_never_mentioned_and_nobody_twice() -> None:
    snapshot = snap(TRIAGING, owners=("@lts-bot[bot]", "@alice", "@Alice", "@bob"))
    (reminder,) = due(snapshot, UTC_SLA, utc(24, 3))
    assert reminder.body.splitlines()[1].startswith("@alice @bob: ")
    assert "[bot]" not in reminder.body
    only_bot = snap(TRIAGING, owners=("@lts-bot[bot]",))
    (reminder,) = due(only_bot, UTC_SLA, utc(24, 3))
    assert reminder.body.splitlines()[1].startswith("people with triage permission or above: ")


def test_a_malformed_mention_is_shown_inert() -> None:
    (reminder,) = due(snap(TRIAGING, owners=("@alice <b>",)), UTC_SLA, utc(24, 3))
    assert reminder.body.splitlines()[1].startswith("`@alice <b>`: ")


# --- recording ---------------------------------------------------------------------------


def test_record_adds_keys_and_audit_entries() -> None:
    reminders = due(snap(RELEASING), UTC_SLA, utc(28))  # plan stopped; release on Saturday
    assert reminders == ()
    reminders = due(snap(PLANNING), UTC_SLA, utc(27, 12))
    state = record(PLANNING, reminders, utc(27, 12), BOT)
    assert state.reminders == ("plan:breach",)
    assert state.audit == (AuditEntry(utc(27, 12), BOT, "deadline breached", "plan: 2h late"),)

    reminders = due(snap(TRIAGING), UTC_SLA, utc(24, 4))
    state = record(TRIAGING, reminders, utc(24, 4), BOT)
    assert state.audit == (AuditEntry(utc(24, 4), BOT, "reminder sent", "triage: 5h left"),)


def test_record_is_idempotent_and_keeps_order() -> None:
    first = due(snap(TRIAGING), UTC_SLA, utc(24, 3))
    second = due(snap(PLANNING), UTC_SLA, utc(28))
    state = replace(TRIAGING, reminders=("release:remind",))
    once = record(state, [*first, *second, *first], utc(28), BOT)
    assert once.reminders == ("release:remind", "triage:remind", "plan:breach")
    assert len(once.audit) == 2
    assert record(once, [*first, *second], utc(29), BOT) == once
    assert record(once, [], utc(29), BOT) == once


# --- approval reminders ------------------------------------------------------------------


def test_an_approval_reminder_lists_each_missing_sign_off_and_how_to_give_it() -> None:
    body = approval_reminder(
        number=7,
        missing=[("reviewer", "people with write permission or above"), ("qa", "@acme/qa")],
        waited=timedelta(days=1, hours=3, minutes=5),
        marker="<!-- lts-bot:approvals-reminder -->",
    )
    assert body.startswith("<!-- lts-bot:approvals-reminder -->\n")
    assert "#7 are green" in body
    assert "**1 day 3 hours**" in body
    assert "- **reviewer**: an approving review, from people with write permission or above" in (
        body
    )
    assert "- **qa**: `/approve qa`" in body
    assert "from @acme/qa" in body


@pytest.mark.parametrize(
    ("waited", "words"),
    [
        (timedelta(days=2), "2 days"),
        (timedelta(hours=5, minutes=1), "5 hours 1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(seconds=5), "less than a minute"),
    ],
)
def test_the_approval_wait_is_said_in_words(waited: timedelta, words: str) -> None:
    body = approval_reminder(
        number=7, missing=[("qa", "@acme/qa")], waited=waited, marker="<!-- m -->"
    )
    assert f"**{words}**" in body


# --- the sweep, run any number of times --------------------------------------------------

SEVERITY_LEVELS: tuple[Severity, ...] = ("critical", "high", "medium", "low")

LINES = ("1.4", "1.3")

# Steps as (what, argument): minutes to wait, or an index into SEVERITY_LEVELS or LINES.
_step = st.one_of(
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=3 * 24 * 60)),
    st.tuples(st.just("severity"), st.integers(min_value=0, max_value=3)),
    st.tuples(st.sampled_from(["decide", "plan", "pause", "resume"]), st.just(0)),
    st.tuples(st.just("merge"), st.integers(min_value=0, max_value=1)),
)


def _apply(state: TicketState, step: tuple[str, int], now: datetime) -> TicketState:
    kind, arg = step
    if kind == "severity":
        return replace(state, severity=SEVERITY_LEVELS[arg])
    if kind == "decide" and state.decision is None:
        return replace(state, decision="backport", decided_at=now)
    if kind == "plan" and state.decision == "backport" and state.planned_at is None:
        return replace(state, planned_at=now, backport=LINES)
    if kind == "merge" and state.planned_at is not None:
        return replace(state, backports=(*state.backports, merged(LINES[arg], now)))
    if kind == "pause" and not state.paused:
        return replace(state, pauses=(*state.pauses, PauseSpan(now, None)))
    if kind == "resume" and state.paused:
        last = state.pauses[-1]
        return replace(state, pauses=(*state.pauses[:-1], replace(last, end=now)))
    return state


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(_step, max_size=40),
    severity=st.sampled_from(SEVERITY_LEVELS),
    sla=st.sampled_from([UTC_SLA, BERLIN_SLA]),
)
def test_a_reminder_is_posted_at_most_once_and_never_after_its_breach(
    steps: list[tuple[str, int]], severity: Severity, sla: SlaConfig
) -> None:
    state = TicketState(number=42, severity=severity)
    now = CREATED
    posted: list[str] = []
    for step in steps:
        if step[0] == "wait":
            now += timedelta(minutes=step[1])
        state = _apply(state, step, now)
        reminders = due(snap(state), sla, now)
        assert len({r.clock for r in reminders}) == len(reminders)
        posted += [r.key for r in reminders]
        state = record(state, reminders, now, BOT)
    assert len(posted) == len(set(posted))
    assert state.reminders == tuple(posted)
    for clock in ("triage", "plan", "release"):
        if f"{clock}:breach" in posted and f"{clock}:remind" in posted:
            assert posted.index(f"{clock}:remind") < posted.index(f"{clock}:breach")
