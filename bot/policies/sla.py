"""SLA clocks: deadlines in wall-clock hours or business days, pauses, and their status.

How time is counted (pure arithmetic: no clock, no I/O; `now` is always passed in):

- Every datetime must be timezone-aware; a naive one is a ValueError. Results are in UTC.
- `Duration(n, "h")` is n *wall-clock* hours, 24/7: a critical issue opened on Friday
  evening does not wait for Monday, so weekends, holidays and the time zone play no part.
- `Duration(n, "bd")` is n *business days* in `sla.timezone`. A business day is a local
  calendar date that is neither a Saturday, a Sunday nor in `sla.holidays`; it runs from
  local 00:00 to the next local 00:00 (23 or 25 real hours on a DST-change day). The
  deadline keeps the start's local wall time and steps n business dates forward:
  Friday 15:00 + 3bd = Wednesday 15:00. A start on a non-business day counts from the
  next business day's 00:00, so Saturday 10:00 + 1bd = Tuesday 00:00 (all of Monday).
  Stepping is done on local dates and only then converted to an instant, so DST changes
  never shift the wall time of a deadline.
- Business time (`business_time_between`) is the real elapsed time that falls inside
  business days. For a business-day start, the business time from start to its `bd`
  deadline is n x 24h unless a DST change falls on a business day in between (never in
  zones that switch on Sundays, such as Europe/Berlin or America/New_York).
- Pauses stop a clock. Overlapping or touching pauses are merged first; only paused time
  while the clock would otherwise be running (after its start, before its budget runs
  out) extends the deadline: all of it for `h`, only its business time for `bd`. A pause
  that starts at or after the deadline changes nothing. A clock in an open pause
  (`end=None`) has no deadline until the pause ends: pass `now` to get the deadline it
  would have if it resumed now.
  When a `bd` budget runs out exactly at the end of a business day, the deadline is the
  start of the next business day (the same business instant, expressed as late as
  possible), which is also what date stepping gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from bot.config import Duration, SlaConfig

__all__ = [
    "ClockName",
    "ClockState",
    "ClockStatus",
    "Pause",
    "Severity",
    "SlaClock",
    "add_duration",
    "business_time_between",
    "format_deadline",
    "format_remaining",
    "is_business_day",
    "plan_clock",
    "release_clock",
    "triage_clock",
]

Severity = Literal["critical", "high", "medium", "low"]
ClockName = Literal["triage", "plan", "release"]
ClockStatus = Literal["running", "at-risk", "breached", "paused", "met", "missed"]

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)


def _aware(value: datetime, what: str) -> datetime:
    """`value` in UTC; a naive datetime is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Pause:
    """A span during which a clock does not run; `end=None` means it is still paused."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = _aware(self.start, "Pause.start")
        if self.end is not None and _aware(self.end, "Pause.end") < start:
            raise ValueError(f"a pause ends ({self.end}) before it starts ({self.start})")

    def active_at(self, now: datetime) -> bool:
        """Whether the clock is paused at `now`."""
        now = _aware(now, "now")
        return self.start <= now and (self.end is None or now < self.end)


# --- the business calendar ---------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    tz: ZoneInfo
    holidays: frozenset[date]

    def is_business(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_business(self, day: date) -> date:
        """The first business day strictly after `day`."""
        day += _DAY
        while not self.is_business(day):
            day += _DAY
        return day

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        """The instant (UTC) at which local date `day` begins."""
        return _localize(day, time(0), self.tz)


@lru_cache(maxsize=64)
def _calendar_for(timezone: str, holidays: tuple[date, ...]) -> _Calendar:
    return _Calendar(ZoneInfo(timezone), frozenset(holidays))


def _calendar(sla: SlaConfig) -> _Calendar:
    return _calendar_for(sla.timezone, sla.holidays)


def _localize(day: date, wall: time, tz: tzinfo) -> datetime:
    # A wall time skipped by a DST change resolves, like zoneinfo's fold=0, to the instant
    # the clocks jumped past it; a repeated one uses the fold carried by `wall`.
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def is_business_day(day: date, sla: SlaConfig) -> bool:
    """Whether local date `day` is a business day (not Saturday, Sunday or a holiday)."""
    return _calendar(sla).is_business(day)


def _business_between(cal: _Calendar, a: datetime, b: datetime) -> timedelta:
    if b < a:
        return -_business_between(cal, b, a)
    total = _ZERO
    day, last = cal.local_date(a), cal.local_date(b)
    while day <= last:
        if cal.is_business(day):
            lo = max(a, cal.day_start(day))
            hi = min(b, cal.day_start(day + _DAY))
            if hi > lo:
                total += hi - lo
        day += _DAY
    return total


def _advance_business(cal: _Calendar, a: datetime, amount: timedelta) -> datetime:
    """The latest instant T with business time `amount` between `a` and T."""
    day = cal.local_date(a)
    while True:
        if cal.is_business(day):
            lo = max(a, cal.day_start(day))
            length = cal.day_start(day + _DAY) - lo
            if amount < length:
                return lo + amount
            amount -= length
        day += _DAY


def business_time_between(a: datetime, b: datetime, sla: SlaConfig) -> timedelta:
    """Real time between `a` and `b` that falls inside business days (negative if b < a)."""
    return _business_between(_calendar(sla), _aware(a, "a"), _aware(b, "b"))


# --- deadlines ---------------------------------------------------------------------------

_Span = tuple[datetime, datetime | None]


def _merge(pauses: Sequence[Pause], now: datetime | None) -> list[_Span]:
    """Pauses in UTC, sorted, overlapping or touching ones merged; open ones end at `now`."""
    spans: list[_Span] = []
    for pause in sorted(pauses, key=lambda p: _aware(p.start, "Pause.start")):
        start = _aware(pause.start, "Pause.start")
        end = _aware(pause.end, "Pause.end") if pause.end is not None else None
        if end is None and now is not None:
            end = max(now, start)
        if spans:
            last_start, last_end = spans[-1]
            if last_end is None:
                break  # an open pause swallows everything after it
            if start <= last_end:
                spans[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        spans.append((start, end))
    return spans


def _unpaused_deadline(start: datetime, duration: Duration, cal: _Calendar) -> datetime:
    if duration.unit == "h":
        return start + timedelta(hours=duration.amount)
    local = start.astimezone(cal.tz)
    day, wall = local.date(), local.timetz().replace(tzinfo=None)
    if not cal.is_business(day):
        day, wall = cal.next_business(day), time(0)
    for _ in range(duration.amount):
        day = cal.next_business(day)
    return _localize(day, wall, cal.tz)


def _deadline(
    start: datetime,
    duration: Duration,
    cal: _Calendar,
    pauses: Sequence[Pause],
    now: datetime | None,
) -> datetime:
    base = _unpaused_deadline(start, duration, cal)
    spans = [(s, e) for s, e in _merge(pauses, now) if e is None or e > start]
    if not any(s < base for s, _ in spans):
        return base

    def measure(a: datetime, b: datetime) -> timedelta:
        return b - a if duration.unit == "h" else _business_between(cal, a, b)

    def advance(a: datetime, amount: timedelta) -> datetime:
        return a + amount if duration.unit == "h" else _advance_business(cal, a, amount)

    # Run the clock from `start`, consuming its budget only between pauses.
    remaining, cursor = measure(start, base), start
    for pause_start, pause_end in spans:
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            running = measure(cursor, pause_start)
            if remaining <= running:
                return advance(cursor, remaining)
            remaining -= running
        if pause_end is None:
            raise ValueError(
                "the clock is paused with no end, so it has no deadline; pass now= to get "
                "the deadline as if it resumed now"
            )
        cursor = pause_end
    return advance(cursor, remaining)


def add_duration(
    start: datetime,
    duration: Duration,
    sla: SlaConfig,
    pauses: Sequence[Pause] = (),
    *,
    now: datetime | None = None,
) -> datetime:
    """The deadline (UTC) of `duration` from `start`, extended by the pauses.

    An open pause ends at `now`; without `now`, one that stops the clock before its
    deadline is a ValueError (the deadline is not known yet).
    """
    at = _aware(now, "now") if now is not None else None
    return _deadline(_aware(start, "start"), duration, _calendar(sla), pauses, at)


def _budget(start: datetime, duration: Duration, cal: _Calendar) -> timedelta:
    """The clock's total time, in its own units (business time for `bd`)."""
    if duration.unit == "h":
        return timedelta(hours=duration.amount)
    return _business_between(cal, start, _unpaused_deadline(start, duration, cal))


# --- clocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockState:
    """How a clock stands at one instant, for the status comment and reminders.

    `remaining` is wall-clock time to the deadline (from `stopped` once the clock has
    stopped), negative when late. `fraction_left` is the share of the budget still
    unspent, counted in the clock's own time (business time for `bd` clocks, so a Friday
    evening does not look safe just because a weekend follows); at most 1, and 0 or less
    at and after the deadline.
    """

    status: ClockStatus
    deadline: datetime
    remaining: timedelta
    fraction_left: float


@dataclass(frozen=True)
class SlaClock:
    """One SLA clock of an issue: when it started, its budget, pauses, and when it stopped."""

    name: ClockName
    started: datetime
    duration: Duration
    pauses: tuple[Pause, ...] = ()
    stopped: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.started, "SlaClock.started")
        if self.stopped is not None:
            _aware(self.stopped, "SlaClock.stopped")

    def budget(self, sla: SlaConfig) -> timedelta:
        """The total time the clock allows, in its own units (business time for `bd`)."""
        return _budget(_aware(self.started, "started"), self.duration, _calendar(sla))

    def is_paused(self, now: datetime) -> bool:
        """Whether a pause is in effect at `now` (a stopped clock is never paused)."""
        return self.stopped is None and any(p.active_at(now) for p in self.pauses)

    def deadline(self, sla: SlaConfig, now: datetime | None = None) -> datetime:
        """The deadline (UTC); open pauses end when the clock stopped, else at `now`."""
        stopped = _aware(self.stopped, "stopped") if self.stopped is not None else None
        at = stopped if stopped is not None else (_aware(now, "now") if now is not None else None)
        start = _aware(self.started, "started")
        return _deadline(start, self.duration, _calendar(sla), self.pauses, at)

    def state(self, now: datetime, sla: SlaConfig, warn_fraction: float = 0.25) -> ClockState:
        """Status at `now`: a paused clock's deadline is the one it has if resumed now."""
        if not 0 <= warn_fraction <= 1:
            raise ValueError(f"warn_fraction must be between 0 and 1, got {warn_fraction}")
        now = _aware(now, "now")
        cal = _calendar(sla)
        start = _aware(self.started, "started")
        budget = _budget(start, self.duration, cal)

        if self.stopped is not None:
            stopped = _aware(self.stopped, "stopped")
            deadline = _deadline(start, self.duration, cal, self.pauses, stopped)
            left = self._clock_time(cal, stopped, deadline)
            status: ClockStatus = "met" if stopped <= deadline else "missed"
            return ClockState(status, deadline, deadline - stopped, _fraction(left, budget))

        paused = any(p.active_at(now) for p in self.pauses)
        # Pauses in effect now end now: the deadline as it stands if work resumed this instant.
        pauses = [Pause(p.start, now) if p.active_at(now) else p for p in self.pauses]
        deadline = _deadline(start, self.duration, cal, pauses, now)
        left = self._clock_time(cal, now, deadline)
        fraction = _fraction(left, budget)
        if now > deadline:
            status = "breached"
        elif paused:
            status = "paused"
        elif fraction <= warn_fraction:
            status = "at-risk"
        else:
            status = "running"
        return ClockState(status, deadline, deadline - now, fraction)

    def _clock_time(self, cal: _Calendar, a: datetime, b: datetime) -> timedelta:
        return b - a if self.duration.unit == "h" else _business_between(cal, a, b)


def _fraction(left: timedelta, budget: timedelta) -> float:
    return min(1.0, left / budget)


def triage_clock(
    created_at: datetime,
    severity: Severity,
    sla: SlaConfig,
    *,
    pauses: tuple[Pause, ...] = (),
    stopped: datetime | None = None,
) -> SlaClock:
    """The triage clock: from the issue's creation, for `sla.triage[severity]`."""
    duration: Duration = getattr(sla.triage, severity)
    return SlaClock("triage", created_at, duration, pauses, stopped)


def plan_clock(
    triaged_at: datetime,
    sla: SlaConfig,
    *,
    pauses: tuple[Pause, ...] = (),
    stopped: datetime | None = None,
) -> SlaClock:
    """The plan clock: from the triage decision, for `sla.plan`."""
    return SlaClock("plan", triaged_at, sla.plan, pauses, stopped)


def release_clock(
    planned_at: datetime,
    severity: Severity,
    sla: SlaConfig,
    *,
    pauses: tuple[Pause, ...] = (),
    stopped: datetime | None = None,
) -> SlaClock:
    """The release clock: from the agreed plan until the fix is merged on every planned line."""
    duration: Duration = getattr(sla.release, severity)
    return SlaClock("release", planned_at, duration, pauses, stopped)


# --- presentation ------------------------------------------------------------------------


def format_remaining(remaining: timedelta) -> str:
    """Say how long is left, or how late: "3h 20m left", "overdue by 1h 5m" (rounded down)."""
    late = remaining < _ZERO
    size = -remaining if late else remaining
    minutes = size // _MINUTE
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {mins}m" if mins else f"{hours}h"
    elif mins:
        text = f"{mins}m"
    else:
        text = "<1m" if size else "0m"
    return f"overdue by {text}" if late else f"{text} left"


def format_deadline(deadline: datetime, tz: tzinfo = UTC) -> str:
    """Show a deadline as "2026-12-01 15:00 UTC", or in `tz` with its abbreviation ("CET")."""
    local = _aware(deadline, "deadline").astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
