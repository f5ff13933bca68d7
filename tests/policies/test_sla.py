"""SLA arithmetic: hours and business days, time zones, pauses, clock states, formatting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Duration, SlaConfig
from bot.policies.sla import (
    ClockState,
    Pause,
    Severity,
    SlaClock,
    add_duration,
    business_time_between,
    format_deadline,
    format_remaining,
    is_business_day,
    plan_clock,
    triage_clock,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_SLA = SlaConfig()


def utc(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    """An instant in November 2026 (UTC): the 23rd is a Monday, the 27th a Friday."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def h(amount: int) -> Duration:
    return Duration(amount, "h")


def bd(amount: int) -> Duration:
    return Duration(amount, "bd")


def sla(timezone: str = "UTC", holidays: tuple[date, ...] = ()) -> SlaConfig:
    return SlaConfig(timezone=timezone, holidays=holidays)


# --- add_duration: examples --------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineCase:
    start: datetime
    duration: Duration
    expected: datetime
    config: SlaConfig = UTC_SLA
    pauses: tuple[Pause, ...] = ()
    now: datetime | None = None


DEADLINES = {
    "Friday 15:00 + 3bd is Wednesday 15:00": DeadlineCase(utc(27, 15), bd(3), utc(2, 15, month=12)),
    "Monday 09:00 + 1bd is Tuesday 09:00": DeadlineCase(utc(23, 9), bd(1), utc(24, 9)),
    "Monday 09:00 + 5bd is the next Monday 09:00": DeadlineCase(utc(23, 9), bd(5), utc(30, 9)),
    "a Saturday start counts from Monday 00:00": DeadlineCase(utc(28, 10), bd(1), utc(1, month=12)),
    "a Sunday start counts from Monday 00:00": DeadlineCase(utc(29, 23), bd(3), utc(3, month=12)),
    "a holiday Monday is skipped": DeadlineCase(
        utc(27, 15), bd(1), utc(1, 15, month=12), sla(holidays=(date(2026, 11, 30),))
    ),
    "a start on a holiday counts from the next business day": DeadlineCase(
        utc(30, 9), bd(1), utc(2, month=12), sla(holidays=(date(2026, 11, 30),))
    ),
    "4h over a weekend is 4 wall-clock hours": DeadlineCase(utc(27, 22), h(4), utc(28, 2)),
    "24h from Saturday ends on Sunday": DeadlineCase(utc(28, 10), h(24), utc(29, 10)),
    "hours ignore holidays": DeadlineCase(
        utc(29, 20), h(8), utc(30, 4), sla(holidays=(date(2026, 11, 30),))
    ),
    # Berlin leaves summer time on Sunday 2026-10-25: the deadline keeps its wall time.
    "Berlin: Friday 15:00 CEST + 3bd is Wednesday 15:00 CET": DeadlineCase(
        datetime(2026, 10, 23, 15, tzinfo=BERLIN),
        bd(3),
        datetime(2026, 10, 28, 14, tzinfo=UTC),
        sla("Europe/Berlin"),
    ),
    "Berlin: 4h across the DST change are 4 real hours": DeadlineCase(
        datetime(2026, 10, 25, 0, 30, tzinfo=BERLIN),  # 22:30 UTC the day before
        h(4),
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC),  # 03:30 CET on the wall
        sla("Europe/Berlin"),
    ),
    "Berlin: Friday 23:30 local is still Friday": DeadlineCase(
        datetime(2026, 11, 27, 22, 30, tzinfo=UTC),
        bd(1),
        datetime(2026, 11, 30, 22, 30, tzinfo=UTC),
        sla("Europe/Berlin"),
    ),
    "Berlin: Saturday 00:30 local counts from Monday 00:00 local": DeadlineCase(
        datetime(2026, 11, 27, 23, 30, tzinfo=UTC),
        bd(1),
        datetime(2026, 11, 30, 23, tzinfo=UTC),  # Tuesday 00:00 CET
        sla("Europe/Berlin"),
    ),
    # New York leaves daylight time on Sunday 2026-11-01.
    "New York: Friday 17:00 EDT + 1bd is Monday 17:00 EST": DeadlineCase(
        datetime(2026, 10, 30, 17, tzinfo=NEW_YORK),
        bd(1),
        datetime(2026, 11, 2, 22, tzinfo=UTC),
        sla("America/New_York"),
    ),
    "New York: Saturday 02:00 UTC is a Friday evening business day": DeadlineCase(
        utc(28, 2), bd(1), datetime(2026, 12, 1, 2, tzinfo=UTC), sla("America/New_York")
    ),
    "New York: spring forward keeps the wall time": DeadlineCase(
        datetime(2026, 3, 6, 9, tzinfo=NEW_YORK),  # Friday 09:00 EST
        bd(1),
        datetime(2026, 3, 9, 13, tzinfo=UTC),  # Monday 09:00 EDT
        sla("America/New_York"),
    ),
    # Pauses
    "a pause on a business day extends a bd deadline by its length": DeadlineCase(
        utc(23, 9), bd(3), utc(26, 15), pauses=(Pause(utc(24, 9), utc(24, 15)),)
    ),
    "a pause over a weekend does not extend a bd deadline": DeadlineCase(
        utc(27, 15), bd(1), utc(30, 15), pauses=(Pause(utc(28), utc(30)),)
    ),
    "only the business part of a pause counts for bd": DeadlineCase(
        utc(27, 15), bd(1), utc(30, 21), pauses=(Pause(utc(27, 19), utc(30, 1)),)
    ),
    "a pause over a weekend extends an h deadline": DeadlineCase(
        utc(27, 20), h(24), utc(29, 20), pauses=(Pause(utc(28), utc(29)),)
    ),
    "overlapping pauses are merged, not counted twice": DeadlineCase(
        utc(23, 10),
        h(4),
        utc(23, 17),
        pauses=(Pause(utc(23, 12), utc(23, 14)), Pause(utc(23, 11), utc(23, 13))),
    ),
    "only the part of a pause after the start counts": DeadlineCase(
        utc(23, 10), h(4), utc(23, 14, 30), pauses=(Pause(utc(23, 8), utc(23, 10, 30)),)
    ),
    "a pause after the deadline changes nothing": DeadlineCase(
        utc(23, 10), h(4), utc(23, 14), pauses=(Pause(utc(23, 15), utc(23, 18)),)
    ),
    "a pause starting at the deadline changes nothing": DeadlineCase(
        utc(23, 10), h(4), utc(23, 14), pauses=(Pause(utc(23, 14), None),)
    ),
    "a later pause counts when an earlier one pushed the deadline past it": DeadlineCase(
        utc(23, 10),
        h(4),
        utc(23, 17),
        pauses=(Pause(utc(23, 11), utc(23, 13)), Pause(utc(23, 15), utc(23, 16))),
    ),
    "an open pause ends now": DeadlineCase(
        utc(23, 10), h(4), utc(23, 16), pauses=(Pause(utc(23, 11)),), now=utc(23, 13)
    ),
    "an open pause on a bd clock ends now": DeadlineCase(
        utc(23, 9), bd(1), utc(25, 9), pauses=(Pause(utc(23, 12)),), now=utc(24, 12)
    ),
}


@pytest.mark.parametrize("case", DEADLINES.values(), ids=DEADLINES.keys())
def test_add_duration_examples(case: DeadlineCase) -> None:
    deadline = add_duration(case.start, case.duration, case.config, case.pauses, now=case.now)
    assert deadline == case.expected
    assert deadline.tzinfo is UTC


def test_an_open_pause_without_now_has_no_deadline() -> None:
    with pytest.raises(ValueError, match="paused with no end"):
        add_duration(utc(23, 10), h(4), UTC_SLA, [Pause(utc(23, 11))])


def test_an_open_pause_after_the_deadline_needs_no_now() -> None:
    assert add_duration(utc(23, 10), h(4), UTC_SLA, [Pause(utc(23, 15))]) == utc(23, 14)


def test_an_open_pause_merges_with_the_pauses_it_overlaps() -> None:
    pauses = [Pause(utc(23, 11)), Pause(utc(23, 12), utc(23, 20))]
    # Runs 10:00-11:00, paused 11:00-20:00, runs the other 3h until 23:00.
    assert add_duration(utc(23, 10), h(4), UTC_SLA, pauses, now=utc(23, 13)) == utc(23, 23)


NAIVE = datetime(2026, 11, 23, 10)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_duration(NAIVE, h(4), UTC_SLA),
        lambda: add_duration(utc(23), h(4), UTC_SLA, now=NAIVE),
        lambda: business_time_between(NAIVE, utc(23), UTC_SLA),
        lambda: business_time_between(utc(23), NAIVE, UTC_SLA),
        lambda: Pause(NAIVE),
        lambda: Pause(utc(23), NAIVE),
        lambda: SlaClock("triage", NAIVE, h(4)),
        lambda: SlaClock("triage", utc(23), h(4), stopped=NAIVE),
        lambda: triage_clock(utc(23), "high", UTC_SLA).state(NAIVE, UTC_SLA),
        lambda: format_deadline(NAIVE),
    ],
    ids=[
        "start",
        "now",
        "between a",
        "between b",
        "pause start",
        "pause end",
        "clock start",
        "clock stop",
        "state now",
        "format",
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_a_pause_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(utc(23, 12), utc(23, 11))


# --- business time -----------------------------------------------------------------------

BETWEEN = {
    "Friday 15:00 to Monday 15:00": (utc(27, 15), utc(30, 15), UTC_SLA, timedelta(hours=24)),
    "inside one business day": (utc(23, 9), utc(23, 17), UTC_SLA, timedelta(hours=8)),
    "inside a weekend": (utc(28, 1), utc(29, 23), UTC_SLA, timedelta(0)),
    "a whole week": (utc(23), utc(30), UTC_SLA, timedelta(days=5)),
    "backwards is negative": (utc(23, 17), utc(23, 9), UTC_SLA, -timedelta(hours=8)),
    "a holiday is skipped": (
        utc(27, 15),
        utc(1, 15, month=12),
        sla(holidays=(date(2026, 11, 30),)),
        timedelta(hours=24),
    ),
    "Berlin: the DST weekend counts nothing": (
        datetime(2026, 10, 24, tzinfo=BERLIN),
        datetime(2026, 10, 26, tzinfo=BERLIN),
        sla("Europe/Berlin"),
        timedelta(0),
    ),
    "Berlin: Friday 00:00 CEST to Monday 00:00 CET is one day": (
        datetime(2026, 10, 23, tzinfo=BERLIN),
        datetime(2026, 10, 26, tzinfo=BERLIN),
        sla("Europe/Berlin"),
        timedelta(hours=24),
    ),
    "New York: Saturday 02:00 UTC is Friday evening local": (
        utc(28, 0),
        utc(28, 5),
        sla("America/New_York"),
        timedelta(hours=5),
    ),
}


@pytest.mark.parametrize(("a", "b", "config", "expected"), BETWEEN.values(), ids=BETWEEN.keys())
def test_business_time_between_examples(
    a: datetime, b: datetime, config: SlaConfig, expected: timedelta
) -> None:
    assert business_time_between(a, b, config) == expected


def test_is_business_day_knows_weekends_and_holidays() -> None:
    config = sla(holidays=(date(2026, 12, 25),))
    assert is_business_day(date(2026, 12, 24), config)
    assert not is_business_day(date(2026, 12, 25), config)
    assert not is_business_day(date(2026, 12, 26), config)  # Saturday
    assert not is_business_day(date(2026, 12, 27), config)  # Sunday


# --- clocks ------------------------------------------------------------------------------

CRITICAL = triage_clock(utc(27, 20), "critical", UTC_SLA)  # 4h: due Saturday 00:00


@dataclass(frozen=True)
class StateCase:
    clock: SlaClock
    now: datetime
    expected: ClockState


STATES = {
    "just started": StateCase(
        CRITICAL, utc(27, 20), ClockState("running", utc(28), timedelta(hours=4), 1.0)
    ),
    "before the clock starts": StateCase(
        CRITICAL, utc(27, 18), ClockState("running", utc(28), timedelta(hours=6), 1.0)
    ),
    "just above the warning threshold": StateCase(
        CRITICAL,
        utc(27, 22, 59),
        ClockState("running", utc(28), timedelta(minutes=61), 61 / 240),
    ),
    "at the warning threshold": StateCase(
        CRITICAL, utc(27, 23), ClockState("at-risk", utc(28), timedelta(hours=1), 0.25)
    ),
    "at the deadline": StateCase(
        CRITICAL, utc(28), ClockState("at-risk", utc(28), timedelta(0), 0.0)
    ),
    "after the deadline": StateCase(
        CRITICAL, utc(28, 1), ClockState("breached", utc(28), -timedelta(hours=1), -0.25)
    ),
    "stopped before the deadline": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, stopped=utc(27, 23)),
        utc(28, 5),
        ClockState("met", utc(28), timedelta(hours=1), 0.25),
    ),
    "stopped at the deadline": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, stopped=utc(28)),
        utc(28, 5),
        ClockState("met", utc(28), timedelta(0), 0.0),
    ),
    "stopped after the deadline": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, stopped=utc(28, 2)),
        utc(28, 5),
        ClockState("missed", utc(28), -timedelta(hours=2), -0.5),
    ),
    "stopped while paused": StateCase(
        triage_clock(
            utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(27, 21)),), stopped=utc(28, 2)
        ),
        utc(28, 5),
        ClockState("met", utc(28, 5), timedelta(hours=3), 0.75),
    ),
    "paused: the deadline is as if resumed now": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(27, 21)),)),
        utc(28, 2),
        ClockState("paused", utc(28, 5), timedelta(hours=3), 0.75),
    ),
    "paused in a pause with a known end: still as if resumed now": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(27, 21), utc(28, 9)),)),
        utc(28, 2),
        ClockState("paused", utc(28, 5), timedelta(hours=3), 0.75),
    ),
    "resumed: the pause extended the deadline": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(27, 21), utc(27, 23)),)),
        utc(28, 0, 30),
        ClockState("running", utc(28, 2), timedelta(hours=1, minutes=30), 0.375),
    ),
    "a pause after the breach does not hide it": StateCase(
        triage_clock(utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(28, 1)),)),
        utc(28, 2),
        ClockState("breached", utc(28), -timedelta(hours=2), -0.5),
    ),
    # 3bd from Wednesday noon is due Monday noon; on Friday 23:00 only 13 business hours
    # of 72 are left, so the weekend ahead does not make it look safe.
    "a bd clock on Friday evening is at risk": StateCase(
        plan_clock(utc(25, 12), UTC_SLA),
        utc(27, 23),
        ClockState("at-risk", utc(30, 12), timedelta(days=2, hours=13), 13 / 72),
    ),
    "a bd clock paused over the weekend": StateCase(
        plan_clock(utc(25, 12), UTC_SLA, pauses=(Pause(utc(27, 18)),)),
        utc(29, 12),
        ClockState("paused", utc(30, 18), timedelta(days=1, hours=6), 18 / 72),
    ),
}


@pytest.mark.parametrize("case", STATES.values(), ids=STATES.keys())
def test_clock_states(case: StateCase) -> None:
    state = case.clock.state(case.now, UTC_SLA)
    assert state.status == case.expected.status
    assert state.deadline == case.expected.deadline
    assert state.remaining == case.expected.remaining
    assert state.fraction_left == pytest.approx(case.expected.fraction_left)


def test_the_warning_fraction_is_configurable() -> None:
    assert CRITICAL.state(utc(27, 22), UTC_SLA).status == "running"
    assert CRITICAL.state(utc(27, 22), UTC_SLA, warn_fraction=0.5).status == "at-risk"
    with pytest.raises(ValueError, match="warn_fraction"):
        CRITICAL.state(utc(27, 22), UTC_SLA, warn_fraction=1.5)


def test_clock_deadline_needs_now_only_while_paused() -> None:
    clock = triage_clock(utc(27, 20), "critical", UTC_SLA, pauses=(Pause(utc(27, 21)),))
    with pytest.raises(ValueError, match="paused with no end"):
        clock.deadline(UTC_SLA)
    assert clock.deadline(UTC_SLA, now=utc(28, 2)) == utc(28, 5)
    assert clock.is_paused(utc(28, 2))
    assert not clock.is_paused(utc(27, 20, 30))


@pytest.mark.parametrize(
    ("severity", "duration"),
    [("critical", h(2)), ("high", h(24)), ("medium", bd(3)), ("low", bd(5))],
)
def test_triage_clock_takes_the_severity_duration(severity: Severity, duration: Duration) -> None:
    config = SlaConfig.model_validate({"triage": {"critical": "2h", "low": "5bd"}})
    clock = triage_clock(utc(23, 9), severity, config)
    assert clock == SlaClock("triage", utc(23, 9), duration)


def test_plan_clock_runs_from_triage_for_the_plan_duration() -> None:
    config = SlaConfig.model_validate({"plan": "2bd"})
    clock = plan_clock(utc(27, 15), config)
    assert clock == SlaClock("plan", utc(27, 15), bd(2))
    assert clock.deadline(config) == utc(1, 15, month=12)
    assert clock.budget(config) == timedelta(days=2)


# --- formatting --------------------------------------------------------------------------

REMAINING = {
    "3h 20m left": timedelta(hours=3, minutes=20, seconds=59),
    "2d 4h left": timedelta(days=2, hours=4, minutes=30),
    "2d left": timedelta(days=2, minutes=30),
    "5h left": timedelta(hours=5),
    "45m left": timedelta(minutes=45),
    "<1m left": timedelta(seconds=30),
    "0m left": timedelta(0),
    "overdue by 1h 5m": -timedelta(hours=1, minutes=5, seconds=4),
    "overdue by 3d 1h": -timedelta(days=3, hours=1),
    "overdue by <1m": -timedelta(seconds=1),
}


@pytest.mark.parametrize(("expected", "remaining"), REMAINING.items(), ids=REMAINING.keys())
def test_format_remaining(expected: str, remaining: timedelta) -> None:
    assert format_remaining(remaining) == expected


def test_format_deadline_shows_utc_or_the_given_zone() -> None:
    assert format_deadline(utc(1, 15, month=12)) == "2026-12-01 15:00 UTC"
    assert format_deadline(datetime(2026, 12, 1, 16, tzinfo=BERLIN)) == "2026-12-01 15:00 UTC"
    assert format_deadline(utc(1, 15, month=12), BERLIN) == "2026-12-01 16:00 CET"
    assert format_deadline(utc(1, 7, month=7), NEW_YORK) == "2026-07-01 03:00 EDT"


# --- properties --------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None)
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])
INSTANTS = st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC))
DURATIONS = st.one_of(
    st.builds(Duration, st.integers(1, 200), st.just("h")),
    st.builds(Duration, st.integers(1, 20), st.just("bd")),
)
BD_DURATIONS = st.builds(Duration, st.integers(1, 20), st.just("bd"))


@st.composite
def calendars(draw: st.DrawFn, near: datetime) -> SlaConfig:
    """A time zone and a few holidays in the weeks around `near`."""
    offsets = draw(st.lists(st.integers(-3, 40), max_size=6))
    holidays = tuple(sorted({near.date() + timedelta(days=o) for o in offsets}))
    return sla(draw(ZONES), holidays)


@st.composite
def pause_lists(draw: st.DrawFn, near: datetime) -> list[Pause]:
    """Up to four pauses around `near`, possibly overlapping, the last one maybe open."""
    pauses: list[Pause] = []
    for _ in range(draw(st.integers(0, 4))):
        start = near + timedelta(minutes=draw(st.integers(-3 * 1440, 20 * 1440)))
        length = timedelta(minutes=draw(st.integers(0, 5 * 1440)))
        pauses.append(Pause(start, start + length))
    leave_open: bool = draw(st.booleans())
    if pauses and leave_open:
        pauses[-1] = Pause(pauses[-1].start)
    return pauses


def _union(pauses: list[Pause], now: datetime) -> list[tuple[datetime, datetime]]:
    spans = sorted((p.start, p.end or max(now, p.start)) for p in pauses)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@PROPERTY
@given(data=st.data(), start=INSTANTS, duration=DURATIONS, later=st.integers(0, 30 * 1440))
def test_a_later_start_never_gives_an_earlier_deadline(
    data: st.DataObject, start: datetime, duration: Duration, later: int
) -> None:
    config = data.draw(calendars(start))
    second = start + timedelta(minutes=later)
    assert add_duration(second, duration, config) >= add_duration(start, duration, config)


@PROPERTY
@given(data=st.data(), start=INSTANTS, duration=DURATIONS, more=st.integers(0, 30))
def test_a_longer_duration_never_gives_an_earlier_deadline(
    data: st.DataObject, start: datetime, duration: Duration, more: int
) -> None:
    config = data.draw(calendars(start))
    longer = Duration(duration.amount + more, duration.unit)
    assert add_duration(start, longer, config) >= add_duration(start, duration, config)


@PROPERTY
@given(data=st.data(), start=INSTANTS, duration=DURATIONS)
def test_pauses_never_shorten_a_deadline(
    data: st.DataObject, start: datetime, duration: Duration
) -> None:
    config = data.draw(calendars(start))
    pauses = data.draw(pause_lists(start))
    now = start + timedelta(days=25)
    paused = add_duration(start, duration, config, pauses, now=now)
    assert paused >= add_duration(start, duration, config)


@PROPERTY
@given(data=st.data(), start=INSTANTS, duration=DURATIONS)
def test_the_running_time_to_the_deadline_is_the_budget(
    data: st.DataObject, start: datetime, duration: Duration
) -> None:
    """Clock time between start and deadline, minus the paused part, is the whole budget."""
    config = data.draw(calendars(start))
    pauses = data.draw(pause_lists(start))
    now = start + timedelta(days=25)
    deadline = add_duration(start, duration, config, pauses, now=now)

    def measure(a: datetime, b: datetime) -> timedelta:
        return b - a if duration.unit == "h" else business_time_between(a, b, config)

    paused = sum(
        (
            measure(max(s, start), min(e, deadline))
            for s, e in _union(pauses, now)
            if s < deadline and e > start
        ),
        timedelta(0),
    )
    clock = SlaClock("plan", start, duration)
    assert measure(start, deadline) - paused == clock.budget(config)


@PROPERTY
@given(
    data=st.data(),
    day=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    holiday=st.booleans(),
    fractions=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_weekends_and_holidays_never_count(
    data: st.DataObject, day: date, holiday: bool, fractions: tuple[float, float]
) -> None:
    zone = data.draw(ZONES)
    if holiday:
        config = sla(zone, (day,))
    else:
        day += timedelta(days=(5 - day.weekday()) % 7 + data.draw(st.integers(0, 1)))
        config = sla(zone)
    assert not is_business_day(day, config)
    tz = ZoneInfo(zone)
    day_start = datetime.combine(day, time(0), tz).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    a, b = (day_start + (day_end - day_start) * f for f in sorted(fractions))
    assert business_time_between(a, b, config) == timedelta(0)
    assert business_time_between(day_start, day_end, config) == timedelta(0)


@PROPERTY
@given(data=st.data(), start=INSTANTS, duration=BD_DURATIONS)
def test_business_days_round_trip(data: st.DataObject, start: datetime, duration: Duration) -> None:
    """N business days later is exactly N x 24h of business time (even from a weekend)."""
    config = data.draw(calendars(start))
    deadline = add_duration(start, duration, config)
    assert business_time_between(start, deadline, config) == timedelta(days=duration.amount)
    assert is_business_day(deadline.astimezone(config.tz).date(), config)
