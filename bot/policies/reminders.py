"""SLA reminders and escalations: which are due for a ticket, their text, and recording them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.config import SlaConfig
from bot.markdown import code, plural
from bot.policies.sla import (
    ClockName,
    ClockState,
    Pause,
    SlaClock,
    format_deadline,
    format_remaining,
    plan_clock,
    release_clock,
    triage_clock,
)
from bot.ticket import SLA_BREACHED_LABEL, AuditEntry, BackportStatus, TicketState

__all__ = [
    "REMINDER_MARKER",
    "Reminder",
    "ReminderKind",
    "ReminderSnapshot",
    "approval_reminder",
    "clocks_of",
    "due",
    "record",
]

ReminderKind = Literal["remind", "breach"]

# Each reminder is a new comment (it must notify); the key in its marker lets anyone, and
# a rebuild, tell which reminder a comment was.
REMINDER_MARKER = "<!-- lts-bot:reminder {key} -->"

# A line counts as released once its fix is merged there or was found already in it.
_RELEASED: frozenset[BackportStatus] = frozenset({"merged", "already-in"})
_QUIET_DECISIONS = frozenset({"defer", "reject"})

# What GitHub turns into a notification: "@login" or "@org/team-slug".
_MENTION_RE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9][A-Za-z0-9_-]{0,99})?")

_CLOCK_WHAT: dict[ClockName, str] = {
    "triage": "from the request to its triage decision",
    "plan": "from the triage decision to an agreed backport plan",
    "release": "from the agreed plan to the fix merged on every planned line",
}
_TRIAGE_STEP = (
    "triage it: `/severity critical|high|medium|low` if the severity is wrong, "
    "`/affects vX.Y` for each affected line, then `/triage backport|defer|reject <reason>`."
)
_PLAN_STEP = "plan the backport: `/backport vX.Y …` for each line that gets the fix."
_PAUSE_HINT = (
    "If the ticket is rightly waiting on something outside the team (the reporter, an "
    "upstream release, an embargo), say so with `/sla pause <reason>`: the clock stops "
    "until `/sla resume`."
)


# --- the clocks --------------------------------------------------------------------------


def _released_at(state: TicketState, planned_at: datetime) -> datetime | None:
    """When the last planned line got its fix, or None while a line still waits for it."""
    latest = planned_at
    for line in state.backport:
        done = [b for b in state.backports if b.line == line and b.status in _RELEASED]
        if not done:
            return None
        # An entry without a time counts as done when the plan was made: never earlier.
        latest = max([latest, *(b.at or planned_at for b in done)])
    return latest


def clocks_of(state: TicketState, *, created_at: datetime, sla: SlaConfig) -> tuple[SlaClock, ...]:
    """The ticket's SLA clocks that have started, in order: triage, plan, release.

    Triage runs from `created_at` once a severity is set and stops at the decision; plan
    runs from a backport decision and stops when the first line is planned; release runs
    from the plan and stops when every planned line has its fix merged (or already in),
    at the latest of those times. A decision whose time was not recorded starts nothing,
    as in the status comment.
    """
    pauses = tuple(Pause(p.start, p.end) for p in state.pauses)
    clocks: list[SlaClock] = []
    if state.severity is not None and (state.decision is None or state.decided_at is not None):
        stopped = state.decided_at if state.decision is not None else None
        clocks.append(triage_clock(created_at, state.severity, sla, pauses=pauses, stopped=stopped))
    if state.decision == "backport" and state.decided_at is not None:
        clocks.append(plan_clock(state.decided_at, sla, pauses=pauses, stopped=state.planned_at))
        if state.planned_at is not None and state.severity is not None:
            clocks.append(
                release_clock(
                    state.planned_at,
                    state.severity,
                    sla,
                    pauses=pauses,
                    stopped=_released_at(state, state.planned_at),
                )
            )
    return tuple(clocks)


# --- what is due -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderSnapshot:
    """A ticket as the reminder sweep sees it, with who to notify already resolved."""

    state: TicketState
    created_at: datetime
    closed: bool
    # Who is reminded: ("@alice",) or ("@acme/triage",); may be empty.
    owner_mentions: tuple[str, ...]
    # Words when no mention is possible, e.g. "people with triage permission or above".
    owner_fallback: str
    # The escalation role's holders, e.g. ("@acme/leads",); may be empty.
    escalation_mentions: tuple[str, ...]
    escalation_fallback: str


@dataclass(frozen=True)
class Reminder:
    """One comment to post: a clock's deadline is near ("remind") or has passed ("breach")."""

    key: str
    clock: ClockName
    kind: ReminderKind
    deadline: datetime
    body: str
    label: str | None


def due(snapshot: ReminderSnapshot, sla: SlaConfig, now: datetime) -> tuple[Reminder, ...]:
    """The reminders to post now: at most one per clock, none already in `state.reminders`.

    Nothing is due for a closed, deferred or rejected ticket, while the SLA is paused, or
    while the ticket waits on its reporter. A running clock with `sla.remind_at` or less
    of its time left gets a reminder; one past its deadline gets the breach, which
    supersedes the reminder (a breach is posted even if the reminder never was, and a
    reminder is never posted after its clock's breach).
    """
    state = snapshot.state
    if (
        snapshot.closed
        or state.decision in _QUIET_DECISIONS
        or state.paused
        or state.missing_fields
    ):
        return ()
    out: list[Reminder] = []
    for clock in clocks_of(state, created_at=snapshot.created_at, sla=sla):
        if clock.stopped is not None:
            continue
        st = clock.state(now, sla, sla.remind_at)
        breach, remind = f"{clock.name}:breach", f"{clock.name}:remind"
        if breach in state.reminders:
            continue
        if st.status == "breached":
            out.append(_reminder(snapshot, sla, clock, st, "breach"))
        elif st.status == "at-risk" and remind not in state.reminders:
            out.append(_reminder(snapshot, sla, clock, st, "remind"))
    return tuple(out)


def record(
    state: TicketState, reminders: Sequence[Reminder], now: datetime, actor: str
) -> TicketState:
    """`state` with the reminders' keys recorded and audited; recording twice changes nothing.

    Call it before posting: a reminder recorded and not posted is better than one posted
    twice by two sweeps.
    """
    keys = list(state.reminders)
    audit = list(state.audit)
    for reminder in reminders:
        if reminder.key in keys:
            continue
        keys.append(reminder.key)
        action = "deadline breached" if reminder.kind == "breach" else "reminder sent"
        audit.append(AuditEntry(now, actor, action, _audit_detail(reminder, now)))
    if len(keys) == len(state.reminders):
        return state
    return replace(state, reminders=tuple(keys), audit=tuple(audit))


def _audit_detail(reminder: Reminder, now: datetime) -> str:
    left = reminder.deadline - now
    if left < timedelta(0):
        return f"{reminder.clock}: {_span(-left)} late"
    return f"{reminder.clock}: {_span(left)} left"


def _span(size: timedelta) -> str:
    """A non-negative span as format_remaining writes it, without "left": "5h 20m"."""
    return format_remaining(size).removesuffix(" left")


# --- the texts ---------------------------------------------------------------------------


def _mention(who: str) -> str:
    # Mentions come from the config and are well-formed; anything else is shown inert
    # rather than risking a stray ping or Markdown from a broken value.
    return who if _MENTION_RE.fullmatch(who) else code(who)


def _addressee(mentions: tuple[str, ...], fallback: str) -> str:
    """The mentions, each once and never a bot account; the fallback words if none is left."""
    seen: set[str] = set()
    people: list[str] = []
    for who in mentions:
        folded = who.casefold()
        if folded in seen or folded.endswith("[bot]"):
            continue
        seen.add(folded)
        people.append(_mention(who))
    return " ".join(people) if people else fallback


def _pending_lines(state: TicketState) -> list[str]:
    return [
        line
        for line in state.backport
        if not any(b.line == line and b.status in _RELEASED for b in state.backports)
    ]


def _next_step(clock: ClockName, state: TicketState) -> str:
    if clock == "triage":
        return _TRIAGE_STEP
    if clock == "plan":
        return _PLAN_STEP
    lines = ", ".join(f"v{line}" for line in _pending_lines(state))
    return (
        f"get the backport PRs merged on: {lines}. `/backport vX.Y` retries a line whose "
        "automatic backport failed; one that conflicted needs a backport PR made by hand."
    )


def _clock_rule(clock: SlaClock, state: TicketState) -> str:
    """What the clock measures: "The triage clock allows 24 hours for severity high, ..."."""
    amount = clock.duration.amount
    budget = (
        plural(amount, "hour") if clock.duration.unit == "h" else plural(amount, "business day")
    )
    severity = f" for severity {state.severity}" if clock.name != "plan" and state.severity else ""
    return f"The {clock.name} clock allows {budget}{severity}, {_CLOCK_WHAT[clock.name]}."


def _reminder(
    snapshot: ReminderSnapshot,
    sla: SlaConfig,
    clock: SlaClock,
    st: ClockState,
    kind: ReminderKind,
) -> Reminder:
    state = snapshot.state
    key = f"{clock.name}:{kind}"
    when = format_deadline(st.deadline, sla.tz)
    step = _next_step(clock.name, state)
    lines = [REMINDER_MARKER.format(key=key)]
    if kind == "remind":
        to = _addressee(snapshot.owner_mentions, snapshot.owner_fallback)
        lines += [
            f"{to}: the **{clock.name}** deadline of #{state.number} is near: "
            f"**{format_remaining(st.remaining)}** (due {when}).",
            _clock_rule(clock, state),
            "",
            f"**Next step:** {step}",
        ]
    else:
        to = _addressee(snapshot.owner_mentions, snapshot.owner_fallback)
        escalated = _addressee(snapshot.escalation_mentions, snapshot.escalation_fallback)
        lines += [
            f"{to}: the **{clock.name}** deadline of #{state.number} passed at {when}; "
            f"it is **{_span(-st.remaining)} late**.",
            _clock_rule(clock, state),
            "",
            f"- #{state.number} is now labelled `{SLA_BREACHED_LABEL}`.",
            f"- It is escalated to the `{sla.escalate_to}` role: {escalated}.",
            "",
            f"**Next step:** {step}",
        ]
    lines += ["", _PAUSE_HINT]
    body = "\n".join(lines) + "\n"
    label = SLA_BREACHED_LABEL if kind == "breach" else None
    return Reminder(key, clock.name, kind, st.deadline, body, label)


# --- pull requests -----------------------------------------------------------------------


def _human(size: timedelta) -> str:
    """A duration in words, to the two largest units: "1 day 3 hours", "45 minutes"."""
    minutes = max(size, timedelta(0)) // timedelta(minutes=1)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return plural(days, "day") + (f" {plural(hours, 'hour')}" if hours else "")
    if hours:
        return plural(hours, "hour") + (f" {plural(mins, 'minute')}" if mins else "")
    return plural(mins, "minute") if mins else "less than a minute"


def approval_reminder(
    *, number: int, missing: Sequence[tuple[str, str]], waited: timedelta, marker: str
) -> str:
    """The comment on a green LTS pull request still waiting for sign-offs.

    `missing` holds (role name, who can give it), such as ("qa", "@acme/qa") or
    ("reviewer", "people with write permission or above").
    """
    lines = [
        marker,
        f"All other checks of #{number} are green; it has waited **{_human(waited)}** "
        "for sign-offs. Still missing:",
        "",
    ]
    for role, who in missing:
        how = (
            "an approving review"
            if role == "reviewer"
            else f"`/approve {role}` (or an approving review that says it)"
        )
        lines.append(f"- **{role}**: {how}, from {who}")
    lines += [
        "",
        "Sign-offs hold while the patch stays the same; a push that changes it needs them "
        "again. The author and commit authors cannot sign off, and one person fills one role.",
    ]
    return "\n".join(lines) + "\n"
