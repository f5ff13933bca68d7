"""LTS process metrics per line and severity, from tickets' records and GitHub's timestamps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.policies.sla import format_deadline
from bot.ticket import (
    BACKPORT_PREFIX,
    RELEASED_PREFIX,
    SEVERITIES,
    SEVERITY_PREFIX,
    SLA_BREACHED_LABEL,
    BackportStatus,
    Severity,
    TicketState,
)

__all__ = [
    "BREACH_CLOCKS",
    "JSON_VERSION",
    "MARKDOWN_LIMIT",
    "NO_SEVERITY",
    "BackportOutcome",
    "BackportStats",
    "BreachClock",
    "BreachedTicket",
    "Breaches",
    "Durations",
    "GroupKind",
    "GroupStats",
    "ReleaseFacts",
    "ReleaseStats",
    "Report",
    "TicketFacts",
    "build_report",
    "format_hours",
    "percentile",
    "render_markdown",
    "ticket_facts",
    "to_json",
]

BreachClock = Literal["triage", "plan", "release", "unknown"]
BREACH_CLOCKS: tuple[BreachClock, ...] = ("triage", "plan", "release", "unknown")
GroupKind = Literal["all", "severity", "line"]
# The severity group of tickets nobody has given a severity yet.
NO_SEVERITY = "none"
# Bumped when a key of `to_json` changes meaning or goes away; new keys do not bump it.
JSON_VERSION = 1
# GitHub refuses an issue or comment body over 65,536 characters; the margin leaves the
# caller room for a marker or a header of its own.
MARKDOWN_LIMIT = 60_000
# Breached tickets listed by number in the Markdown; the JSON lists them all.
_MAX_BREACHED_LISTED = 50

_KNOWN_CLOCKS: dict[str, BreachClock] = {"triage": "triage", "plan": "plan", "release": "release"}
# Set on a ticket when a release carries its fix: `released/vX.Y.Z` or `released/vX.Y.Z-lts`
# (the two tag formats `.github/lts.yml` allows).
_RELEASED_RE = re.compile(re.escape(RELEASED_PREFIX) + r"(v(\d+)\.(\d+)\.\d+(?:-lts)?)", re.ASCII)
_BACKPORT_LABEL_RE = re.compile(re.escape(BACKPORT_PREFIX) + r"v(\d+\.\d+)", re.ASCII)
# How bot/handlers/backports.py writes a backport's audit detail: "v1.4 from #12",
# optionally followed by ": #30" (the backport PR) and " (conflicting files...)". Only this
# head is read: the files in the parentheses may contain anything, "v1.4" included.
_AUDIT_DETAIL_RE = re.compile(r"v(\d+\.\d+) from #(\d+)(?![0-9])", re.ASCII)
_CONFLICT_ACTION = "backport conflict"


# --- the inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class BackportOutcome:
    """One cell of a ticket's backport matrix: did the cherry-pick onto `line` conflict."""

    line: str
    source: int
    # Conflicted at any time, even if the backport was then made by hand and merged.
    conflicted: bool
    status: BackportStatus


@dataclass(frozen=True)
class TicketFacts:
    """What the report needs to know of one ticket; times are timezone-aware."""

    number: int
    title: str
    created_at: datetime
    closed_at: datetime | None
    severity: Severity | None
    # Planned lines, "X.Y", in version order.
    lines: tuple[str, ...]
    triaged_at: datetime | None
    planned_at: datetime | None
    # (line "X.Y", tag) from the ticket's `released/vX.Y.Z` labels.
    released: tuple[tuple[str, str], ...]
    # The clocks whose deadline passed, in BREACH_CLOCKS order.
    breaches: tuple[BreachClock, ...]
    backports: tuple[BackportOutcome, ...]


@dataclass(frozen=True)
class ReleaseFacts:
    """One published release of a line; `withdrawn_at` is set once it was rolled back."""

    tag: str
    line: str
    published_at: datetime
    withdrawn_at: datetime | None


def ticket_facts(
    number: int,
    title: str,
    created_at: datetime,
    closed_at: datetime | None,
    labels: Iterable[str],
    state: TicketState | None,
) -> TicketFacts:
    """The facts of one ticket, from its status-comment record and its labels.

    The record wins where it has a value; labels fill in what it lacks (no status
    comment yet, or a hand-set label the bot has not reconciled): a severity from
    `severity/X` (the most severe if several), lines from `backport/vX.Y`, and a breach of
    an "unknown" clock from `sla/breached` when no recorded reminder says which clock.
    Times only come from the record: labels carry none.
    """
    names = frozenset(labels)
    severity = state.severity if state is not None else None
    if severity is None:
        severity = next((s for s in SEVERITIES if SEVERITY_PREFIX + s in names), None)
    lines = state.backport if state is not None else ()
    if not lines:
        lines = tuple(m[1] for name in names if (m := _BACKPORT_LABEL_RE.fullmatch(name)))
    return TicketFacts(
        number=number,
        title=title,
        created_at=created_at,
        closed_at=closed_at,
        severity=severity,
        lines=_by_version(lines),
        # Triaged means decided: the triage decision is where the triage SLA clock stops
        # (see policies/reminders.clocks_of and the status comment), and where the plan
        # clock starts, so time-to-triage and time-to-plan meet there. The severity alone
        # starts the triage clock rather than stopping it, and `severity_set_at` moves on
        # every change of severity, so it says little about when triage was done.
        triaged_at=state.decided_at if state is not None else None,
        planned_at=state.planned_at if state is not None else None,
        # A withdrawn release loses its label but stays in the audit trail: the fix did
        # reach users with it, and time to release counts from the first delivery.
        released=_released(
            [
                *names,
                *(
                    RELEASED_PREFIX + e.detail
                    for e in (state.audit if state is not None else ())
                    if e.action == "released"
                ),
            ]
        ),
        breaches=_breaches(
            state.reminders if state is not None else (), SLA_BREACHED_LABEL in names
        ),
        backports=_outcomes(state) if state is not None else (),
    )


def _version_key(version: str) -> tuple[int, tuple[int, ...], str]:
    """Numeric order, "1.10" after "1.9"; anything not numeric last, by its text."""
    parts = version.split(".")
    if all(p.isascii() and p.isdigit() for p in parts):
        return (0, tuple(int(p) for p in parts), version)
    return (1, (), version)


def _by_version(lines: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(lines), key=_version_key))


def _released(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    # The line as ReleaseVersion.line writes it, so that it meets ReleaseFacts.line.
    found = {
        (f"{int(m[2])}.{int(m[3])}", m[1]) for name in names if (m := _RELEASED_RE.fullmatch(name))
    }
    return tuple(sorted(found, key=lambda lt: (_version_key(lt[0]), _tag_key(lt[1]))))


def _tag_key(tag: str) -> tuple[tuple[int, tuple[int, ...], str], str]:
    return (_version_key(tag.removeprefix("v").removesuffix("-lts")), tag)


def _breaches(reminders: Iterable[str], labelled: bool) -> tuple[BreachClock, ...]:
    found: set[BreachClock] = set()
    for key in reminders:
        clock, _, kind = key.rpartition(":")
        if kind == "breach":
            found.add(_KNOWN_CLOCKS.get(clock, "unknown"))
    if not found and labelled:
        found.add("unknown")
    return tuple(c for c in BREACH_CLOCKS if c in found)


def _outcomes(state: TicketState) -> tuple[BackportOutcome, ...]:
    # A conflict is matched on line and original PR alike: two fixes of one ticket can be
    # picked onto the same line, and only the one that conflicted counts. Audit entries
    # folded away (`audit_folded`) are lost; a cell still in "conflict" is found anyway.
    conflicts = {
        (m[1], int(m[2]))
        for entry in state.audit
        if entry.action == _CONFLICT_ACTION and (m := _AUDIT_DETAIL_RE.match(entry.detail))
    }
    return tuple(
        BackportOutcome(
            b.line, b.source, b.status == "conflict" or (b.line, b.source) in conflicts, b.status
        )
        for b in state.backports
    )


# --- the figures -------------------------------------------------------------------------


def percentile(values: Iterable[float], percent: int) -> float:
    """The `percent`th percentile by nearest rank: the ⌈percent·n/100⌉th smallest of n values.

    Always one of the values, never an interpolation: the median (50) of two values is
    the smaller, the 90th percentile of ten is the ninth smallest, of one value that value.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("the percentile of no values is undefined")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    # Integer ceiling division: no float rounding can move the rank.
    rank = -(-percent * len(ordered) // 100)
    return ordered[rank - 1]


@dataclass(frozen=True)
class Durations:
    """Spans in hours: how many, their median and 90th percentile (None when none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, hours: Iterable[float]) -> Durations:
        values = list(hours)
        if not values:
            return cls()
        return cls(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class Breaches:
    """SLA deadlines passed: tickets with any, and breaches by clock."""

    tickets: int = 0
    triage: int = 0
    plan: int = 0
    release: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.triage + self.plan + self.release + self.unknown

    def by_clock(self) -> tuple[tuple[BreachClock, int], ...]:
        return (
            ("triage", self.triage),
            ("plan", self.plan),
            ("release", self.release),
            ("unknown", self.unknown),
        )


@dataclass(frozen=True)
class ReleaseStats:
    """Releases published, how many were withdrawn (rolled back), and how soon."""

    published: int
    withdrawn: int
    time_to_rollback: Durations

    @property
    def rollback_rate(self) -> float | None:
        return self.withdrawn / self.published if self.published else None


@dataclass(frozen=True)
class BackportStats:
    """Backport matrix cells, and how many of them conflicted."""

    outcomes: int = 0
    conflicts: int = 0

    @property
    def conflict_rate(self) -> float | None:
        return self.conflicts / self.outcomes if self.outcomes else None


@dataclass(frozen=True)
class GroupStats:
    """The figures of one group of tickets: all, one severity, or one line."""

    kind: GroupKind
    # "all"; a severity or "none"; a line "X.Y".
    key: str
    tickets: int
    triaged: int
    planned: int
    # Tickets with a release label (on this group's line, for a line).
    released: int
    open: int
    time_to_triage: Durations
    time_to_plan: Durations
    time_to_release: Durations
    breaches: Breaches
    # None for a severity: a release ships fixes of every severity, so its rollback
    # belongs to no one of them.
    releases: ReleaseStats | None
    backports: BackportStats


@dataclass(frozen=True)
class BreachedTicket:
    number: int
    title: str
    clocks: tuple[BreachClock, ...]


@dataclass(frozen=True)
class Report:
    """The metrics of the tickets opened, and releases published, from `since` on."""

    since: datetime | None
    now: datetime
    # "all", then each severity and "none", then each line in version order.
    groups: tuple[GroupStats, ...]
    # Tickets in the window that breached a deadline, by number.
    breached: tuple[BreachedTicket, ...]

    def group(self, key: str) -> GroupStats:
        for group in self.groups:
            if group.key == key:
                return group
        raise KeyError(key)


def _hours(start: datetime, end: datetime) -> float | None:
    """`end - start` in hours; None when the end comes first, which measures nothing."""
    seconds = (end - start).total_seconds()
    return seconds / 3600 if seconds >= 0 else None


def _spans(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> list[float]:
    out: list[float] = []
    for start, end in pairs:
        if start is not None and end is not None and (h := _hours(start, end)) is not None:
            out.append(h)
    return out


def _release_hours(ticket: TicketFacts, by_tag: dict[str, ReleaseFacts]) -> dict[str, float]:
    """Hours from the ticket's creation to the first release of its fix, per line."""
    first: dict[str, datetime] = {}
    for line, tag in ticket.released:
        release = by_tag.get(tag)
        if release is None:
            continue
        # Re-released after a rollback: the fix first reached users with the earlier one.
        if line not in first or release.published_at < first[line]:
            first[line] = release.published_at
    return {
        line: h for line, at in first.items() if (h := _hours(ticket.created_at, at)) is not None
    }


def _group(
    kind: GroupKind,
    key: str,
    members: Sequence[TicketFacts],
    *,
    released: int,
    release_hours: Iterable[float],
    releases: Sequence[ReleaseFacts] | None,
    outcomes: Sequence[BackportOutcome],
    now: datetime,
) -> GroupStats:
    def breached(clock: BreachClock) -> int:
        return sum(clock in t.breaches for t in members)

    release_stats = None
    if releases is not None:
        withdrawn = [r for r in releases if r.withdrawn_at is not None]
        release_stats = ReleaseStats(
            published=len(releases),
            withdrawn=len(withdrawn),
            time_to_rollback=Durations.of(
                _spans((r.published_at, r.withdrawn_at) for r in withdrawn)
            ),
        )
    return GroupStats(
        kind=kind,
        key=key,
        tickets=len(members),
        triaged=sum(t.triaged_at is not None for t in members),
        planned=sum(t.planned_at is not None for t in members),
        released=released,
        open=sum(t.closed_at is None or t.closed_at > now for t in members),
        time_to_triage=Durations.of(_spans((t.created_at, t.triaged_at) for t in members)),
        time_to_plan=Durations.of(_spans((t.triaged_at, t.planned_at) for t in members)),
        time_to_release=Durations.of(release_hours),
        breaches=Breaches(
            tickets=sum(bool(t.breaches) for t in members),
            triage=breached("triage"),
            plan=breached("plan"),
            release=breached("release"),
            unknown=breached("unknown"),
        ),
        releases=release_stats,
        backports=BackportStats(len(outcomes), sum(o.conflicted for o in outcomes)),
    )


def build_report(
    tickets: Sequence[TicketFacts],
    releases: Sequence[ReleaseFacts],
    *,
    since: datetime | None,
    now: datetime,
) -> Report:
    """The metrics of the tickets opened and the releases published at or after `since`.

    `since` None takes everything. A ticket's release is found by its tag among
    `releases`; a tag without its ReleaseFacts is skipped. A ticket counts on a line when
    it plans that line or was released on it.
    """
    chosen = [t for t in tickets if since is None or t.created_at >= since]
    published = [r for r in releases if since is None or r.published_at >= since]
    by_tag: dict[str, ReleaseFacts] = {}
    for release in releases:
        known = by_tag.get(release.tag)
        if known is None or release.published_at < known.published_at:
            by_tag[release.tag] = release
    # Per ticket, in `chosen` order: hours to its first release on each line.
    timed = [(t, _release_hours(t, by_tag)) for t in chosen]

    groups = [
        _group(
            "all",
            "all",
            chosen,
            released=sum(bool(t.released) for t in chosen),
            release_hours=[h for _, hours in timed for h in hours.values()],
            releases=published,
            outcomes=[o for t in chosen for o in t.backports],
            now=now,
        )
    ]
    for severity in (*SEVERITIES, NO_SEVERITY):
        members = [t for t in chosen if (t.severity or NO_SEVERITY) == severity]
        groups.append(
            _group(
                "severity",
                severity,
                members,
                released=sum(bool(t.released) for t in members),
                release_hours=[
                    h
                    for t, hours in timed
                    if (t.severity or NO_SEVERITY) == severity
                    for h in hours.values()
                ],
                releases=None,
                outcomes=[o for t in members for o in t.backports],
                now=now,
            )
        )
    lines = _by_version(
        [
            *(line for t in chosen for line in t.lines),
            *(line for t in chosen for line, _ in t.released),
            *(o.line for t in chosen for o in t.backports),
            *(r.line for r in published),
        ]
    )
    for line in lines:
        members = [t for t in chosen if line in t.lines or any(lr == line for lr, _ in t.released)]
        groups.append(
            _group(
                "line",
                line,
                members,
                released=sum(any(lr == line for lr, _ in t.released) for t in members),
                release_hours=[hours[line] for _, hours in timed if line in hours],
                releases=[r for r in published if r.line == line],
                outcomes=[o for t in chosen for o in t.backports if o.line == line],
                now=now,
            )
        )
    breached = tuple(
        BreachedTicket(t.number, t.title, t.breaches)
        for t in sorted(chosen, key=lambda t: t.number)
        if t.breaches
    )
    return Report(since=since, now=now, groups=tuple(groups), breached=breached)


# --- Markdown ----------------------------------------------------------------------------

_NONE = "—"
_NA = "n/a"
_LEGEND = (
    "Times: median / 90th percentile (how many were measured). "
    f"{_NONE}: no data; {_NA}: not applicable."
)

_FOOTNOTE = """\
## How these are measured

- Tickets are the LTS issues opened in the window; releases those published in it. Times
  are wall-clock, from GitHub's timestamps and the bot's record of each ticket: SLA
  pauses, weekends and holidays count, unlike on the SLA clocks.
- **Time to triage**: from the issue's creation to its triage decision (`/triage`), where
  the triage clock stops. **Time to plan**: from that decision to the first backport
  target (`/backport vX.Y`). **Time to release**: from the issue's creation to the first
  publication of a release it is labelled with (`released/vX.Y.Z`), once per line.
  **Time to rollback**: from a release's publication to its withdrawal.
- Times show the median / 90th percentile (how many). Both are nearest-rank: of n sorted
  values, the one at rank ⌈p·n/100⌉, so always a measured value. A span that would end
  before it starts is left out.
- **SLA breaches**: deadlines passed, as recorded when the breach was announced; a
  ticket labelled `sla/breached` with no such record counts one of an unknown clock.
- **Rollback rate**: releases withdrawn out of releases published. **Backport conflict
  rate**: cells of the backport matrices (one per line and original PR) whose
  cherry-pick conflicted, even if the backport was then made by hand.
- A ticket counts on every line it plans or was released on; releases and rollbacks
  are per line, not per severity (n/a).
"""


def format_hours(hours: float | None) -> str:
    """A duration for people: "3.5 h", or days above 48 hours ("2.1 d"); "—" for none."""
    if hours is None:
        return _NONE
    if hours > 48:
        return f"{hours / 24:.1f} d"
    return f"{hours:.1f} h"


def _durations(d: Durations | None) -> str:
    if d is None:
        return _NA
    if d.median is None or d.p90 is None:
        return _NONE
    return f"{format_hours(d.median)} / {format_hours(d.p90)} ({d.count})"


def _rate(part: int, whole: int, rate: float | None) -> str:
    return _NONE if rate is None else f"{rate:.1%} ({part} of {whole})"


def _breach_cell(b: Breaches) -> str:
    if not b.total:
        return "0"
    clocks = ", ".join(f"{clock} {n}" for clock, n in b.by_clock() if n)
    return f"{b.total} ({clocks})"


def _name(group: GroupStats) -> str:
    if group.kind == "all":
        return "All tickets"
    if group.kind == "line":
        return f"v{group.key}"
    return "no severity" if group.key == NO_SEVERITY else group.key


def _tables(groups: Sequence[GroupStats]) -> list[str]:
    out = [
        "| Group | Time to triage | Time to plan | Time to release | Time to rollback |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in groups:
        to_rollback = g.releases.time_to_rollback if g.releases is not None else None
        out.append(
            f"| {_name(g)} | {_durations(g.time_to_triage)} | {_durations(g.time_to_plan)} "
            f"| {_durations(g.time_to_release)} | {_durations(to_rollback)} |"
        )
    out += [
        "",
        "| Group | Tickets | Open | Triaged | Planned | Released | SLA breaches "
        "| Releases | Rollback rate | Backport conflict rate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for g in groups:
        r = g.releases
        published = _NA if r is None else str(r.published)
        rollback = _NA if r is None else _rate(r.withdrawn, r.published, r.rollback_rate)
        b = g.backports
        conflicts = _rate(b.conflicts, b.outcomes, b.conflict_rate)
        out.append(
            f"| {_name(g)} | {g.tickets} | {g.open} | {g.triaged} | {g.planned} "
            f"| {g.released} | {_breach_cell(g.breaches)} | {published} | {rollback} "
            f"| {conflicts} |"
        )
    return out


def _window(report: Report) -> str:
    now = format_deadline(report.now)
    if report.since is None:
        return f"All tickets and releases up to {now}."
    return f"Tickets opened and releases published from {format_deadline(report.since)} to {now}."


def _render(report: Report, repo: str, lines_shown: int) -> str:
    by_kind = {
        kind: [g for g in report.groups if g.kind == kind] for kind in ("all", "severity", "line")
    }
    out = [f"# LTS process report for {repo}", "", _window(report), "", _LEGEND, ""]
    out += ["## All tickets", "", *_tables(by_kind["all"]), ""]
    out += ["## By severity", "", *_tables(by_kind["severity"]), ""]
    lines = by_kind["line"]
    out += ["## By line", ""]
    if not lines:
        out += ["No line has a ticket or a release in this window.", ""]
    else:
        # The newest lines are kept: older ones are the likeliest to be out of support.
        shown = lines[len(lines) - lines_shown :] if lines_shown else []
        if shown:
            out += [*_tables(shown), ""]
        if len(shown) < len(lines):
            omitted = len(lines) - len(shown)
            out += [f"{omitted} older lines are left out here for length; see the JSON.", ""]
    out += ["## SLA breaches", ""]
    if not report.breached:
        out += ["No ticket in this window breached a deadline.", ""]
    else:
        for ticket in report.breached[:_MAX_BREACHED_LISTED]:
            out.append(f"- #{ticket.number}: {', '.join(ticket.clocks)}")
        if len(report.breached) > _MAX_BREACHED_LISTED:
            out.append(f"- … and {len(report.breached) - _MAX_BREACHED_LISTED} more")
        out.append("")
    out.append(_FOOTNOTE)
    return "\n".join(out)


def render_markdown(report: Report, *, repo: str) -> str:
    """The report as an issue body, at most MARKDOWN_LIMIT characters.

    One section per kind of group (all, by severity, by line), each a table of times and
    a table of counts, one row per group; then the breached tickets and how each figure
    is measured. Past the limit, the oldest lines' rows are left out, and said so.
    """
    total = sum(g.kind == "line" for g in report.groups)
    body = _render(report, repo, total)
    if len(body) <= MARKDOWN_LIMIT:
        return body
    # The most lines that fit: the body only grows with the lines shown.
    lo, hi = 0, total - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_render(report, repo, mid)) <= MARKDOWN_LIMIT:
            lo = mid
        else:
            hi = mid - 1
    return _render(report, repo, lo)


# --- JSON --------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _durations_json(d: Durations) -> dict[str, object]:
    return {"count": d.count, "median_hours": d.median, "p90_hours": d.p90}


def _group_json(g: GroupStats) -> dict[str, object]:
    r = g.releases
    breaches: dict[str, int] = {"tickets": g.breaches.tickets}
    breaches.update(g.breaches.by_clock())
    return {
        "kind": g.kind,
        "key": g.key,
        "tickets": {
            "total": g.tickets,
            "triaged": g.triaged,
            "planned": g.planned,
            "released": g.released,
            "open": g.open,
        },
        "time_to_triage": _durations_json(g.time_to_triage),
        "time_to_plan": _durations_json(g.time_to_plan),
        "time_to_release": _durations_json(g.time_to_release),
        "sla_breaches": breaches,
        "releases": None
        if r is None
        else {
            "published": r.published,
            "withdrawn": r.withdrawn,
            "rollback_rate": r.rollback_rate,
            "time_to_rollback": _durations_json(r.time_to_rollback),
        },
        "backports": {
            "outcomes": g.backports.outcomes,
            "conflicts": g.backports.conflicts,
            "conflict_rate": g.backports.conflict_rate,
        },
    }


def to_json(report: Report) -> dict[str, object]:
    """The report as JSON-ready data, for export and for charts.

    Keys are always present, in this order; a figure without data is null::

        version: 1 (JSON_VERSION)
        since: "2026-01-05T00:00:00Z" | null (all time); now: "...Z"
        groups: [{
            kind: "all" | "severity" | "line"
            key: "all" | "critical" | "high" | "medium" | "low" | "none" | "X.Y"
            tickets: {total, triaged, planned, released, open}
            time_to_triage, time_to_plan, time_to_release:
                {count, median_hours, p90_hours}  (hours unrounded; null when count is 0)
            sla_breaches: {tickets, triage, plan, release, unknown}
            releases: {published, withdrawn, rollback_rate, time_to_rollback}
                      | null (severity groups: not applicable)
            backports: {outcomes, conflicts, conflict_rate}
        }, ...]  (all, the four severities and none, the lines in version order)
        breached: [{number, title, clocks: ["triage" | "plan" | "release" | "unknown"]}]

    Rates are fractions in [0, 1], null when their denominator is 0.
    """
    return {
        "version": JSON_VERSION,
        "since": _iso(report.since),
        "now": _iso(report.now),
        "groups": [_group_json(g) for g in report.groups],
        "breached": [
            {"number": t.number, "title": t.title, "clocks": list(t.clocks)}
            for t in report.breached
        ],
    }
