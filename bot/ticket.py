"""The state of one LTS ticket: what labels index and the status comment records."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]
Decision = Literal["backport", "defer", "reject"]
YesNo = Literal["yes", "no"]
Effort = Literal["small", "medium", "large"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
DECISIONS: tuple[Decision, ...] = ("backport", "defer", "reject")

# Labels the bot owns. A label under one of these prefixes is state, not decoration:
# set by hand it is either accepted as if the command had been used, or reverted.
SEVERITY_PREFIX = "severity/"
AFFECTS_PREFIX = "affects/"
TRIAGE_PREFIX = "triage/"
BACKPORT_PREFIX = "backport/"
OWNED_PREFIXES = (SEVERITY_PREFIX, AFFECTS_PREFIX, TRIAGE_PREFIX, BACKPORT_PREFIX)
SECURITY_LABEL = "security"
REGRESSION_LABEL = "regression"
NEEDS_INFO_LABEL = "needs-info"
SLA_PAUSED_LABEL = "sla/paused"
# Set by the bot when a clock's deadline passed; never read as state.
SLA_BREACHED_LABEL = "sla/breached"
# Set by the bot, never read as state: the ticket's fix is merged into line X.Y.
BACKPORTED_PREFIX = "backported/"
# On an original PR whose cherry-pick onto line X.Y conflicted.
BACKPORT_CONFLICT_PREFIX = "backport-conflict/"

# Issues the bot opens for the process itself (release tracking, incidents, reports,
# post-facto audits): never LTS tickets, so never triaged.
TRACKING_LABEL = "lts/release"
INCIDENT_LABEL = "lts/incident"
REPORT_LABEL = "lts/report"
AUDIT_LABEL = "lts/audit"
PROCESS_LABELS = frozenset({TRACKING_LABEL, INCIDENT_LABEL, REPORT_LABEL, AUDIT_LABEL})
# On a ticket whose fix shipped in release X.Y.Z (the tag's version).
RELEASED_PREFIX = "released/"

BackportStatus = Literal[
    "requested", "open", "merged", "conflict", "already-in", "failed", "declined"
]
BACKPORT_STATUSES: tuple[BackportStatus, ...] = (
    "requested",
    "open",
    "merged",
    "conflict",
    "already-in",
    "failed",
    "declined",
)


@dataclass(frozen=True)
class Checklist:
    """The seed's triage checklist; None = not answered yet."""

    reproduced: YesNo | None = None
    exploit: YesNo | None = None
    workaround: YesNo | None = None
    api_change: YesNo | None = None
    effort: Effort | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One state transition: who did what, when and why (the seed's audit trail)."""

    at: datetime
    actor: str
    action: str
    detail: str = ""


@dataclass(frozen=True)
class PauseSpan:
    """An SLA pause: `/sla pause <reason>` until `/sla resume` (end None = still paused)."""

    start: datetime
    end: datetime | None
    reason: str = ""


@dataclass(frozen=True)
class BackportEntry:
    """One cell of the backport matrix: the fix from PR `source` on line `line`."""

    line: str
    source: int
    status: BackportStatus
    # The backport PR, once there is one.
    pr: int | None = None
    # Why (a failure's reason, conflicting files) or what (the release it shipped in).
    detail: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class TicketState:
    """Everything the bot knows about a ticket beyond what GitHub stores natively.

    Labels carry severity, affected lines, decision, backport targets and flags, so they
    can be searched; the status comment carries this whole record (as signed JSON) plus a
    rendering for people. Versions are "X.Y" strings, as in `.github/lts.yml`.
    """

    number: int
    severity: Severity | None = None
    severity_set_at: datetime | None = None
    affects: tuple[str, ...] = ()
    decision: Decision | None = None
    decision_reason: str = ""
    decided_at: datetime | None = None
    # When the first backport target was planned: the plan clock stops there.
    planned_at: datetime | None = None
    backport: tuple[str, ...] = ()
    security: bool = False
    regression: bool = False
    cve: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()
    package_versions: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()
    checklist: Checklist = field(default_factory=Checklist)
    owner: str | None = None
    pauses: tuple[PauseSpan, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    # Older audit entries folded away to keep the comment under GitHub's size limit.
    audit_folded: int = 0
    # The backport matrix: one entry per (line, original PR), in the order they were made.
    backports: tuple[BackportEntry, ...] = ()
    # Merged PRs that fix this ticket: a line planned later is backported from these.
    fixes: tuple[int, ...] = ()
    # Reminders already posted, as "<clock>:<kind>" ("triage:remind", "plan:breach"):
    # recorded before posting, so none is posted twice whatever runs the sweep.
    reminders: tuple[str, ...] = ()

    def with_audit(self, entry: AuditEntry) -> TicketState:
        return replace(self, audit=(*self.audit, entry))

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    def labels(self) -> frozenset[str]:
        """The labels this state implies among those the bot owns."""
        out: set[str] = set()
        if self.severity:
            out.add(SEVERITY_PREFIX + self.severity)
        out.update(AFFECTS_PREFIX + "v" + v for v in self.affects)
        if self.decision:
            out.add(TRIAGE_PREFIX + self.decision)
        out.update(BACKPORT_PREFIX + "v" + v for v in self.backport)
        if self.security:
            out.add(SECURITY_LABEL)
        if self.regression:
            out.add(REGRESSION_LABEL)
        if self.missing_fields:
            out.add(NEEDS_INFO_LABEL)
        if self.paused:
            out.add(SLA_PAUSED_LABEL)
        return frozenset(out)


def is_owned_label(name: str) -> bool:
    """Whether the bot manages this label (prefixes, flags and its own markers)."""
    return name.startswith(OWNED_PREFIXES) or name in (
        SECURITY_LABEL,
        REGRESSION_LABEL,
        NEEDS_INFO_LABEL,
        SLA_PAUSED_LABEL,
    )


def is_process_issue(labels: object) -> bool:
    """Whether an issue's labels (names or label objects) mark one the bot opened itself."""
    names: set[str] = set()
    if isinstance(labels, list | tuple | set | frozenset):
        for label in labels:
            name = label.get("name") if isinstance(label, dict) else label
            if isinstance(name, str):
                names.add(name)
    return bool(names & PROCESS_LABELS)
