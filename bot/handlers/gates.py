"""PR gates on LTS branches: recomputes the four lts/* check runs from current state."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import gidgethub
from gidgethub import routing, sansio

from bot import apply, commands, pr_state
from bot.authz import describe
from bot.config import RepoConfig
from bot.decisions import CheckRunDecision
from bot.dispatch import Context, github_time
from bot.policies import (
    approvals,
    branches,
    commit_message,
    fidelity,
    gate,
    pr_comments,
    reminders,
)
from bot.policies.approvals import Review
from bot.policies.sla import add_duration
from bot.ticket import AUDIT_LABEL, BACKPORT_PREFIX, SECURITY_LABEL, TRIAGE_PREFIX, AuditEntry

router = routing.Router()

FAST_TRACK_LABEL = "fast-track"
_HUNK = re.compile(r"^@@ [^@]* @@", re.M)
# What `git cherry-pick -x` (and the bot's backports) leave in a picked commit's message.
_PICKED_FROM = re.compile(r"^\(cherry picked from commit ([0-9a-f]{40})\)[ \t]*$", re.M)
# Bounds the originals read for one PR: each costs a request.
MAX_ORIGINALS = 20
# GitHub lists at most this many files of a pull request.
_MAX_PR_FILES = 3000
# PENDING reviews are drafts nobody else sees yet.
_REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"})


async def _patch_id(ctx: Context, owner: str, repo: str, base: str, sha: str) -> str:
    """A stable id of the change `sha` makes on top of `base` (hunk positions ignored).

    A rebase that leaves the change as it was gives the same id, so sign-offs survive it.
    """
    data = await ctx.gh.get(f"/repos/{owner}/{repo}/compare/{base}...{sha}")
    digest = hashlib.sha256()
    for item in sorted(data.get("files") or [], key=lambda f: str(f.get("filename"))):
        digest.update(str(item.get("filename")).encode())
        digest.update(_HUNK.sub("@@", str(item.get("patch") or "")).encode())
    return digest.hexdigest()


def _file_diff(item: dict[str, Any]) -> fidelity.FileDiff:
    patch = item.get("patch")
    previous = item.get("previous_filename")
    return fidelity.FileDiff(
        filename=str(item.get("filename")),
        status=str(item.get("status") or "modified"),
        patch=patch if isinstance(patch, str) else None,
        previous_filename=previous if isinstance(previous, str) else None,
    )


async def _fidelity(
    ctx: Context,
    owner: str,
    repo: str,
    number: int,
    commits: list[commit_message.CommitInfo],
) -> CheckRunDecision:
    """Compare the PR's change with the commits it says it was cherry-picked from."""
    originals: dict[str, None] = {}
    for commit in commits:
        for sha in _PICKED_FROM.findall(commit.message):
            originals[sha] = None
    shas = list(originals)[:MAX_ORIGINALS]
    if not shas:
        return fidelity.evaluate(fidelity.FidelitySnapshot(backport=(), original=None))
    gh = ctx.gh
    mine = [
        _file_diff(item) async for item in gh.iterate(f"/repos/{owner}/{repo}/pulls/{number}/files")
    ]
    truncated = len(mine) >= _MAX_PR_FILES or len(originals) > len(shas)
    merged: dict[str, fidelity.FileDiff] = {}
    missing: list[str] = []
    for sha in shas:
        try:
            data = await gh.get(f"/repos/{owner}/{repo}/commits/{sha}")
        except gidgethub.BadRequest as exc:
            if exc.status_code not in (404, 422):
                raise
            missing.append(sha[:7])
            continue
        for item in data.get("files") or []:
            diff = _file_diff(item)
            known = merged.get(diff.filename)
            if known is not None:
                # Several originals touch one file: their changes are judged together.
                patch = None
                if known.patch is not None and diff.patch is not None:
                    patch = known.patch + "\n" + diff.patch
                diff = fidelity.FileDiff(
                    diff.filename, known.status, patch, known.previous_filename
                )
            merged[diff.filename] = diff
    if missing and not merged:
        return CheckRunDecision(
            name=fidelity.CHECK_NAME,
            conclusion="neutral",
            title="The original change cannot be read",
            summary=f"The commits named by `(cherry picked from commit …)` "
            f"({', '.join(missing)}) are not in this repository, so there is nothing to "
            "compare this pull request with. Compare it with the original by hand.",
        )
    return fidelity.evaluate(
        fidelity.FidelitySnapshot(
            backport=tuple(mine),
            original=tuple(merged.values()),
            original_refs=tuple(s[:7] for s in shas if s[:7] not in missing),
            truncated=truncated or bool(missing),
        )
    )


async def _roles(
    ctx: Context, owner: str, repo: str, logins: set[str], config: RepoConfig
) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for login in sorted(logins):
        out[login] = await ctx.services.authz.roles_of(ctx.gh, owner, repo, login, config.roles)
    return out


async def _ticket(
    ctx: Context, owner: str, repo: str, number: int | None
) -> branches.TicketSnapshot | None:
    if number is None:
        return None
    try:
        issue = await ctx.gh.get(f"/repos/{owner}/{repo}/issues/{number}")
    except gidgethub.BadRequest as exc:
        if exc.status_code not in (404, 410):
            raise
        return branches.TicketSnapshot(number=number, exists=False)
    return branches.TicketSnapshot(
        number=number,
        exists=True,
        is_pull_request=bool(issue.get("pull_request")),
        labels=tuple(apply.labels_of(issue)),
    )


async def _check_runs(ctx: Context, owner: str, repo: str, sha: str) -> list[dict[str, Any]]:
    """Every check run on the head, CI's and our own, in one listing."""
    return [
        run
        async for run in ctx.gh.iterate(
            f"/repos/{owner}/{repo}/commits/{sha}/check-runs",
            params={"filter": "latest"},
            iterable_key="check_runs",
        )
    ]


def _ci(runs: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for run in runs:
        name = str(run.get("name"))
        if name in names and name not in latest:
            latest[name] = "pending" if run.get("status") != "completed" else run.get("conclusion")
    return {name: latest.get(name) for name in names}


async def recompute(
    ctx: Context,
    owner: str,
    repo: str,
    number: int,
    default_branch: str,
    *,
    remind: bool = False,
) -> datetime | None:
    """Read the pull request as it is now and rewrite the lts/* check runs that changed.

    With `remind` (the sweep), a PR that has waited on sign-offs alone for longer than
    `sla.approval_wait` gets one reminder naming the missing roles. Returns when such a
    reminder can next fall due, if it can.
    """
    gh = ctx.gh
    result = await ctx.services.configs.load(gh, owner, repo, default_branch)
    config = result.config
    try:
        pr = await gh.get(f"/repos/{owner}/{repo}/pulls/{number}")
    except gidgethub.BadRequest as exc:
        if exc.status_code not in (404, 410):
            raise
        # A check run can name a PR of another repository, or one gone since.
        ctx.log.info("pull_request_gone", number=number)
        return None
    base_ref = str(pr["base"]["ref"])
    line = branches.base_line(base_ref, config)
    if line is None or result.error is not None or pr.get("state") != "open":
        # Not an LTS branch (or a closed PR, or a broken policy reported by lts/config).
        return None
    head_sha = str(pr["head"]["sha"])
    head_ref = str(pr["head"]["ref"])
    author = str(pr["user"]["login"])
    now = ctx.now()
    ticket = await _ticket(ctx, owner, repo, branches.ticket_number(head_ref))
    branch = branches.evaluate(branches.BranchSnapshot(base_ref, head_ref, ticket), config)

    commits: list[commit_message.CommitInfo] = []
    commit_authors: set[str] = set()
    async for item in gh.iterate(f"/repos/{owner}/{repo}/pulls/{number}/commits"):
        commits.append(
            commit_message.CommitInfo(
                str(item["sha"]), str(item["commit"]["message"]), len(item.get("parents") or [])
            )
        )
        if isinstance(item.get("author"), dict):
            commit_authors.add(str(item["author"]["login"]))
    repo_url = str(pr.get("base", {}).get("repo", {}).get("html_url") or "")
    messages = commit_message.evaluate(
        commits,
        ticket=ticket.number if ticket else None,
        base_version=line.version,
        repo_url=repo_url,
        config=config,
    )

    reviews = [
        Review(
            str(r["user"]["login"]),
            cast(approvals.ReviewState, r["state"]),
            str(r.get("commit_id") or ""),
            github_time(r.get("submitted_at"), now),
            str(r.get("body") or ""),
        )
        async for r in gh.iterate(f"/repos/{owner}/{repo}/pulls/{number}/reviews")
        if isinstance(r.get("user"), dict) and r.get("state") in _REVIEW_STATES
    ]
    comments = await apply.list_comments(gh, owner, repo, number)
    record = apply.find_marked(comments, pr_state.MARKER, ctx.bot_login)
    state = (
        pr_state.decode(record.body, ctx.services.state_key, number) if record else None
    ) or pr_state.PrState(number)
    read = pr_comments.read_comments(
        [
            pr_comments.PrComment(c.id, c.author, github_time(c.created_at, now), c.body)
            for c in comments
        ],
        state,
        head_sha,
        app_slug=ctx.services.app_slug,
    )
    state = read.state
    people = read.people() | {r.author for r in reviews}
    roles_of = await _roles(ctx, owner, repo, people, config)
    # Only an eng lead's /fast-track switches the matrix; the label just shows it.
    fast_track = pr_comments.fast_track_in_force(read.fast_tracks, roles_of)
    base_sha = str(pr["base"]["sha"])
    patch_ids: dict[str, str] = {}
    other_shas = {s.sha for s in state.sign_offs} | {r.commit_sha for r in reviews}
    if other_shas - {head_sha, ""}:
        patch_ids[head_sha] = await _patch_id(ctx, owner, repo, base_sha, head_sha)
        for sha in sorted(other_shas - {head_sha, ""}):
            patch_ids[sha] = await _patch_id(ctx, owner, repo, base_sha, sha)
    labels = set(apply.labels_of(pr)) | set(ticket.labels if ticket else ())
    approval = approvals.evaluate(
        approvals.ApprovalSnapshot(
            pr_author=author,
            head_sha=head_sha,
            commit_authors=frozenset(commit_authors),
            patch_ids=patch_ids,
            reviews=reviews,
            sign_offs=state.sign_offs,
            roles_of=roles_of,
            security=SECURITY_LABEL in labels,
            fast_track=fast_track is not None,
        ),
        config,
    )
    runs = await _check_runs(ctx, owner, repo, head_sha)
    ci = _ci(runs, tuple(config.checks.required))
    triaged = ticket is not None and {
        TRIAGE_PREFIX + "backport",
        BACKPORT_PREFIX + line.label,
    } <= set(ticket.labels)
    if state.sign_offs or record is not None or read.fast_tracks:
        body = pr_state.render(state, ctx.services.state_key)
        await apply.upsert_comment(gh, owner, repo, number, body, existing=record)
    pr_labels = set(apply.labels_of(pr))
    if (fast_track is not None) != (FAST_TRACK_LABEL in pr_labels):
        add = {FAST_TRACK_LABEL} if fast_track is not None else set()
        await apply.change_labels(gh, owner, repo, number, add, {FAST_TRACK_LABEL} - add)
    if fast_track is not None and fast_track.new:
        await _record_fast_track(ctx, owner, repo, default_branch, ticket, fast_track)
    for refused in pr_comments.refused_fast_tracks(read.fast_tracks, roles_of):
        # Recorded as seen above before this reply, so it is answered once.
        await gh.post(
            f"/repos/{owner}/{repo}/issues/{number}/comments",
            {
                "body": f"@{refused.actor}, only an eng lead can use /fast-track "
                f"({describe('eng-lead', config.roles)}); the normal approval matrix "
                "still applies."
            },
        )
    fidelity_decision = await _fidelity(ctx, owner, repo, number, commits)
    latest: dict[str, bool] = {}
    for sign_off in state.sign_offs:
        if sign_off.role == "release-manager" and sign_off.sha == head_sha:
            # Each person's last word counts: `/approve cancel` withdraws the acceptance.
            latest[sign_off.actor] = not sign_off.cancel
    accepted_by = next(
        (
            actor
            for actor, standing in latest.items()
            if standing and "release-manager" in roles_of.get(actor, frozenset())
        ),
        None,
    )
    outcomes = {}
    urls = {
        str(run["name"]): str(run["html_url"])
        for run in runs
        if run.get("html_url") and str(run.get("name")) in config.checks.required
    }
    decision: CheckRunDecision
    for decision in (branch, messages, fidelity_decision, approval.decision):
        run_id, outcomes[decision.name] = await gh.upsert_check_run(
            owner, repo, head_sha, decision, app_id=ctx.services.app_id, known_runs=runs
        )
        if repo_url:
            # GitHub's page of a check run; the gate links each part to it.
            urls[decision.name] = f"{repo_url}/runs/{run_id}"
    snapshot = gate.GateSnapshot(
        branch_name=branch.conclusion,
        commit_message=messages.conclusion,
        approvals=approval.decision.conclusion,
        required_checks=ci,
        ticket_triaged_for_line=triaged,
        ticket_number=ticket.number if ticket else None,
        line_version=line.version,
        hold=gate.hold_state(read.holds, roles_of),
        check_urls=urls,
        fidelity=fidelity_decision.conclusion,
        fidelity_accepted_by=accepted_by,
    )
    verdict = gate.evaluate(snapshot)
    before = next((r for r in runs if r.get("name") == verdict.name), None)
    run_id, outcomes[verdict.name] = await gh.upsert_check_run(
        owner, repo, head_sha, verdict, app_id=ctx.services.app_id, known_runs=runs
    )
    ctx.log.info("gates_recomputed", number=number, head=head_sha[:7], check_runs=outcomes)
    waiting_only_on_sign_offs = approval.missing and all(
        p.state == "pass" or p.name == approvals.CHECK_NAME for p in gate.parts(snapshot)
    )
    if not waiting_only_on_sign_offs or f"approvals:{head_sha}" in state.reminded:
        return None
    unchanged = outcomes[verdict.name] == "unchanged"
    since = github_time((before or {}).get("completed_at"), now) if unchanged else now
    if remind and unchanged:
        await _remind_approvals(
            ctx, owner, repo, number, head_sha, state, record, approval.missing, since, config
        )
    return _due_at(since, config)


def _due_at(since: datetime, config: RepoConfig) -> datetime:
    """When a PR green but for sign-offs since `since` is owed a reminder."""
    return add_duration(since, config.sla.approval_wait, config.sla)


async def _remind_approvals(
    ctx: Context,
    owner: str,
    repo: str,
    number: int,
    head_sha: str,
    state: pr_state.PrState,
    record: apply.Comment | None,
    missing: tuple[str, ...],
    since: datetime,
    config: RepoConfig,
) -> None:
    """One reminder per head commit, recorded in the PR's signed record before it is posted."""
    now = ctx.now()
    key = f"approvals:{head_sha}"
    if key in state.reminded or now < _due_at(since, config):
        return
    gh = ctx.gh
    state = replace(state, reminded=(*state.reminded, key))
    await apply.upsert_comment(
        gh, owner, repo, number, pr_state.render(state, ctx.services.state_key), existing=record
    )
    marker = f"<!-- lts-bot:approval-reminder {head_sha} -->"
    # Another replica may have posted since this one read the comments: look again.
    comments = await apply.list_comments(gh, owner, repo, number)
    if any(c.author == ctx.bot_login and c.body.startswith(marker) for c in comments):
        return
    body = reminders.approval_reminder(
        number=number,
        missing=[(role, approvals.who_can(role, config)) for role in missing],
        waited=now - since,
        marker=marker,
    )
    await gh.post(f"/repos/{owner}/{repo}/issues/{number}/comments", {"body": body})
    ctx.log.info("approval_reminder_posted", number=number, missing=list(missing))


async def _record_fast_track(
    ctx: Context,
    owner: str,
    repo: str,
    default_branch: str,
    ticket: branches.TicketSnapshot | None,
    request: pr_comments.FastTrackRequest,
) -> None:
    """Put the fast-track in the ticket's audit trail, as the seed asks."""
    if ticket is None or not ticket.exists or ticket.is_pull_request:
        return
    from bot.handlers import triage as tickets  # the triage handler imports this module

    payload = {
        "repository": {"full_name": f"{owner}/{repo}", "default_branch": default_branch},
        "issue": {"number": ticket.number},
    }
    loaded = await tickets.load_ticket(ctx, payload)
    if loaded is None:
        return
    loaded.state = loaded.state.with_audit(
        AuditEntry(loaded.now, request.actor, "fast-track", request.reason)
    )
    await tickets.save_ticket(ctx, loaded)


def _pr_key(payload: dict[str, Any]) -> tuple[str, str, str]:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    return owner, repo, str(repository.get("default_branch") or "main")


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="edited")
@router.register("pull_request", action="labeled")
@router.register("pull_request", action="unlabeled")
@router.register("pull_request", action="ready_for_review")
@router.register("pull_request_review", action="submitted")
@router.register("pull_request_review", action="dismissed")
@router.register("pull_request_review", action="edited")
async def on_pull_request(event: sansio.Event, ctx: Context) -> None:
    owner, repo, default = _pr_key(event.data)
    await recompute(ctx, owner, repo, int(event.data["pull_request"]["number"]), default)


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_pr_comment(event: sansio.Event, ctx: Context) -> None:
    issue = event.data["issue"]
    if not issue.get("pull_request"):
        return
    body = str(event.data["comment"].get("body") or "")
    parsed = commands.parse_comment(body, app_slug=ctx.services.app_slug)
    if not any(c.verb in pr_comments.GATE_VERBS for c in parsed.commands):
        return
    owner, repo, default = _pr_key(event.data)
    await recompute(ctx, owner, repo, int(issue["number"]), default)


@router.register("pull_request", action="closed")
async def on_merged(event: sansio.Event, ctx: Context) -> None:
    """A fast-tracked PR merged: open its post-facto audit issue (once)."""
    pr = event.data["pull_request"]
    labels = set(apply.labels_of(pr))
    if not pr.get("merged") or FAST_TRACK_LABEL not in labels:
        return
    owner, repo, _ = _pr_key(event.data)
    number = int(pr["number"])
    marker = f"<!-- lts-bot:fast-track-audit pr={number} -->"
    gh = ctx.gh
    async for issue in gh.iterate(
        f"/repos/{owner}/{repo}/issues", params={"labels": AUDIT_LABEL, "state": "all"}
    ):
        if marker in str(issue.get("body") or ""):
            return
    comments = await apply.list_comments(gh, owner, repo, number)
    lines = [
        f"- {c.created_at or '?'} `{c.author}`: {c.body.splitlines()[0][:120] if c.body else ''}"
        for c in comments
        if not c.author.endswith("[bot]")
    ]
    who = [c.author for c in comments if c.body.lstrip().lower().startswith("/fast-track")]
    body = "\n".join(
        [
            marker,
            f"#{number} was merged on the emergency fast-track. The LTS process requires a "
            "post-facto audit and a postmortem.",
            "",
            "### Timeline",
            *lines,
            f"- {pr.get('merged_at')}: merged as `{str(pr.get('merge_commit_sha'))[:7]}`",
            "",
            "### Postmortem checklist",
            "- [ ] Gather the timeline from the ticket and the logs",
            "- [ ] Identify the root cause and contributing factors",
            "- [ ] Review what the fast-track skipped (QA, extended tests) and run it now",
            "- [ ] Document corrective actions (tests, process, automation)",
            "- [ ] Assign owners and deadlines for the follow-ups",
            "- [ ] Share the postmortem and update the runbooks",
        ]
    )
    await gh.post(
        f"/repos/{owner}/{repo}/issues",
        {
            "title": f"Post-facto audit: #{number} {pr.get('title', '')}"[:250],
            "body": body,
            "labels": [AUDIT_LABEL],
            "assignees": who[-1:],
        },
    )


@router.register("check_run", action="completed")
@router.register("check_run", action="rerequested")
@router.register("check_suite", action="completed")
async def on_check(event: sansio.Event, ctx: Context) -> None:
    obj = event.data.get("check_run") or event.data.get("check_suite") or {}
    owner, repo, default = _pr_key(event.data)
    numbers = {int(p["number"]) for p in obj.get("pull_requests") or [] if "number" in p}
    if not numbers:
        # Fork PRs are not listed on check runs: find open PRs with this head.
        sha = obj.get("head_sha")
        async for pr in ctx.gh.iterate(f"/repos/{owner}/{repo}/pulls", params={"state": "open"}):
            if pr["head"]["sha"] == sha:
                numbers.add(int(pr["number"]))
    for number in sorted(numbers):
        await recompute(ctx, owner, repo, number, default)


def affects_gates(label: str) -> bool:
    """Whether a ticket label is one the gate reads (its decision, targets, security)."""
    return label.startswith((TRIAGE_PREFIX, BACKPORT_PREFIX)) or label == SECURITY_LABEL


async def recompute_for_ticket(
    ctx: Context, owner: str, repo: str, default_branch: str, ticket: int
) -> None:
    """Judge again every open patch PR of a ticket whose triage changed."""
    async for pr in ctx.gh.iterate(f"/repos/{owner}/{repo}/pulls", params={"state": "open"}):
        if branches.ticket_number(str(pr["head"]["ref"])) == ticket:
            await recompute(ctx, owner, repo, int(pr["number"]), default_branch)


@router.register("issues", action="labeled")
@router.register("issues", action="unlabeled")
async def on_ticket_label(event: sansio.Event, ctx: Context) -> None:
    """A person changed a ticket's triage labels: its open patch PRs are judged again.

    The bot's own label changes do not come back as events it handles; the triage
    handler calls recompute_for_ticket itself after changing them.
    """
    if event.data["issue"].get("pull_request"):
        return
    if not affects_gates(str((event.data.get("label") or {}).get("name", ""))):
        return
    owner, repo, default = _pr_key(event.data)
    await recompute_for_ticket(ctx, owner, repo, default, int(event.data["issue"]["number"]))
