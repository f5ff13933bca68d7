"""The reconciling sweep: finds what missed events left undone and queues it as work items."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import gidgethub
import structlog

from bot.config import RepoConfig, SlaConfig
from bot.dispatch import Services, github_time
from bot.github.client import GitHubPort
from bot.policies import backport
from bot.policies.sla import SlaClock, plan_clock, release_clock, triage_clock
from bot.queue import Delivery, WorkQueue
from bot.ticket import (
    BACKPORT_PREFIX,
    BACKPORTED_PREFIX,
    SEVERITIES,
    SEVERITY_PREFIX,
    SLA_PAUSED_LABEL,
    TRACKING_LABEL,
    TRIAGE_PREFIX,
    Severity,
)

__all__ = ["SWEEP_EVENT", "SweepItem", "SweepReport", "Sweeper", "quiet_until"]

log = structlog.get_logger("bot.sweep")

# Work items the sweep queues travel the same path as webhooks, under this event name.
SWEEP_EVENT = "lts_sweep"
ItemKind = Literal["ticket", "pr", "fix", "release"]
# What one queued item costs, roughly, in API calls: the budget check spends these ahead.
_COST: dict[ItemKind, int] = {"ticket": 6, "pr": 12, "fix": 40, "release": 30}
# A first sweep looks this far back for merged fixes that never got their backports.
FIRST_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class SweepItem:
    """One thing to look at again, and why."""

    repo: str
    installation: int
    default_branch: str
    kind: ItemKind
    number: int
    reason: str
    updated_at: str = ""

    def delivery(self) -> Delivery:
        subject = "pull_request" if self.kind in ("pr", "fix") else "issue"
        return Delivery(
            id=f"sweep-{uuid.uuid4()}",
            event=SWEEP_EVENT,
            payload={
                "action": self.kind,
                "installation": {"id": self.installation},
                "repository": {"full_name": self.repo, "default_branch": self.default_branch},
                subject: {"number": self.number},
            },
        )


@dataclass
class SweepReport:
    """What one sweep looked at and what it queued (or would have, in a dry run)."""

    repos: list[str] = field(default_factory=list)
    tickets: int = 0
    prs: int = 0
    merged: int = 0
    items: list[SweepItem] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def lines(self, *, dry_run: bool) -> list[str]:
        verb = "would look at" if dry_run else "queued"
        out = [
            f"swept {len(self.repos)} repositories: {self.tickets} open tickets, "
            f"{self.prs} open LTS pull requests, {self.merged} recently merged fixes",
            f"{verb} {len(self.items)} items",
        ]
        out += [f"  {i.repo}#{i.number} ({i.kind}): {i.reason}" for i in self.items]
        out += [f"  deferred to the next sweep: {d}" for d in self.deferred]
        out += [f"  error: {e}" for e in self.errors]
        return out


@dataclass
class _Seen:
    updated_at: str
    # Nothing can be due before this time unless the issue or PR changes.
    quiet_until: datetime | None


class Sweeper:
    """Lists each repository's open work with a few calls and queues what may need action.

    Tickets are picked by what their labels and timestamps allow (a clock that could be
    near its deadline), PRs into LTS lines by a change since they were last judged, and
    merged fixes by their merge time. The handlers then decide from GitHub's full state,
    exactly as for a webhook. What was looked at is remembered in this process, so an
    idle sweep costs its listings alone, and those are mostly 304s.
    """

    def __init__(self, services: Services, *, budget: float = 0.1) -> None:
        self.services = services
        self.budget = budget
        self._seen: dict[tuple[str, str, int], _Seen] = {}
        self._last: dict[str, datetime] = {}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.services.clock.time(), tz=UTC)

    def note(
        self, repo: str, kind: str, number: int, updated_at: str, quiet_until: datetime | None
    ) -> None:
        """A handler judged this issue or PR: skip it until it changes or `quiet_until`."""
        self._seen[(repo, kind, number)] = _Seen(updated_at, quiet_until)

    async def plan(self, *, only_repo: str | None = None) -> SweepReport:
        report = SweepReport()
        app = self.services.github.app()
        try:
            installations = [i async for i in app.iterate("/app/installations", iterable_key="")]
        except gidgethub.GitHubException as exc:
            report.errors.append(f"listing installations: {exc}")
            return report
        for installation in installations:
            await self._installation(int(installation["id"]), report, only_repo)
        return report

    async def _installation(self, installation: int, report: SweepReport, only: str | None) -> None:
        gh = self.services.github.installation(installation)
        try:
            limit, remaining = await self._limit(gh)
            # Never more than the budget's share, and never the last half of what is left:
            # webhooks need calls too. Low on calls, the sweep waits for the next run.
            allowance = min(int(limit * self.budget), remaining // 2)
            spent = 0
            async for repository in gh.iterate(
                "/installation/repositories", iterable_key="repositories"
            ):
                full = str(repository["full_name"])
                if only is not None and full.lower() != only.lower():
                    continue
                if repository.get("archived"):
                    continue
                if spent >= allowance:
                    report.deferred.append(f"{full}: this sweep's share of the rate limit is spent")
                    continue
                report.repos.append(full)
                spent += await self._repo(gh, installation, repository, report, allowance - spent)
        except gidgethub.GitHubException as exc:
            report.errors.append(f"installation {installation}: {exc}")

    async def _limit(self, gh: GitHubPort) -> tuple[int, int]:
        """The installation's hourly limit and what is left of it (GET /rate_limit is free)."""
        data = await gh.get("/rate_limit")
        core = (data.get("resources") or {}).get("core") or data.get("rate") or {}
        limit = int(core.get("limit") or 5000)
        return limit, int(core.get("remaining", limit))

    async def _repo(
        self,
        gh: GitHubPort,
        installation: int,
        repository: dict[str, Any],
        report: SweepReport,
        allowance: int,
    ) -> int:
        full = str(repository["full_name"])
        owner, repo = full.split("/", 1)
        default = str(repository.get("default_branch") or "main")
        result = await self.services.configs.load(gh, owner, repo, default)
        if result.error is not None:
            return 1  # lts/config reports it; nothing is decided under a broken policy
        config = result.config
        now = self.now()
        items: list[SweepItem] = []

        def item(kind: ItemKind, number: int, reason: str, updated_at: str) -> None:
            seen = self._seen.get((full, kind, number))
            if (
                seen is not None
                and seen.updated_at == updated_at
                and (seen.quiet_until is None or now < seen.quiet_until)
            ):
                return
            items.append(SweepItem(full, installation, default, kind, number, reason, updated_at))

        async for issue in gh.iterate(
            f"/repos/{owner}/{repo}/issues", params={"state": "open", "sort": "updated"}
        ):
            if issue.get("pull_request"):
                continue
            if any(label.get("name") == TRACKING_LABEL for label in issue.get("labels") or []):
                # A release being staged or watched: its checklist and window need time.
                item("release", int(issue["number"]), "release tracking", str(issue["updated_at"]))
                continue
            report.tickets += 1
            reason = _ticket_reason(issue, config, now)
            if reason:
                item("ticket", int(issue["number"]), reason, str(issue.get("updated_at")))
        lines = {line.branch for line in config.lines}
        async for pr in gh.iterate(
            f"/repos/{owner}/{repo}/pulls", params={"state": "open", "sort": "updated"}
        ):
            if str(pr["base"]["ref"]) not in lines:
                continue
            report.prs += 1
            item("pr", int(pr["number"]), "judged again if it changed", str(pr.get("updated_at")))
        since = self._last.get(full, now - FIRST_LOOKBACK)
        async for pr in gh.iterate(
            f"/repos/{owner}/{repo}/pulls",
            params={"state": "closed", "base": default, "sort": "updated", "direction": "desc"},
        ):
            if github_time(pr.get("updated_at"), now) < since:
                break
            if not pr.get("merged_at") or github_time(pr.get("merged_at"), now) < since:
                continue
            report.merged += 1
            if _asks_for_backports(pr, full):
                item(
                    "fix",
                    int(pr["number"]),
                    "merged fix: backports made?",
                    str(pr.get("updated_at")),
                )
        self._last[full] = now
        cost = 0
        for found in items:
            if cost + _COST[found.kind] > allowance:
                report.deferred.append(f"{full}#{found.number}: over this sweep's share")
                continue
            cost += _COST[found.kind]
            report.items.append(found)
        return cost + 4

    def enqueue(self, report: SweepReport, queue: WorkQueue) -> int:
        """Queue the report's items; each runs like a webhook for that issue or PR."""
        queued = 0
        for found in report.items:
            if queue.offer(found.delivery()) == "accepted":
                queued += 1
        return queued


def _severity(labels: Iterable[str]) -> Severity | None:
    for name in SEVERITIES:
        if SEVERITY_PREFIX + name in labels:
            return name
    return None


def _ticket_reason(issue: dict[str, Any], config: RepoConfig, now: datetime) -> str:
    """Why a ticket's clocks may need a reminder now, judged from its labels alone.

    Every clock starts no earlier than the issue's creation and pauses only push deadlines
    later, so a clock measured from `created_at` without pauses is never later than the
    real one: a ticket it finds safe is safe. The handler reads the real clocks.
    """
    labels = {str(label.get("name")) for label in issue.get("labels") or []}
    severity = _severity(labels)
    if severity is None or SLA_PAUSED_LABEL in labels:
        return ""
    created = github_time(issue.get("created_at"), now)
    sla = config.sla
    decided = {label for label in labels if label.startswith(TRIAGE_PREFIX)}
    if not decided:
        clock = triage_clock(created, severity, sla)
    elif TRIAGE_PREFIX + "backport" not in decided:
        return ""
    else:
        planned = [x for x in labels if x.startswith(BACKPORT_PREFIX)]
        if not planned:
            clock = plan_clock(created, sla)
        elif all(BACKPORTED_PREFIX + x[len(BACKPORT_PREFIX) :] in labels for x in planned):
            return ""
        else:
            clock = release_clock(created, severity, sla)
    state = clock.state(now, sla, sla.remind_at)
    if state.status in ("at-risk", "breached"):
        return f"{clock.name} clock may be {state.status}"
    return ""


def _asks_for_backports(pr: dict[str, Any], full_name: str) -> bool:
    labels = {str(label.get("name")) for label in pr.get("labels") or []}
    if any(label.startswith(BACKPORT_PREFIX) for label in labels):
        return True
    html = str((pr.get("base") or {}).get("repo", {}).get("html_url") or "")
    return bool(
        backport.ticket_refs(
            str(pr.get("title") or ""),
            str(pr.get("body") or ""),
            repo_full_name=full_name,
            html_url=html,
        )
    )


def quiet_until(
    clocks: Iterable[SlaClock], sent: Collection[str], sla: SlaConfig, now: datetime
) -> datetime | None:
    """The earliest time one of these clocks can need a reminder not sent yet (None: never).

    A paused clock needs none until it resumes, which changes the ticket.
    """
    due: list[datetime] = []
    for clock in clocks:
        if clock.stopped is not None or clock.is_paused(now):
            continue
        if f"{clock.name}:breach" in sent:
            continue
        deadline = clock.deadline(sla, now)
        if f"{clock.name}:remind" in sent:
            due.append(deadline)
            continue
        due.append(_first_at_risk(clock, sla, now, deadline))
    return min(due, default=None)


def _first_at_risk(clock: SlaClock, sla: SlaConfig, now: datetime, deadline: datetime) -> datetime:
    """When the clock first shows at-risk: its share of time left falls monotonically."""
    if clock.state(now, sla, sla.remind_at).status != "running":
        return now
    lo, hi = now, deadline
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        if clock.state(mid, sla, sla.remind_at).status == "running":
            lo = mid
        else:
            hi = mid
    return hi
