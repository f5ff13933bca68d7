"""`lts-bot report`: the LTS process metrics of one repository, computed from GitHub's state."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal, TextIO

import gidgethub

from bot import apply, state
from bot.clock import Clock
from bot.dispatch import Services, github_time
from bot.github.client import GitHubPort
from bot.policies import release as release_policy
from bot.policies import report
from bot.policies.intake import KIND_LABELS
from bot.release_state import decode as decode_record
from bot.settings import Settings
from bot.ticket import (
    AFFECTS_PREFIX,
    BACKPORT_PREFIX,
    RELEASED_PREFIX,
    REPORT_LABEL,
    SEVERITY_PREFIX,
    TRACKING_LABEL,
    TRIAGE_PREFIX,
    is_process_issue,
)

ReportFormat = Literal["markdown", "json"]
# Labels that make an issue an LTS ticket worth reading: the bot's state, or an LTS form's.
_TICKET_PREFIXES = (
    SEVERITY_PREFIX,
    TRIAGE_PREFIX,
    BACKPORT_PREFIX,
    RELEASED_PREFIX,
    AFFECTS_PREFIX,
    *KIND_LABELS.values(),
)


@dataclass(frozen=True)
class Collected:
    """What the report is computed from, as read from one repository."""

    tickets: tuple[report.TicketFacts, ...]
    releases: tuple[report.ReleaseFacts, ...]


async def installation_of(app: GitHubPort, full_name: str) -> int | None:
    async for installation in app.iterate("/app/installations", iterable_key=""):
        account = str((installation.get("account") or {}).get("login", ""))
        if account.lower() == full_name.split("/", 1)[0].lower():
            return int(installation["id"])
    return None


async def collect(
    gh: GitHubPort,
    owner: str,
    repo: str,
    *,
    key: bytes,
    bot_login: str,
    since: datetime | None,
    now: datetime,
) -> Collected:
    """Read the tickets (labels and signed status comments) and the releases of a repository."""
    base = f"/repos/{owner}/{repo}"
    params = {"state": "all"}
    if since is not None:
        # `since` filters on updated_at, never earlier than created_at: nothing is lost.
        params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    tickets: list[report.TicketFacts] = []
    withdrawn: dict[str, datetime | None] = {}
    async for issue in gh.iterate(f"{base}/issues", params=params):
        if issue.get("pull_request"):
            continue
        labels = apply.labels_of(issue)
        if TRACKING_LABEL in labels:
            record = decode_record(str(issue.get("body") or ""), key)
            if record is not None and record.withdrawn_at is not None:
                withdrawn[record.tag] = record.withdrawn_at
            continue
        if is_process_issue(labels) or not any(x.startswith(_TICKET_PREFIXES) for x in labels):
            continue
        number = int(issue["number"])
        comments = await apply.list_comments(gh, owner, repo, number)
        marked = apply.find_marked(comments, state.MARKER, bot_login)
        parsed = state.parse(marked.body, key, number=number).state if marked else None
        closed = issue.get("closed_at")
        tickets.append(
            report.ticket_facts(
                number,
                str(issue.get("title") or ""),
                github_time(issue.get("created_at"), now),
                github_time(closed, now) if closed else None,
                labels,
                parsed,
            )
        )
    if since is not None:
        # Tracking issues of withdrawn releases may have been edited before `since`.
        async for issue in gh.iterate(
            f"{base}/issues", params={"state": "all", "labels": TRACKING_LABEL}
        ):
            record = decode_record(str(issue.get("body") or ""), key)
            if record is not None and record.withdrawn_at is not None:
                withdrawn[record.tag] = record.withdrawn_at
    releases: list[report.ReleaseFacts] = []
    async for rel in gh.iterate(f"{base}/releases"):
        if rel.get("draft") or not rel.get("published_at"):
            continue
        tag = str(rel.get("tag_name"))
        version = _version_of(tag)
        if version is None:
            continue
        published = github_time(rel.get("published_at"), now)
        gone = withdrawn.get(tag)
        if gone is None and str(rel.get("name") or "").startswith(release_policy.WITHDRAWN_PREFIX):
            gone = published  # withdrawn by hand, when is not recorded
        releases.append(report.ReleaseFacts(tag, version.line, published, gone))
    return Collected(tuple(tickets), tuple(releases))


async def compute(
    services: Services, gh: GitHubPort, repo: str, *, since: datetime | None, now: datetime
) -> report.Report:
    """The report of `owner/name` from what GitHub holds now."""
    owner, name = repo.split("/", 1)
    data = await collect(
        gh,
        owner,
        name,
        key=services.state_key,
        bot_login=f"{services.app_slug}[bot]",
        since=since,
        now=now,
    )
    return report.build_report(data.tickets, data.releases, since=since, now=now)


def _version_of(tag: str) -> release_policy.ReleaseVersion | None:
    for fmt in release_policy.TAG_FORMATS:
        version = release_policy.parse_tag(tag, fmt)
        if version is not None:
            return version
    return None


def week_of(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


async def post_report(
    gh: GitHubPort, owner: str, repo: str, body: str, now: datetime
) -> tuple[int, str]:
    """Create this week's report issue, or update it: one issue per ISO week."""
    week = week_of(now)
    marker = f"<!-- lts-bot:report {week} -->"
    text = f"{marker}\n{body}"
    async for issue in gh.iterate(
        f"/repos/{owner}/{repo}/issues", params={"labels": REPORT_LABEL, "state": "all"}
    ):
        if marker in str(issue.get("body") or ""):
            number = int(issue["number"])
            if issue.get("body") == text:
                return number, "unchanged"
            await gh.patch(f"/repos/{owner}/{repo}/issues/{number}", {"body": text})
            return number, "updated"
    created = await gh.post(
        f"/repos/{owner}/{repo}/issues",
        {"title": f"LTS process report, week {week}", "body": text, "labels": [REPORT_LABEL]},
    )
    return int(created["number"]), "created"


async def report_once(
    settings: Settings,
    *,
    repo: str,
    since: date | None,
    fmt: ReportFormat,
    post: bool,
    out: TextIO,
    err: TextIO | None = None,
    clock: Clock | None = None,
) -> int:
    """Compute the report of `owner/name`, print it, and with `post` file it; 1 on failure."""
    from bot.service import Bot

    bot = Bot.build(settings, clock=clock)
    owner, name = repo.split("/", 1)
    try:
        app = bot.services.github.app()
        installation = await installation_of(app, repo)
        if installation is None:
            out.write(f"lts-bot is not installed on {repo}'s account; nothing to report\n")
            return 1
        gh = bot.services.github.installation(installation)
        now = datetime.fromtimestamp(bot.services.clock.time(), tz=UTC)
        start = datetime.combine(since, time(0), tzinfo=UTC) if since else None
        try:
            result = await compute(bot.services, gh, repo, since=start, now=now)
        except gidgethub.BadRequest as exc:
            out.write(f"cannot read {repo}: {exc}\n")
            return 1
        markdown = report.render_markdown(result, repo=repo)
        if fmt == "json":
            out.write(json.dumps(report.to_json(result), indent=2) + "\n")
        else:
            out.write(markdown + "\n")
        if post:
            number, outcome = await post_report(gh, owner, name, markdown, now)
            # On stderr, so that `--format json --post` still prints parseable JSON.
            print(f"report issue #{number}: {outcome}", file=err or sys.stderr)
        return 0
    finally:
        await bot.stop(grace=settings.LTS_BOT_SHUTDOWN_GRACE)
