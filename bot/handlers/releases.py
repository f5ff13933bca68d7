"""Releases of LTS lines: staging from `/release`, publication, the monitoring window, rollback."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import gidgethub
from gidgethub import routing, sansio

from bot import apply, commands
from bot import release_state as records
from bot.authz import describe
from bot.config import LineConfig, RepoConfig
from bot.dispatch import Context, github_time
from bot.handlers import triage as tickets
from bot.handlers.gates import FAST_TRACK_LABEL
from bot.policies import backport, branches, config_check
from bot.policies import release as policy
from bot.policies.sla import add_duration
from bot.release_state import ReleaseRecord
from bot.ticket import (
    AUDIT_LABEL,
    INCIDENT_LABEL,
    REGRESSION_LABEL,
    RELEASED_PREFIX,
    SECURITY_LABEL,
    SEVERITIES,
    SEVERITY_PREFIX,
    TRACKING_LABEL,
    AuditEntry,
    is_process_issue,
)

router = routing.Router()

RELEASE_ROLES = frozenset({"release-manager", "eng-lead"})
# How lts/approvals says it required the security role (bot/policies/approvals.py).
SECURITY_SENSITIVE = "security-sensitive"
_CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.I)
# How often the sweep refreshes a draft's checklist: each refresh reads every PR again.
DRAFT_REFRESH = timedelta(minutes=15)
# PRs looked at per release: more than any patch release should hold.
MAX_PRS = 200


@dataclass(frozen=True)
class _Repo:
    owner: str
    repo: str
    default: str
    config: RepoConfig
    html_url: str

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def api(self) -> str:
        return f"/repos/{self.owner}/{self.repo}"

    @property
    def package(self) -> str:
        return self.config.release.package or self.repo

    @property
    def fmt(self) -> policy.TagFormat:
        return self.config.release.tag_format


async def _repo_of(ctx: Context, payload: dict[str, Any]) -> _Repo | None:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
    if result.error is not None:
        return None  # lts/config reports it; nothing is released under a broken policy
    return await _repo_with(ctx, payload, result.config)


async def _repo_with(ctx: Context, payload: dict[str, Any], config: RepoConfig) -> _Repo:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    html = repository.get("html_url")
    if not html:
        # A sweep's work item names the repository only: links need its web address.
        html = (await ctx.gh.get(f"/repos/{owner}/{repo}")).get("html_url")
    return _Repo(owner, repo, default, config, str(html))


# --- finding what exists ------------------------------------------------------------------


@dataclass
class _Tracking:
    issue: dict[str, Any] | None
    record: ReleaseRecord | None


async def _tracking(ctx: Context, r: _Repo, version: str) -> _Tracking:
    """The tracking issue of a version and its verified record (either may be missing)."""
    marker = records.marker_for(version)
    async for issue in ctx.gh.iterate(
        f"{r.api}/issues", params={"labels": TRACKING_LABEL, "state": "all"}
    ):
        body = str(issue.get("body") or "")
        if marker in body and str((issue.get("user") or {}).get("login")) == ctx.bot_login:
            return _Tracking(issue, records.decode(body, ctx.services.state_key))
    return _Tracking(None, None)


async def _tags(ctx: Context, r: _Repo) -> list[str]:
    return [str(tag["name"]) async for tag in ctx.gh.iterate(f"{r.api}/tags")]


async def _release_by_tag(ctx: Context, r: _Repo, tag: str) -> dict[str, Any] | None:
    """The release of a tag, drafts included (GET /releases/tags/{tag} skips drafts)."""
    async for rel in ctx.gh.iterate(f"{r.api}/releases"):
        if rel.get("tag_name") == tag:
            return dict(rel)
    return None


# --- the snapshot of a release ------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    context: policy.ReleaseContext
    checks: tuple[policy.ChangeChecks, ...]
    head_checks: tuple[tuple[str, str, str | None], ...]
    fast_tracked: tuple[int, ...]


@dataclass(frozen=True)
class _Run:
    status: str
    conclusion: str | None
    summary: str


async def _check_runs(ctx: Context, r: _Repo, sha: str) -> dict[str, _Run]:
    """The newest check run of each name on a commit."""
    out: dict[str, _Run] = {}
    async for run in ctx.gh.iterate(f"{r.api}/commits/{sha}/check-runs", iterable_key="check_runs"):
        name = str(run.get("name"))
        if name not in out:  # GitHub lists the newest first
            summary = str((run.get("output") or {}).get("summary") or "")
            out[name] = _Run(str(run.get("status")), run.get("conclusion"), summary)
    return out


async def _ticket_facts(
    ctx: Context, r: _Repo, number: int, cache: dict[int, tuple[bool, tuple[str, ...], str | None]]
) -> tuple[bool, tuple[str, ...], str | None]:
    """(security, CVE ids, severity) of a ticket, from its labels and text."""
    if number not in cache:
        try:
            issue = await ctx.gh.get(f"{r.api}/issues/{number}")
        except gidgethub.BadRequest as exc:
            if exc.status_code not in (404, 410):
                raise
            cache[number] = (False, (), None)
            return cache[number]
        labels = set(apply.labels_of(issue))
        text = f"{issue.get('title') or ''}\n{issue.get('body') or ''}"
        cves = tuple(sorted({m.upper() for m in _CVE_RE.findall(text)}))
        severity = next((s for s in SEVERITIES if SEVERITY_PREFIX + s in labels), None)
        cache[number] = (SECURITY_LABEL in labels or bool(cves), cves, severity)
    return cache[number]


async def _snapshot(
    ctx: Context, r: _Repo, line: LineConfig, version: policy.ReleaseVersion, previous: str | None
) -> _Snapshot:
    """Everything a release of `version` is made of: PRs, tickets, checks, the branch head."""
    branch = await ctx.gh.get(f"{r.api}/branches/{quote(line.branch, safe='')}")
    head = str(branch["commit"]["sha"])
    shipped: set[str] | None = None
    if previous is not None:
        compare = await ctx.gh.get(
            f"{r.api}/compare/{quote(previous, safe='')}...{head}", params={"per_page": "250"}
        )
        shipped = {str(c["sha"]) for c in compare.get("commits") or []}
    changes: list[policy.IncludedChange] = []
    checks: list[policy.ChangeChecks] = []
    fast: list[int] = []
    facts: dict[int, tuple[bool, tuple[str, ...], str | None]] = {}
    async for pr in ctx.gh.iterate(
        f"{r.api}/pulls",
        params={"state": "closed", "base": line.branch, "sort": "updated", "direction": "desc"},
    ):
        if not pr.get("merged_at") or len(changes) >= MAX_PRS:
            continue
        sha = str(pr.get("merge_commit_sha") or "")
        if shipped is not None and sha not in shipped:
            continue
        number = int(pr["number"])
        title, body = str(pr.get("title") or ""), str(pr.get("body") or "")
        messages = [
            str(c["commit"]["message"])
            async for c in ctx.gh.iterate(f"{r.api}/pulls/{number}/commits")
        ]
        # The ticket: the branch name says it (lts/vX.Y/issue-N), the PR may name more.
        named = branches.ticket_number(str((pr.get("head") or {}).get("ref") or ""))
        refs = tuple(
            dict.fromkeys(
                [
                    *([named] if named else []),
                    *backport.ticket_refs(title, body, repo_full_name=r.full, html_url=r.html_url),
                ]
            )
        )
        labels = set(apply.labels_of(pr))
        security = SECURITY_LABEL in labels
        cves: set[str] = {m.upper() for m in _CVE_RE.findall(f"{title}\n{body}")}
        severity: str | None = None
        for ticket in refs:
            t_security, t_cves, t_severity = await _ticket_facts(ctx, r, ticket, facts)
            security = security or t_security
            cves |= set(t_cves)
            if t_severity and (
                severity is None or SEVERITIES.index(t_severity) < SEVERITIES.index(severity)
            ):
                severity = t_severity
        changes.append(
            policy.IncludedChange(
                pr=number,
                title=title,
                url=str(pr.get("html_url") or f"{r.html_url}/pull/{number}"),
                merge_sha=sha,
                changelog=policy.changelog_of(body, messages),
                tickets=refs,
                security=security or bool(cves),
                cves=tuple(sorted(cves)),
                severity=severity,
            )
        )
        runs = await _check_runs(ctx, r, str(pr["head"]["sha"]))
        approvals = runs.get("lts/approvals")
        gate = runs.get("lts/gate")
        checks.append(
            policy.ChangeChecks(
                pr=number,
                gate=gate.conclusion if gate else None,
                approvals=approvals.conclusion if approvals else None,
                security=security or bool(cves),
                # A green lts/approvals holds the security sign-off only if the gate judged
                # the PR security-sensitive (a `security` label on it or its ticket); a CVE
                # named without that label is not signed off by security yet.
                security_approved=approvals is not None
                and approvals.conclusion == "success"
                and SECURITY_SENSITIVE in approvals.summary,
            )
        )
        if FAST_TRACK_LABEL in labels:
            fast.append(number)
    head_runs = await _check_runs(ctx, r, head)
    head_checks = tuple(
        (name, run.status, run.conclusion)
        for name, run in sorted(head_runs.items())
        if not name.startswith("lts/")
    )
    context = policy.ReleaseContext(
        repo=r.full,
        repo_url=r.html_url,
        line=line.version,
        branch=line.branch,
        version=version,
        tag=version.tag(r.fmt),
        previous_tag=previous,
        head_sha=head,
        package=r.package,
        contact=r.config.release.security_contact or f"{r.html_url}/security/policy",
        changes=tuple(sorted(changes, key=lambda c: c.pr)),
    )
    return _Snapshot(context, tuple(sorted(checks, key=lambda c: c.pr)), head_checks, tuple(fast))


# --- staging -----------------------------------------------------------------------------


async def _previous_ok(ctx: Context, r: _Repo, previous: str | None) -> bool:
    if previous is None:
        return False
    try:
        rel = await ctx.gh.get(f"{r.api}/releases/tags/{quote(previous, safe='')}")
    except gidgethub.BadRequest as exc:
        if exc.status_code != 404:
            raise
        return False
    return not rel.get("draft") and not str(rel.get("name") or "").startswith(
        policy.WITHDRAWN_PREFIX
    )


async def _file_advisory(
    ctx: Context, r: _Repo, record: ReleaseRecord, snap: _Snapshot
) -> ReleaseRecord:
    """File the draft security advisory once; without the permission, into the notes."""
    draft = policy.advisory_draft(snap.context)
    if draft is None or record.advisory is not None:
        return record
    try:
        created = await ctx.gh.post(
            f"{r.api}/security-advisories", policy.advisory_request(draft, r.package)
        )
    except gidgethub.BadRequest as exc:
        if exc.status_code not in (403, 404, 422):
            raise
        # The App lacks repository_advisories: write, or advisories are off for the repo.
        ctx.log.info("advisory_in_release_body", status=int(exc.status_code))
        return replace(record, advisory="release-body")
    return replace(record, advisory=str(created.get("ghsa_id") or "release-body"))


def _notes(snap: _Snapshot, record: ReleaseRecord) -> str:
    draft = policy.advisory_draft(snap.context)
    # Without a repository advisory, its draft goes into the (unpublished) release notes.
    fallback = draft if record.advisory == "release-body" else None
    return policy.release_notes(snap.context, advisory=fallback)


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


async def _upsert_draft(
    ctx: Context, r: _Repo, record: ReleaseRecord, snap: _Snapshot
) -> tuple[ReleaseRecord, dict[str, Any]]:
    """Create or update the draft release; a published one is left as it is.

    Notes a person edited are theirs: once the draft's body is no longer what the bot
    last wrote, the bot stops rewriting it (the tracking issue keeps the included list).
    """
    tag = snap.context.tag
    existing = await _release_by_tag(ctx, r, tag)
    body = _notes(snap, record)
    if existing is None:
        created = await ctx.gh.post(
            f"{r.api}/releases",
            {
                "tag_name": tag,
                "target_commitish": snap.context.head_sha,
                "name": tag,
                "body": body,
                "draft": True,
                "prerelease": False,
            },
        )
        return replace(record, release_id=int(created["id"]), notes=_digest(body)), dict(created)
    edited = bool(record.notes) and _digest(existing.get("body")) != record.notes
    if edited:
        ctx.log.info("release_notes_edited_by_hand", tag=tag)
    elif existing.get("draft") and (
        existing.get("body") != body or existing.get("target_commitish") != snap.context.head_sha
    ):
        existing = dict(
            await ctx.gh.patch(
                f"{r.api}/releases/{existing['id']}",
                {"body": body, "target_commitish": snap.context.head_sha},
            )
        )
        record = replace(record, notes=_digest(body))
    elif not record.notes:
        record = replace(record, notes=_digest(existing.get("body")))
    return replace(record, release_id=int(existing["id"])), existing


def _checklist(
    r: _Repo, snap: _Snapshot, record: ReleaseRecord, rel: dict[str, Any] | None, prev_ok: bool
) -> tuple[policy.ChecklistItem, ...]:
    assets = tuple(str(a.get("name")) for a in (rel or {}).get("assets") or [])
    security = bool(snap.context.security_changes)
    return policy.checklist(
        policy.ChecklistInput(
            branch=snap.context.branch,
            changes=snap.checks,
            head_checks=snap.head_checks,
            required_checks=r.config.checks.required,
            assets=assets,
            require_artifacts=("checksums", *r.config.release.require_artifacts),
            previous_tag=snap.context.previous_tag,
            previous_release_ok=prev_ok,
            notes_ready=rel is not None and bool(rel.get("body")),
            advisory_ready=(record.advisory is not None) if security else None,
            undocumented=tuple(c.pr for c in snap.context.undocumented),
        )
    )


async def _audit_links(ctx: Context, r: _Repo, prs: tuple[int, ...]) -> dict[int, int]:
    """PR -> its post-facto audit issue, for fast-tracked PRs."""
    if not prs:
        return {}
    found: dict[int, int] = {}
    async for issue in ctx.gh.iterate(
        f"{r.api}/issues", params={"labels": AUDIT_LABEL, "state": "all"}
    ):
        body = str(issue.get("body") or "")
        for pr in prs:
            if f"<!-- lts-bot:fast-track-audit pr={pr} -->" in body:
                found[pr] = int(issue["number"])
    return found


def _tracking_body(
    r: _Repo,
    record: ReleaseRecord,
    tracking: _Tracking,
    snap: _Snapshot | None,
    items: tuple[policy.ChecklistItem, ...],
    rel: dict[str, Any] | None,
    audits: dict[int, int],
    key: bytes,
) -> str:
    """The tracking issue's body; sections without fresh data keep what it showed."""
    old = str((tracking.issue or {}).get("body") or "")
    fast = "\n".join(f"- #{pr}: post-facto audit #{n}" for pr, n in sorted(audits.items()))
    advisory = record.advisory if record.advisory != "release-body" else None
    view = records.TrackingView(
        release_url=str(rel["html_url"]) if rel and rel.get("html_url") else None,
        advisory_url=f"{r.html_url}/security/advisories/{advisory}" if advisory else None,
        checklist=policy.render_checklist(items)
        if items
        else records.section(old, "Pre-release checklist"),
        included=records.included_section(snap.context.changes)
        if snap is not None
        else records.section(old, "Included"),
        fast_tracked=fast or records.section(old, "Fast-tracked"),
    )
    return records.render(record, view, key=key)


async def _save_tracking(
    ctx: Context, r: _Repo, tracking: _Tracking, record: ReleaseRecord, body: str
) -> dict[str, Any]:
    title = f"LTS release {record.tag}"
    if tracking.issue is None:
        created = await ctx.gh.post(
            f"{r.api}/issues", {"title": title, "body": body, "labels": [TRACKING_LABEL]}
        )
        tracking.issue = dict(created)
    elif tracking.issue.get("body") != body:
        tracking.issue = dict(
            await ctx.gh.patch(f"{r.api}/issues/{tracking.issue['number']}", {"body": body})
        )
    tracking.record = record
    return tracking.issue


async def stage(
    ctx: Context,
    r: _Repo,
    line: LineConfig,
    version: policy.ReleaseVersion,
    previous: str | None,
    *,
    actor: str,
    published: bool = False,
) -> tuple[ReleaseRecord, dict[str, Any], tuple[policy.ChecklistItem, ...]]:
    """Open or refresh the tracking issue and the draft release of `version`.

    `published`: the release is already out (published by hand); it is tracked, not staged.
    """
    tracking = await _tracking(ctx, r, str(version))
    now = ctx.now()
    record = tracking.record or ReleaseRecord(
        version=str(version),
        tag=version.tag(r.fmt),
        line=line.version,
        previous_tag=previous,
        requested_by=actor,
    ).with_audit(now, actor, "release requested", version.tag(r.fmt))
    snap = await _snapshot(ctx, r, line, version, record.previous_tag)
    record = replace(
        record,
        head_sha=snap.context.head_sha if record.status == "draft" else record.head_sha,
        prs=tuple(c.pr for c in snap.context.changes),
        tickets=tuple(sorted({t for c in snap.context.changes for t in c.tickets})),
    )
    audits = await _audit_links(ctx, r, snap.fast_tracked)
    rel: dict[str, Any] | None = None
    if tracking.issue is None:
        # The tracking issue first, so a failure later leaves a record to continue from.
        body = _tracking_body(r, record, tracking, snap, (), None, audits, ctx.services.state_key)
        await _save_tracking(ctx, r, tracking, record, body)
        if not published:
            ctx.services.metrics.releases.inc(line.version, "staged")
    if record.status == "draft":
        record = await _file_advisory(ctx, r, record, snap)
        record, rel = await _upsert_draft(ctx, r, record, snap)
    else:
        rel = await _release_by_tag(ctx, r, record.tag)
    items = _checklist(r, snap, record, rel, await _previous_ok(ctx, r, record.previous_tag))
    body = _tracking_body(r, record, tracking, snap, items, rel, audits, ctx.services.state_key)
    issue = await _save_tracking(ctx, r, tracking, record, body)
    await _link_audits(ctx, r, audits, int(issue["number"]), record.tag)
    return record, issue, items


async def _link_audits(
    ctx: Context, r: _Repo, audits: dict[int, int], tracking: int, tag: str
) -> None:
    """Each fast-tracked PR's audit issue names the release it shipped in (once)."""
    for issue in sorted(set(audits.values())):
        marker = f"<!-- lts-bot:audit-release {tag} -->"
        comments = await apply.list_comments(ctx.gh, r.owner, r.repo, issue)
        if apply.find_marked(comments, marker, ctx.bot_login) is None:
            await ctx.gh.post(
                f"{r.api}/issues/{issue}/comments",
                {"body": f"{marker}\nThis fast-tracked change ships in {tag}: #{tracking}."},
            )


# --- commands ----------------------------------------------------------------------------


async def _reply(ctx: Context, r: _Repo, number: int, text: str) -> None:
    marker = f"<!-- lts-bot:reply {ctx.delivery.id} release -->"
    comments = await apply.list_comments(ctx.gh, r.owner, r.repo, number)
    if any(c.author == ctx.bot_login and marker in c.body for c in comments):
        return  # a redelivery: answered already
    await ctx.gh.post(f"{r.api}/issues/{number}/comments", {"body": f"{text}\n\n{marker}"})


def _release_commands(parsed: commands.ParseResult) -> list[commands.Command]:
    return [
        c
        for c in parsed.commands
        if isinstance(c, commands.ReleaseCommand | commands.RollbackCommand)
    ]


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: Context) -> None:
    """`/release vX.Y[.Z]` and `/rollback vX.Y.Z <reason>` on an issue."""
    issue = event.data["issue"]
    sender = event.data.get("sender") or {}
    login = str(sender.get("login", ""))
    comment = event.data["comment"]
    if sender.get("type") == "Bot" or login != str((comment.get("user") or {}).get("login")):
        return
    body = str(comment.get("body") or "")
    if event.data.get("action") == "edited":
        old = str(((event.data.get("changes") or {}).get("body") or {}).get("from") or "")
        parsed = commands.changed_commands(old, body, app_slug=ctx.services.app_slug)
    else:
        parsed = commands.parse_comment(body, app_slug=ctx.services.app_slug)
    wanted = _release_commands(parsed)
    errors = [e for e in parsed.errors if e.verb in ("release", "rollback")]
    if not wanted and not errors:
        return
    repository = event.data["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    number = int(issue["number"])
    where = _Repo(owner, repo, "", RepoConfig(), "")
    if issue.get("pull_request"):
        await _reply(
            ctx,
            where,
            number,
            f"@{login}, `/release` and `/rollback` work on issues: comment on a ticket or on "
            "the release's tracking issue.",
        )
        return
    default = str(repository.get("default_branch") or "main")
    loaded = await ctx.services.configs.load(ctx.gh, owner, repo, default)
    if loaded.error is not None:
        await _reply(
            ctx,
            where,
            number,
            f"@{login}, I cannot release until `.github/lts.yml` is fixed:\n\n"
            + config_check.config_error_notice(loaded.error),
        )
        return
    r = await _repo_with(ctx, event.data, loaded.config)
    notes = [f"- `{e.raw}`: {e.message}" for e in errors]
    roles = await ctx.services.authz.roles_of(
        ctx.gh, r.owner, r.repo, login, r.config.roles, only=RELEASE_ROLES
    )
    for command in wanted:
        if "release-manager" not in roles and "eng-lead" not in roles:
            notes.append(
                f"- `{command.raw}`: only a release manager can do this "
                f"({describe('release-manager', r.config.roles)})."
            )
            continue
        try:
            if isinstance(command, commands.ReleaseCommand):
                notes.append(await _on_release(ctx, r, command, login, roles))
            elif isinstance(command, commands.RollbackCommand):
                notes.append(await _on_rollback(ctx, r, command, login))
        except gidgethub.HTTPException as exc:
            # What was done is recorded on the tracking issue; the same command continues.
            ctx.log.warning("release_command_failed", command=command.raw, error=str(exc))
            notes.append(
                f"- `{command.raw}`: GitHub refused a step ({exc}). What was done so far is "
                "recorded on the tracking issue; give the same command again to continue."
            )
    if notes:
        await _reply(ctx, r, number, f"@{login}:\n" + "\n".join(notes))
    if comment.get("id") and event.data.get("action") == "created" and wanted and not errors:
        await apply.react(ctx.gh, r.owner, r.repo, int(comment["id"]), "eyes")


async def _on_release(
    ctx: Context, r: _Repo, command: commands.ReleaseCommand, login: str, roles: frozenset[str]
) -> str:
    arg = policy.parse_version_arg(command.version)
    if arg is None:
        return f"- `{command.raw}`: name a line (`/release v1.4`) or a version (`/release v1.4.3`)."
    line_version, requested = arg
    line = r.config.line(line_version)
    if line is None:
        known = ", ".join(f"v{line.version}" for line in r.config.lines) or "none"
        return (
            f"- `{command.raw}`: v{line_version} is not an LTS line of this repository "
            f"(lines in `.github/lts.yml`: {known})."
        )
    decision = policy.next_version(line.version, await _tags(ctx, r), r.fmt, requested)
    if decision.version is None or (decision.needs_eng_lead and "eng-lead" not in roles):
        return f"- `{command.raw}`: {decision.error}"
    if "release-manager" not in roles and not decision.needs_eng_lead:
        return (
            f"- `{command.raw}`: only a release manager can do this "
            f"({describe('release-manager', r.config.roles)})."
        )
    previous = decision.previous.tag(r.fmt) if decision.previous else None
    record, issue, items = await stage(ctx, r, line, decision.version, previous, actor=login)
    if decision.needs_eng_lead:
        ctx.log.info("release_version_approved_by_eng_lead", version=record.version, actor=login)
    left = [item.title for item in items if item.state in ("pending", "failed")]
    done = len(items) - len(left)
    return (
        f"- {record.tag}: tracking issue #{issue['number']}, draft release "
        f"{'ready' if record.release_id else 'pending'}"
        + (f" (version approved by eng lead @{login})" if decision.needs_eng_lead else "")
        + f"; checklist {done}/{len(items)} done"
        + (f", open: {'; '.join(left)}." if left else ": ready to publish.")
    )


async def _on_rollback(
    ctx: Context, r: _Repo, command: commands.RollbackCommand, login: str
) -> str:
    arg = policy.parse_version_arg(command.version)
    if arg is None or arg[1] is None:
        return f"- `{command.raw}`: name the release, e.g. `/rollback v1.4.3 <reason>`."
    version = arg[1]
    tag = version.tag(r.fmt)
    rel = await _release_by_tag(ctx, r, tag)
    if rel is None or rel.get("draft"):
        return f"- `{command.raw}`: {tag} is not a published release; nothing to roll back."
    tracking = await _tracking(ctx, r, str(version))
    now = ctx.now()
    record = tracking.record or ReleaseRecord(
        version=str(version),
        tag=tag,
        line=version.line,
        status="published",
        release_id=int(rel["id"]),
        published_at=github_time(rel.get("published_at"), now),
    )
    already = record.status == "withdrawn"
    safe = await _safe_release(ctx, r, version)
    if not already:
        await ctx.gh.patch(
            f"{r.api}/releases/{rel['id']}",
            {
                "name": policy.withdrawn_name(rel.get("name"), tag),
                "body": policy.withdrawn_body(
                    rel.get("body"),
                    tag=tag,
                    reason=command.reason,
                    safe_tag=safe,
                    package=r.package,
                ),
                "prerelease": True,
                "make_latest": "false",
            },
        )
        incident = await _incident(ctx, r, record, tag, command.reason, login, safe, tracking)
        record = replace(
            record,
            status="withdrawn",
            withdrawn_at=now,
            withdrawn_reason=command.reason,
            incident=incident,
        ).with_audit(now, login, "release withdrawn", command.reason)
        body = _tracking_body(r, record, tracking, None, (), rel, {}, ctx.services.state_key)
        await _save_tracking(ctx, r, tracking, record, body)
        ctx.services.metrics.releases.inc(record.line, "withdrawn")
    if tracking.issue is None or record.incident is None:
        return f"- {tag}: its record is incomplete; nothing more was changed."
    issue, incident = tracking.issue, record.incident
    reason = records.inert(record.withdrawn_reason, 500)
    await _tell_tickets(
        ctx,
        r,
        record,
        action="release withdrawn",
        actor=login,
        marker=f"<!-- lts-bot:withdrawn {tag} -->",
        text=(
            f"{tag} was **withdrawn**: {reason}\n\n"
            + (
                f"Go back to {safe}: `pip install {r.package}=={_plain(safe)}`. "
                if safe
                else "There is no earlier release of this line to go back to. "
            )
            + f"The fix will ship again in a later release. Incident: #{incident}; "
            f"release tracking: #{issue['number']}."
        ),
        unlabel=f"{RELEASED_PREFIX}{tag}",
        reopen=True,
    )
    if already:
        return f"- {tag} is already withdrawn (incident #{incident}); its tickets are told."
    safe_text = f"previous safe release {safe}" if safe else "no earlier release of the line"
    return f"- {tag} withdrawn; {safe_text}; incident #{incident}."


def _plain(tag: str) -> str:
    return tag.removeprefix("v").removesuffix("-lts")


async def _safe_release(ctx: Context, r: _Repo, version: policy.ReleaseVersion) -> str | None:
    releases = [
        policy.PublishedRelease(str(rel.get("tag_name")), bool(rel.get("draft")), rel.get("name"))
        async for rel in ctx.gh.iterate(f"{r.api}/releases")
    ]
    return policy.safe_release(version, releases, r.fmt)


async def _incident(
    ctx: Context,
    r: _Repo,
    record: ReleaseRecord,
    tag: str,
    reason: str,
    actor: str,
    safe: str | None,
    tracking: _Tracking,
) -> int:
    """The incident issue of a rollback: found by its marker, else opened once."""
    marker = f"<!-- lts-bot:incident {tag} -->"
    async for issue in ctx.gh.iterate(
        f"{r.api}/issues", params={"labels": INCIDENT_LABEL, "state": "all"}
    ):
        if marker in str(issue.get("body") or ""):
            return int(issue["number"])
    body = policy.incident_body(
        tag=tag,
        reason=reason,
        actor=actor,
        safe_tag=safe,
        package=r.package,
        tracking_issue=int(tracking.issue["number"]) if tracking.issue else None,
    )
    created = await ctx.gh.post(
        f"{r.api}/issues",
        {
            "title": policy.incident_title(tag),
            "body": f"{marker}\n{body}",
            "labels": [INCIDENT_LABEL],
            "assignees": [actor],
        },
    )
    return int(created["number"])


# --- publication and the monitoring window -------------------------------------------------


async def _tell_tickets(
    ctx: Context,
    r: _Repo,
    record: ReleaseRecord,
    *,
    action: str,
    actor: str,
    marker: str,
    text: str,
    label: str | None = None,
    unlabel: str | None = None,
    close: bool = False,
    reopen: bool = False,
) -> None:
    """One comment, an audit entry (and a label, a close or a reopen) on each ticket.

    `close` closes only a ticket whose every planned line has shipped: one still waiting
    for another line is told which, and stays open.
    """
    repository = {"full_name": r.full, "default_branch": r.default, "html_url": r.html_url}
    for number in record.tickets:
        payload = {"repository": repository, "issue": {"number": number}}
        ticket = await tickets.load_ticket(ctx, payload, with_intake=False)
        if ticket is None or is_process_issue(ticket.labels):
            continue
        done = apply.find_marked(ticket.comments, marker, ctx.bot_login) is not None
        if not any(e.action == action and e.detail == record.tag for e in ticket.state.audit):
            ticket.state = ticket.state.with_audit(
                AuditEntry(ticket.now, actor, action, record.tag)
            )
            if label is not None and record.published_at is not None:
                hours = (record.published_at - ticket.created_at).total_seconds() / 3600
                ctx.services.metrics.time_to_release.observe(max(hours, 0.0), record.line)
            if label is not None:
                ticket.state = replace(
                    ticket.state,
                    backports=tuple(
                        replace(b, detail=record.tag)
                        if b.line == record.line and b.status == "merged"
                        else b
                        for b in ticket.state.backports
                    ),
                )
        if label is not None:
            ticket.extra_labels.add(label)
        if unlabel is not None and unlabel in ticket.labels:
            ticket.revert_add.add(unlabel)
        waiting = policy.unshipped_lines(ticket.state.backport, ticket.labels)
        await tickets.save_ticket(ctx, ticket)
        if not done:
            note = text
            if close and waiting:
                note += (
                    f"\n\nThis ticket stays open until the fix ships on {', '.join(waiting)} "
                    "as well."
                )
            await ctx.gh.post(f"{r.api}/issues/{number}/comments", {"body": f"{marker}\n{note}"})
        state = ticket.issue.get("state")
        if close and not waiting and state == "open":
            await ctx.gh.patch(
                f"{r.api}/issues/{number}", {"state": "closed", "state_reason": "completed"}
            )
        elif reopen and state == "closed":
            await ctx.gh.patch(f"{r.api}/issues/{number}", {"state": "open"})


@router.register("release", action="published")
async def on_published(event: sansio.Event, ctx: Context) -> None:
    """A release of an LTS line was published: tell its tickets, start the monitoring window."""
    rel = event.data["release"]
    r = await _repo_of(ctx, event.data)
    if r is None:
        return
    version = policy.parse_tag(str(rel.get("tag_name")), r.fmt)
    if version is None or (line := r.config.line(version.line)) is None:
        return  # not a release of an LTS line
    actor = str((event.data.get("sender") or {}).get("login", ""))
    await publish(ctx, r, line, version, dict(rel), actor=actor)


async def publish(
    ctx: Context,
    r: _Repo,
    line: LineConfig,
    version: policy.ReleaseVersion,
    rel: dict[str, Any],
    *,
    actor: str,
) -> None:
    """Record a publication and tell everyone; safe to run again after a failure half-way.

    Each step checks what is already there (the record's status, the tickets' audit
    entries and markers), so a redelivery or the sweep finishes what a failure left.
    """
    tracking = await _tracking(ctx, r, str(version))
    record = tracking.record
    if record is None:
        # Published without `/release`: stage it now, so it is tracked all the same.
        tags = [t for t in await _tags(ctx, r) if t != version.tag(r.fmt)]
        before = policy.next_version(line.version, tags, r.fmt).previous
        prev_tag = before.tag(r.fmt) if before is not None and before < version else None
        record, _, _ = await stage(ctx, r, line, version, prev_tag, actor=actor, published=True)
        tracking = await _tracking(ctx, r, str(version))
    if record.status not in ("draft", "published"):
        return  # flagged, done or withdrawn: its publication was handled long ago
    now = ctx.now()
    snap: _Snapshot | None = None
    open_items: list[str] = []
    if record.status == "draft":
        published = github_time(rel.get("published_at"), now)
        window = add_duration(published, r.config.release.monitoring_window, r.config.sla)
        record = replace(
            record,
            status="published",
            release_id=int(rel["id"]),
            published_at=published,
            window_ends=window,
        ).with_audit(now, actor, "release published", record.tag)
        snap = await _snapshot(ctx, r, line, version, record.previous_tag)
        items = _checklist(r, snap, record, rel, await _previous_ok(ctx, r, record.previous_tag))
        open_items = [i.title for i in items if i.state in ("pending", "failed")]
        body = _tracking_body(r, record, tracking, snap, items, rel, {}, ctx.services.state_key)
        await _save_tracking(ctx, r, tracking, record, body)
        ctx.services.metrics.releases.inc(line.version, "published")
    if tracking.issue is None or record.window_ends is None:
        # Both are written with the status "published"; a record without them is damaged.
        ctx.log.warning("release_record_incomplete", tag=record.tag)
        return
    number = int(tracking.issue["number"])
    window = record.window_ends
    url = str(rel.get("html_url") or "")
    await _tell_tickets(
        ctx,
        r,
        record,
        action="released",
        actor=ctx.bot_login,
        marker=f"<!-- lts-bot:released {record.tag} -->",
        text=(
            f"Released in [{record.tag}]({url}) on the v{line.version} line. Upgrade: "
            f"`pip install --upgrade {r.package}=={version}`.\n\n"
            f"The release is watched for regressions until "
            f"{window:%Y-%m-%d %H:%M} UTC; with none reported, this ticket is closed then "
            "(once the fix has shipped on every line it is planned for). "
            f"Release tracking: #{number}."
        ),
        label=f"{RELEASED_PREFIX}{record.tag}",
    )
    marker = f"<!-- lts-bot:internal-status {record.tag} published -->"
    comments = await apply.list_comments(ctx.gh, r.owner, r.repo, number)
    if apply.find_marked(comments, marker, ctx.bot_login) is None:
        if snap is None:
            snap = await _snapshot(ctx, r, line, version, record.previous_tag)
        known = (
            [f"published with open checklist items: {', '.join(open_items)}"] if open_items else []
        )
        status = policy.internal_status(
            snap.context,
            state=f"published; monitoring until {window:%Y-%m-%d %H:%M} UTC",
            published_at=record.published_at,
            assets=[str(a.get("name")) for a in rel.get("assets") or []],
            known_issues=known,
            rollback="not needed",
            owners=[f"@{record.requested_by}"] if record.requested_by else [],
        )
        await ctx.gh.post(f"{r.api}/issues/{number}/comments", {"body": f"{marker}\n{status}"})


async def _regressions(ctx: Context, r: _Repo, record: ReleaseRecord, tracking: int) -> list[int]:
    """Open issues labelled `regression` that refer to this release."""
    version = policy.parse_tag(record.tag, r.fmt)
    if version is None:
        return []
    found = []
    async for issue in ctx.gh.iterate(
        f"{r.api}/issues", params={"labels": REGRESSION_LABEL, "state": "open"}
    ):
        if issue.get("pull_request") or is_process_issue(issue.get("labels")):
            continue
        text = f"{issue.get('title') or ''}\n{issue.get('body') or ''}"
        if policy.references_release(text, version, record.tag, tracking):
            found.append(int(issue["number"]))
    return sorted(found)


async def monitor(ctx: Context, r: _Repo, number: int) -> datetime | None:
    """Look at one tracking issue again: refresh a draft, end a monitoring window.

    Returns when it next needs a look (None: never).
    """
    issue = await ctx.gh.get(f"{r.api}/issues/{number}")
    record = records.decode(str(issue.get("body") or ""), ctx.services.state_key)
    if record is None:
        return None
    tracking = _Tracking(dict(issue), record)
    now = ctx.now()
    version = policy.parse_tag(record.tag, r.fmt)
    line = r.config.line(record.line)
    if record.status == "draft":
        if version is not None and line is not None:
            rel = await _release_by_tag(ctx, r, record.tag)
            if rel is not None and not rel.get("draft"):
                # Published, but its event never arrived (or failed): catch up now.
                await publish(ctx, r, line, version, rel, actor=ctx.bot_login)
                return now
            await stage(ctx, r, line, version, record.previous_tag, actor=ctx.bot_login)
        # Assets and CI change without an event for the release: look again in a while
        # (`/release` again refreshes at once).
        return now + DRAFT_REFRESH
    if record.status not in ("published", "flagged") or record.window_ends is None:
        return None
    if now < record.window_ends:
        return record.window_ends
    regressions = await _regressions(ctx, r, record, number)
    rel = await _release_by_tag(ctx, r, record.tag)
    if regressions:
        if record.status == "published" or tuple(regressions) != record.regressions:
            record = replace(record, status="flagged", regressions=tuple(regressions)).with_audit(
                now, ctx.bot_login, "flagged", ", ".join(f"#{n}" for n in regressions)
            )
            body = _tracking_body(r, record, tracking, None, (), rel, {}, ctx.services.state_key)
            await _save_tracking(ctx, r, tracking, record, body)
            ctx.services.metrics.releases.inc(record.line, "flagged")
            marker = f"<!-- lts-bot:flagged {record.tag} {','.join(map(str, regressions))} -->"
            rm = " ".join(m.mention for m in r.config.roles.members("release-manager"))
            await ctx.gh.post(
                f"{r.api}/issues/{number}/comments",
                {
                    "body": f"{marker}\n{rm + ': ' if rm else ''}the monitoring window of "
                    f"{record.tag} ended with open regressions: "
                    + ", ".join(f"#{n}" for n in regressions)
                    + ". Its tickets stay open. Fix them, or roll back with "
                    f"`/rollback {record.tag} <reason>`."
                },
            )
        return now  # looked at again next sweep: closed once the regressions are
    await _tell_tickets(
        ctx,
        r,
        record,
        action="closed after monitoring",
        actor=ctx.bot_login,
        marker=f"<!-- lts-bot:monitored {record.tag} -->",
        text=(
            f"{record.tag} passed its monitoring window without a reported regression. "
            "If something is wrong after all, open an issue labelled `regression` that "
            "names the release (or reopen this one)."
        ),
        close=True,
    )
    record = replace(record, status="done", closed_at=now, regressions=()).with_audit(
        now, ctx.bot_login, "monitoring window passed", ", ".join(f"#{t}" for t in record.tickets)
    )
    body = _tracking_body(r, record, tracking, None, (), rel, {}, ctx.services.state_key)
    await _save_tracking(ctx, r, tracking, record, body)
    ctx.services.metrics.releases.inc(record.line, "closed")
    if issue.get("state") == "open":
        await ctx.gh.patch(
            f"{r.api}/issues/{number}", {"state": "closed", "state_reason": "completed"}
        )
    return None


@router.register("release", action="edited")
@router.register("release", action="created")
async def on_release_changed(event: sansio.Event, ctx: Context) -> None:
    """A draft release of an LTS line edited: its tracking checklist may have changed."""
    rel = event.data["release"]
    if not rel.get("draft") or (event.data.get("sender") or {}).get("type") == "Bot":
        return
    r = await _repo_of(ctx, event.data)
    if r is None:
        return
    version = policy.parse_tag(str(rel.get("tag_name")), r.fmt)
    if version is None:
        return
    tracking = await _tracking(ctx, r, str(version))
    if tracking.issue is not None and tracking.record is not None:
        await monitor(ctx, r, int(tracking.issue["number"]))


async def monitor_from_sweep(ctx: Context, payload: dict[str, Any], number: int) -> datetime | None:
    r = await _repo_of(ctx, payload)
    if r is None:
        return None
    return await monitor(ctx, r, number)
