"""The LTS process report: facts from tickets, the figures per group, Markdown and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.policies.report import (
    MARKDOWN_LIMIT,
    BackportOutcome,
    BackportStats,
    BreachClock,
    Breaches,
    Durations,
    ReleaseFacts,
    ReleaseStats,
    Report,
    TicketFacts,
    build_report,
    format_hours,
    percentile,
    render_markdown,
    ticket_facts,
    to_json,
)
from bot.ticket import AuditEntry, BackportEntry, BackportStatus, Severity, TicketState

# Monday 2026-01-05 00:00 UTC: every time below is so many hours after it.
T0 = datetime(2026, 1, 5, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
REPO = "acme/widgets"


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ticket(
    number: int,
    created: float,
    severity: Severity | None = None,
    *,
    lines: tuple[str, ...] = (),
    triaged: float | None = None,
    planned: float | None = None,
    released: tuple[tuple[str, str], ...] = (),
    breaches: tuple[BreachClock, ...] = (),
    backports: tuple[BackportOutcome, ...] = (),
    closed: float | None = None,
) -> TicketFacts:
    return TicketFacts(
        number=number,
        title=f"Ticket {number}",
        created_at=h(created),
        closed_at=None if closed is None else h(closed),
        severity=severity,
        lines=lines,
        triaged_at=None if triaged is None else h(triaged),
        planned_at=None if planned is None else h(planned),
        released=released,
        breaches=breaches,
        backports=backports,
    )


def out(
    line: str, source: int, status: BackportStatus = "merged", conflicted: bool = False
) -> BackportOutcome:
    return BackportOutcome(line, source, conflicted, status)


# A known history, from hour 0 on: 6 tickets, 2 lines (1.9 and 1.10, which must sort after
# it), 3 severities and one without, 3 releases of which v1.10.2 was withdrawn after 3 h,
# 5 backports of which 2 conflicted (one still in conflict, one made by hand since).
TICKETS = (
    ticket(
        1,
        0,
        "critical",
        lines=("1.9", "1.10"),
        triaged=2,
        planned=6,
        closed=100,
        released=(("1.9", "v1.9.3"), ("1.10", "v1.10.1")),
        backports=(out("1.9", 101), out("1.10", 101, conflicted=True)),
    ),
    ticket(
        2,
        10,
        "high",
        lines=("1.9",),
        triaged=20,
        planned=30,
        closed=90,
        released=(("1.9", "v1.9.3"),),
        breaches=("plan",),
        backports=(out("1.9", 102),),
    ),
    ticket(
        3,
        24,
        "high",
        lines=("1.10",),
        triaged=30,
        planned=50,
        released=(("1.10", "v1.10.2"),),
        breaches=("release",),
        backports=(out("1.10", 103, "conflict", conflicted=True),),
    ),
    ticket(4, 30, "medium", triaged=90, breaches=("triage",)),
    ticket(
        5,
        40,
        "medium",
        lines=("1.9",),
        triaged=48,
        planned=49,
        backports=(out("1.9", 105, "requested"),),
    ),
    ticket(6, 60, breaches=("unknown",)),
)
RELEASES = (
    ReleaseFacts("v1.9.3", "1.9", h(70), None),
    ReleaseFacts("v1.10.1", "1.10", h(80), None),
    ReleaseFacts("v1.10.2", "1.10", h(100), h(103)),
)
# Before the window: a ticket released in v1.9.2, which was withdrawn after 10 h.
OLD_TICKET = ticket(
    0,
    -100,
    "critical",
    lines=("1.9",),
    triaged=-99,
    planned=-98,
    closed=-40,
    released=(("1.9", "v1.9.2"),),
    backports=(out("1.9", 100),),
)
OLD_RELEASE = ReleaseFacts("v1.9.2", "1.9", h(-50), h(-40))

REPORT = build_report((*TICKETS, OLD_TICKET), (*RELEASES, OLD_RELEASE), since=T0, now=NOW)


# --- the figures of a known history ------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    key: str
    # tickets, triaged, planned, released, open
    counts: tuple[int, int, int, int, int]
    triage: Durations
    plan: Durations
    release: Durations
    breaches: Breaches
    releases: ReleaseStats | None
    backports: BackportStats


EXPECTED = [
    # Triage 2, 6, 8, 10, 60: the median is the 3rd (⌈2.5⌉), p90 the 5th (⌈4.5⌉).
    # Plan 1, 4, 10, 20: ranks 2 and 4. Release (per ticket and line) 60, 70, 76, 80.
    Expected(
        "all",
        (6, 5, 4, 3, 4),
        Durations(5, 8, 60),
        Durations(4, 4, 20),
        Durations(4, 70, 80),
        Breaches(tickets=4, triage=1, plan=1, release=1, unknown=1),
        ReleaseStats(3, 1, Durations(1, 3, 3)),
        BackportStats(5, 2),
    ),
    Expected(
        "critical",
        (1, 1, 1, 1, 0),
        Durations(1, 2, 2),
        Durations(1, 4, 4),
        Durations(2, 70, 80),
        Breaches(),
        None,
        BackportStats(2, 1),
    ),
    Expected(
        "high",
        (2, 2, 2, 2, 1),
        Durations(2, 6, 10),
        Durations(2, 10, 20),
        Durations(2, 60, 76),
        Breaches(tickets=2, plan=1, release=1),
        None,
        BackportStats(2, 1),
    ),
    Expected(
        "medium",
        (2, 2, 1, 0, 2),
        Durations(2, 8, 60),
        Durations(1, 1, 1),
        Durations(),
        Breaches(tickets=1, triage=1),
        None,
        BackportStats(1, 0),
    ),
    Expected(
        "low",
        (0, 0, 0, 0, 0),
        Durations(),
        Durations(),
        Durations(),
        Breaches(),
        None,
        BackportStats(),
    ),
    Expected(
        "none",
        (1, 0, 0, 0, 1),
        Durations(),
        Durations(),
        Durations(),
        Breaches(tickets=1, unknown=1),
        None,
        BackportStats(),
    ),
    # Tickets 1, 2, 5 plan 1.9: triage 2, 8, 10; plan 1, 4, 10; released 60, 70.
    Expected(
        "1.9",
        (3, 3, 3, 2, 1),
        Durations(3, 8, 10),
        Durations(3, 4, 10),
        Durations(2, 60, 70),
        Breaches(tickets=1, plan=1),
        ReleaseStats(1, 0, Durations()),
        BackportStats(3, 0),
    ),
    # Tickets 1 and 3 plan 1.10: released 80 and 76 after creation.
    Expected(
        "1.10",
        (2, 2, 2, 2, 1),
        Durations(2, 2, 6),
        Durations(2, 4, 20),
        Durations(2, 76, 80),
        Breaches(tickets=1, release=1),
        ReleaseStats(2, 1, Durations(1, 3, 3)),
        BackportStats(2, 2),
    ),
]


@pytest.mark.parametrize("want", EXPECTED, ids=lambda e: e.key)
def test_each_group_of_a_known_history(want: Expected) -> None:
    got = REPORT.group(want.key)
    assert (got.tickets, got.triaged, got.planned, got.released, got.open) == want.counts
    assert got.time_to_triage == want.triage
    assert got.time_to_plan == want.plan
    assert got.time_to_release == want.release
    assert got.breaches == want.breaches
    assert got.releases == want.releases
    assert got.backports == want.backports


def test_groups_come_all_then_severities_then_lines_in_version_order() -> None:
    keys = [(g.kind, g.key) for g in REPORT.groups]
    assert keys == [
        ("all", "all"),
        ("severity", "critical"),
        ("severity", "high"),
        ("severity", "medium"),
        ("severity", "low"),
        ("severity", "none"),
        ("line", "1.9"),
        ("line", "1.10"),
    ]


@pytest.mark.parametrize(
    ("key", "rollback_rate", "conflict_rate"),
    [
        ("all", 1 / 3, 2 / 5),
        ("critical", None, 1 / 2),
        ("low", None, None),
        ("1.9", 0.0, 0.0),
        ("1.10", 1 / 2, 1.0),
    ],
)
def test_rates(key: str, rollback_rate: float | None, conflict_rate: float | None) -> None:
    group = REPORT.group(key)
    assert (group.releases.rollback_rate if group.releases else None) == rollback_rate
    assert group.backports.conflict_rate == conflict_rate


def test_breached_tickets_are_listed_by_number_with_their_clocks() -> None:
    assert [(t.number, t.title, t.clocks) for t in REPORT.breached] == [
        (2, "Ticket 2", ("plan",)),
        (3, "Ticket 3", ("release",)),
        (4, "Ticket 4", ("triage",)),
        (6, "Ticket 6", ("unknown",)),
    ]


def test_an_unknown_group_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        REPORT.group("2.0")


# --- the window --------------------------------------------------------------------------


def test_without_since_everything_counts() -> None:
    report = build_report((*TICKETS, OLD_TICKET), (*RELEASES, OLD_RELEASE), since=None, now=NOW)
    everything = report.group("all")
    assert everything.tickets == 7
    # Ticket 0 waited 50 h for v1.9.2: 50, 60, 70, 76, 80.
    assert everything.time_to_release == Durations(5, 70, 80)
    assert everything.releases == ReleaseStats(4, 2, Durations(2, 3, 10))
    assert report.group("1.9").releases == ReleaseStats(2, 1, Durations(1, 10, 10))


def test_since_is_inclusive_and_applies_to_tickets_and_releases_alike() -> None:
    report = build_report(TICKETS, RELEASES, since=h(24), now=NOW)
    # Tickets 3..6; releases at 70, 80 and 100 h.
    assert report.group("all").tickets == 4
    assert report.group("all").releases == ReleaseStats(3, 1, Durations(1, 3, 3))
    later = build_report(TICKETS, RELEASES, since=h(75), now=NOW)
    assert later.group("all").tickets == 0
    assert later.group("all").releases == ReleaseStats(2, 1, Durations(1, 3, 3))
    # A line with only a release in the window is still a group.
    assert [g.key for g in later.groups if g.kind == "line"] == ["1.10"]


# --- edge cases of the figures -----------------------------------------------------------


def test_no_input_gives_no_figures_and_no_division_by_zero() -> None:
    report = build_report([], [], since=None, now=NOW)
    assert [g.key for g in report.groups] == ["all", "critical", "high", "medium", "low", "none"]
    for group in report.groups:
        assert (group.tickets, group.open, group.breaches.total) == (0, 0, 0)
        assert group.time_to_triage == group.time_to_plan == group.time_to_release == Durations()
        assert group.backports.conflict_rate is None
    assert report.group("all").releases == ReleaseStats(0, 0, Durations())
    assert report.group("all").releases.rollback_rate is None  # type: ignore[union-attr]
    assert report.breached == ()


def test_a_tag_without_release_facts_is_skipped_but_the_ticket_counts_as_released() -> None:
    t = ticket(1, 0, "high", lines=("1.4",), released=(("1.4", "v1.4.9"),))
    group = build_report([t], [], since=None, now=NOW).group("1.4")
    assert group.released == 1
    assert group.time_to_release == Durations()


def test_a_fix_released_twice_on_a_line_counts_its_first_release() -> None:
    """After a rollback the fix ships again; it reached users with the first one."""
    t = ticket(1, 0, "high", lines=("1.4",), released=(("1.4", "v1.4.2"), ("1.4", "v1.4.3")))
    releases = [
        ReleaseFacts("v1.4.3", "1.4", h(30), None),
        ReleaseFacts("v1.4.2", "1.4", h(20), h(25)),
    ]
    group = build_report([t], releases, since=None, now=NOW).group("1.4")
    assert group.time_to_release == Durations(1, 20, 20)


def test_spans_ending_before_they_start_are_left_out() -> None:
    """A bug reported after the release that fixed it says nothing of the process."""
    t = ticket(1, 50, "high", lines=("1.4",), released=(("1.4", "v1.4.2"),))
    releases = [ReleaseFacts("v1.4.2", "1.4", h(20), h(10))]
    group = build_report([t], releases, since=None, now=NOW).group("1.4")
    assert group.time_to_release == Durations()
    assert group.releases == ReleaseStats(1, 1, Durations())


def test_a_ticket_counts_on_a_line_it_was_released_on_without_planning_it() -> None:
    t = ticket(1, 0, "high", triaged=1, released=(("1.4", "v1.4.2"),))
    report = build_report([t], [ReleaseFacts("v1.4.2", "1.4", h(5), None)], since=None, now=NOW)
    assert report.group("1.4").tickets == 1
    assert report.group("1.4").time_to_triage == Durations(1, 1, 1)


def test_a_ticket_without_severity_has_its_release_timed_in_its_group() -> None:
    t = ticket(1, 0, lines=("1.4",), released=(("1.4", "v1.4.2"),))
    report = build_report([t], [ReleaseFacts("v1.4.2", "1.4", h(5), None)], since=None, now=NOW)
    assert report.group("none").time_to_release == Durations(1, 5, 5)
    assert report.group("high").time_to_release == Durations()


def test_a_ticket_closed_after_now_is_still_open() -> None:
    t = ticket(1, 0, "low", closed=24 * 31)
    assert build_report([t], [], since=None, now=NOW).group("all").open == 1


def test_a_ticket_with_several_breaches_counts_once_among_tickets() -> None:
    t = ticket(1, 0, "high", breaches=("triage", "plan"))
    assert build_report([t], [], since=None, now=NOW).group("all").breaches == Breaches(
        tickets=1, triage=1, plan=1
    )


def test_hours_are_not_rounded() -> None:
    t = ticket(1, 0, "high", triaged=1 + 1 / 60)
    d = build_report([t], [], since=None, now=NOW).group("all").time_to_triage
    assert d.median == pytest.approx(61 / 60)


# --- the percentile ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "want"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 90, 5.0),
        ([5.0], 100, 5.0),
        # Of two values the median is the smaller (rank ⌈1⌉), p90 the larger (⌈1.8⌉).
        ([2.0, 1.0], 50, 1.0),
        ([2.0, 1.0], 90, 2.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        # Of ten values, the 5th and the 9th (⌈9.0⌉: no float rounding up to 10).
        ([float(v) for v in range(10, 0, -1)], 50, 5.0),
        ([float(v) for v in range(1, 11)], 90, 9.0),
        ([float(v) for v in range(1, 11)], 91, 10.0),
        ([float(v) for v in range(1, 11)], 100, 10.0),
        ([float(v) for v in range(1, 11)], 1, 1.0),
        ([7.0, 7.0, 1.0], 50, 7.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], percent: int, want: float) -> None:
    assert percentile(values, percent) == want


@pytest.mark.parametrize(("values", "percent"), [([], 50), ([1.0], 0), ([1.0], 101)])
def test_percentile_refuses_what_it_cannot_define(values: list[float], percent: int) -> None:
    with pytest.raises(ValueError, match="percent"):
        percentile(values, percent)


@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50),
    st.integers(min_value=1, max_value=100),
)
def test_percentile_is_the_smallest_value_with_enough_at_or_below_it(
    values: list[float], percent: int
) -> None:
    got = percentile(values, percent)
    n = len(values)
    assert got in values
    # At least percent% of the values are at or below it, and fewer strictly below.
    assert sum(v <= got for v in values) * 100 >= percent * n
    assert sum(v < got for v in values) * 100 < percent * n
    d = Durations.of(values)
    assert d.count == n
    assert d.median is not None
    assert d.p90 is not None
    assert d.median <= d.p90


# --- facts from a ticket -----------------------------------------------------------------

STATE = TicketState(
    number=7,
    severity="high",
    severity_set_at=h(1),
    decision="backport",
    decided_at=h(3),
    planned_at=h(5),
    backport=("1.10", "1.1", "1.9"),
    reminders=("triage:remind", "release:breach", "plan:breach", "plan:remind"),
    backports=(
        BackportEntry("1.1", 101, "merged"),
        BackportEntry("1.10", 101, "merged", pr=201),
        BackportEntry("1.9", 101, "merged"),
        BackportEntry("1.9", 102, "conflict", detail="conflicts in a.py"),
    ),
    audit=(
        AuditEntry(h(4), "alice", "backport conflict", "v1.10 from #101 (conflicts in v1.1.py)"),
        AuditEntry(h(4), "alice", "backport open", "v1.1 from #101: #200"),
        AuditEntry(h(4), "alice", "backport conflict", "v1.9 from #1012"),
        AuditEntry(h(4), "alice", "backport merged", "v1.10 from #101: #201"),
    ),
)


def test_facts_from_a_full_record() -> None:
    labels = [
        "severity/high",
        "backport/v1.10",
        "released/v1.10.1-lts",
        "released/v1.9.10",
        "released/v1.9.9",
        "sla/breached",
        "good first issue",
    ]
    facts = ticket_facts(7, "Crash", h(0), None, labels, STATE)
    assert facts.severity == "high"
    assert facts.lines == ("1.1", "1.9", "1.10")
    # Triaged at the decision, not at the earlier severity.
    assert facts.triaged_at == h(3)
    assert facts.planned_at == h(5)
    assert facts.released == (("1.9", "v1.9.9"), ("1.9", "v1.9.10"), ("1.10", "v1.10.1-lts"))
    # Which clocks the record says; the label adds no unknown one.
    assert facts.breaches == ("plan", "release")
    # v1.10 from #101 conflicted by the audit, not v1.1; #1012 is not #101 nor #102; the
    # 1.9 cell of #102 is still in conflict.
    assert facts.backports == (
        BackportOutcome("1.1", 101, False, "merged"),
        BackportOutcome("1.10", 101, True, "merged"),
        BackportOutcome("1.9", 101, False, "merged"),
        BackportOutcome("1.9", 102, True, "conflict"),
    )


@dataclass(frozen=True)
class LabelCase:
    id: str
    labels: tuple[str, ...]
    state: TicketState | None
    severity: Severity | None
    lines: tuple[str, ...]
    breaches: tuple[BreachClock, ...]
    released: tuple[tuple[str, str], ...] = ()


LABEL_CASES = [
    LabelCase(
        "no record: all from labels",
        ("severity/medium", "backport/v1.10", "backport/v1.4", "sla/breached", "released/v1.4.2"),
        None,
        "medium",
        ("1.4", "1.10"),
        ("unknown",),
        (("1.4", "v1.4.2"),),
    ),
    LabelCase(
        "the most severe of several labels",
        ("severity/low", "severity/critical"),
        None,
        "critical",
        (),
        (),
    ),
    LabelCase(
        "the record wins over labels",
        ("severity/low", "backport/v2.0"),
        TicketState(number=7, severity="high", backport=("1.4",)),
        "high",
        ("1.4",),
        (),
    ),
    LabelCase(
        "labels fill what the record lacks",
        ("severity/low", "backport/v2.0", "sla/breached"),
        TicketState(number=7, reminders=("triage:remind",)),
        "low",
        ("2.0",),
        ("unknown",),
    ),
    LabelCase(
        "an unknown clock's breach",
        (),
        TicketState(number=7, reminders=("approval:breach",)),
        None,
        (),
        ("unknown",),
    ),
    LabelCase(
        "malformed labels mean nothing",
        (
            "severity/urgent",
            "backport/1.4",
            "backport/v1",
            "released/v1.4",
            "released/1.4.2",
            "released/v1.4.2-rc1",
            "sla/breached-ish",
        ),
        None,
        None,
        (),
        (),
    ),
]


@pytest.mark.parametrize("case", LABEL_CASES, ids=lambda c: c.id)
def test_facts_from_labels(case: LabelCase) -> None:
    facts = ticket_facts(7, "Crash", h(0), h(9), case.labels, case.state)
    assert facts.severity == case.severity
    assert facts.lines == case.lines
    assert facts.breaches == case.breaches
    assert facts.released == case.released
    assert facts.closed_at == h(9)


def test_without_a_record_there_are_no_times_nor_backports() -> None:
    facts = ticket_facts(7, "Crash", h(0), None, ["severity/high", "triage/backport"], None)
    assert (facts.triaged_at, facts.planned_at, facts.backports) == (None, None, ())


def test_an_undecided_ticket_is_not_triaged_even_with_a_severity() -> None:
    state = TicketState(number=7, severity="high", severity_set_at=h(1))
    assert ticket_facts(7, "Crash", h(0), None, [], state).triaged_at is None


def test_facts_feed_the_report() -> None:
    facts = ticket_facts(7, "Crash", h(0), None, ["released/v1.10.1-lts"], STATE)
    release = ReleaseFacts("v1.10.1-lts", "1.10", h(12), None)
    report = build_report([facts], [release], since=None, now=NOW)
    assert report.group("1.10").time_to_release == Durations(1, 12, 12)
    assert report.group("1.9").backports == BackportStats(2, 1)
    assert report.group("high").time_to_triage == Durations(1, 3, 3)
    assert report.group("high").time_to_plan == Durations(1, 2, 2)


# --- Markdown ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (None, "—"),
        (0.04, "0.0 h"),
        (3.5, "3.5 h"),
        (48.0, "48.0 h"),
        (50.4, "2.1 d"),
        (24 * 30, "30.0 d"),
    ],
)
def test_format_hours(hours: float | None, text: str) -> None:
    assert format_hours(hours) == text


def row(body: str, name: str, section: str, *, counts: bool = False) -> str:
    """The row for `name` in the section's table of times, or of counts."""
    text = body[body.index(f"## {section}\n") :]
    if counts:
        text = text[text.index("| Group | Tickets") :]
    return next(line for line in text.splitlines() if line.startswith(f"| {name} |"))


def test_markdown_shows_the_key_figures() -> None:
    body = render_markdown(REPORT, repo=REPO)
    assert body.startswith("# LTS process report for acme/widgets\n")
    assert "from 2026-01-05 00:00 UTC to 2026-02-04 00:00 UTC" in body
    assert row(body, "All tickets", "All tickets") == (
        "| All tickets | 8.0 h / 2.5 d (5) | 4.0 h / 20.0 h (4) | 2.9 d / 3.3 d (4) "
        "| 3.0 h / 3.0 h (1) |"
    )
    assert row(body, "All tickets", "All tickets", counts=True) == (
        "| All tickets | 6 | 4 | 5 | 4 | 3 | 4 (triage 1, plan 1, release 1, unknown 1) "
        "| 3 | 33.3% (1 of 3) | 40.0% (2 of 5) |"
    )
    assert row(body, "low", "By severity") == "| low | — | — | — | n/a |"
    assert row(body, "high", "By severity", counts=True) == (
        "| high | 2 | 1 | 2 | 2 | 2 | 2 (plan 1, release 1) | n/a | n/a | 50.0% (1 of 2) |"
    )
    assert row(body, "no severity", "By severity", counts=True) == (
        "| no severity | 1 | 1 | 0 | 0 | 0 | 1 (unknown 1) | n/a | n/a | — |"
    )
    assert row(body, "v1.10", "By line", counts=True) == (
        "| v1.10 | 2 | 1 | 2 | 2 | 2 | 1 (release 1) | 2 | 50.0% (1 of 2) | 100.0% (2 of 2) |"
    )
    assert body.index("| v1.9 |") < body.index("| v1.10 |")
    assert "- #2: plan\n" in body
    assert "## How these are measured" in body
    assert len(body) < MARKDOWN_LIMIT


def test_markdown_of_nothing() -> None:
    body = render_markdown(build_report([], [], since=None, now=NOW), repo=REPO)
    assert "All tickets and releases up to 2026-02-04 00:00 UTC." in body
    assert row(body, "All tickets", "All tickets") == "| All tickets | — | — | — | — |"
    assert row(body, "All tickets", "All tickets", counts=True) == (
        "| All tickets | 0 | 0 | 0 | 0 | 0 | 0 | 0 | — | — |"
    )
    assert "No line has a ticket or a release in this window." in body
    assert "No ticket in this window breached a deadline." in body


def test_markdown_stays_under_githubs_limit_with_many_lines_and_breaches() -> None:
    many = [
        ticket(
            n,
            0,
            "high",
            lines=(f"{n // 100}.{n % 100}",),
            triaged=1,
            planned=2,
            breaches=("triage", "plan", "release"),
            backports=(out(f"{n // 100}.{n % 100}", n, "conflict", conflicted=True),),
        )
        for n in range(1, 3001)
    ]
    report = build_report(many, [], since=None, now=NOW)
    body = render_markdown(report, repo=REPO)
    assert len(body) <= MARKDOWN_LIMIT < 65_536
    # The newest lines are kept, the older ones said to be left out.
    assert "| v30.0 |" in body
    assert "| v0.1 |" not in body
    assert "older lines are left out here for length; see the JSON." in body
    assert "- … and 2950 more" in body
    assert body.endswith("\n")


# --- JSON --------------------------------------------------------------------------------


def test_json_round_trips_and_keeps_hours_unrounded() -> None:
    data = to_json(REPORT)
    assert json.loads(json.dumps(data)) == data
    assert data["version"] == 1
    assert data["since"] == "2026-01-05T00:00:00Z"
    assert data["now"] == "2026-02-04T00:00:00Z"
    groups = data["groups"]
    assert isinstance(groups, list)
    assert [g["key"] for g in groups] == [
        "all",
        "critical",
        "high",
        "medium",
        "low",
        "none",
        "1.9",
        "1.10",
    ]
    everything = groups[0]
    assert everything == {
        "kind": "all",
        "key": "all",
        "tickets": {"total": 6, "triaged": 5, "planned": 4, "released": 3, "open": 4},
        "time_to_triage": {"count": 5, "median_hours": 8.0, "p90_hours": 60.0},
        "time_to_plan": {"count": 4, "median_hours": 4.0, "p90_hours": 20.0},
        "time_to_release": {"count": 4, "median_hours": 70.0, "p90_hours": 80.0},
        "sla_breaches": {"tickets": 4, "triage": 1, "plan": 1, "release": 1, "unknown": 1},
        "releases": {
            "published": 3,
            "withdrawn": 1,
            "rollback_rate": 1 / 3,
            "time_to_rollback": {"count": 1, "median_hours": 3.0, "p90_hours": 3.0},
        },
        "backports": {"outcomes": 5, "conflicts": 2, "conflict_rate": 0.4},
    }
    assert groups[1]["releases"] is None
    assert groups[4]["time_to_triage"] == {"count": 0, "median_hours": None, "p90_hours": None}
    breached = data["breached"]
    assert isinstance(breached, list)
    assert breached[0] == {"number": 2, "title": "Ticket 2", "clocks": ["plan"]}


def test_json_of_nothing_and_of_other_time_zones() -> None:
    cet = datetime(2026, 2, 4, 1, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    data = to_json(build_report([], [], since=None, now=cet))
    assert json.loads(json.dumps(data)) == data
    assert data["since"] is None
    assert data["now"] == "2026-02-04T01:30:00Z"
    assert data["breached"] == []


def test_report_is_frozen() -> None:
    with pytest.raises(AttributeError):
        REPORT.now = NOW  # type: ignore[misc]
    assert isinstance(REPORT, Report)


def test_a_withdrawn_release_still_counts_from_the_audit_trail() -> None:
    # A rollback removes `released/v1.4.1`, but the fix did reach users with it.
    state = TicketState(number=7, audit=(AuditEntry(h(20), "lts-bot[bot]", "released", "v1.4.1"),))
    facts = ticket_facts(7, "Crash", h(0), None, ["severity/high"], state)
    assert facts.released == (("1.4", "v1.4.1"),)
