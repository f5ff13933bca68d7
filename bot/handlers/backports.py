"""Automatic backports: cherry-picks a merged fix onto each LTS line its ticket plans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import gidgethub
from gidgethub import routing, sansio

from bot import apply, commands
from bot.authz import describe
from bot.cherry_pick import AlreadyIn, Conflict, Picked, cherry_pick, temp_branch
from bot.config import LineConfig, RepoConfig
from bot.dispatch import Context
from bot.handlers import gates
from bot.handlers import triage as tickets
from bot.policies import backport, branches
from bot.policies.backport import CommitData, PickPlan
from bot.ticket import (
    BACKPORT_CONFLICT_PREFIX,
    BACKPORT_PREFIX,
    BACKPORTED_PREFIX,
    REGRESSION_LABEL,
    SECURITY_LABEL,
    SEVERITY_PREFIX,
    AuditEntry,
    BackportEntry,
)

router = routing.Router()

MATRIX_MARKER = "<!-- lts-bot:backports -->"
PR_MARKER = "<!-- lts-bot:backport-pr -->"
NO_TICKET_MARKER = "<!-- lts-bot:backport-no-ticket -->"
# Who may ask for a backport on a PR: the triage role, or a role above it in the process.
REQUESTER_ROLES = ("triage", "release-manager", "eng-lead")
WORKFLOWS_DIR = ".github/workflows/"
# Statuses a merge event (or its redelivery) leaves alone; only a person's request retries.
_SETTLED = frozenset({"open", "merged", "already-in"})
_NEEDS_REQUEST = frozenset({"conflict", "failed", "declined"})
# Bounds the branch names tried when `lts/vX.Y/issue-N` is taken by another fix.
_MAX_SUFFIX = 20


def conflict_marker(version: str, source: int) -> str:
    return f"<!-- lts-bot:backport-conflict v{version} pr={source} -->"


def failure_marker(version: str, source: int) -> str:
    return f"<!-- lts-bot:backport-failed v{version} pr={source} -->"


@dataclass
class _Source:
    """The merged fix being backported, read once for all its target lines."""

    owner: str
    repo: str
    default_branch: str
    pr: dict[str, Any]
    config: RepoConfig
    _plan: PickPlan | None = None
    _reviewers: list[str] | None = None
    comments: list[apply.Comment] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.pr["number"])

    @property
    def labels(self) -> set[str]:
        return set(apply.labels_of(self.pr))


def _commit(item: dict[str, Any]) -> CommitData:
    commit = item.get("commit") or {}
    author = commit.get("author") or {}
    return CommitData(
        sha=str(item["sha"]),
        parents=tuple(str(p["sha"]) for p in item.get("parents") or []),
        tree=str((commit.get("tree") or {}).get("sha", "")),
        message=str(commit.get("message") or ""),
        author_name=str(author.get("name") or ""),
        author_email=str(author.get("email") or ""),
        author_date=str(author.get("date") or ""),
    )


async def _plan(ctx: Context, src: _Source) -> PickPlan:
    """What to pick: two listings, shared by every target line."""
    if src._plan is not None:
        return src._plan
    gh, owner, repo = ctx.gh, src.owner, src.repo
    pr_commits = [
        _commit(item)
        async for item in gh.iterate(f"/repos/{owner}/{repo}/pulls/{src.number}/commits")
    ]
    merge_sha = str(src.pr["merge_commit_sha"])
    # The chain up to the merge commit holds the rebased copies after a rebase merge.
    wanted = max(1, len(pr_commits))
    commits: list[CommitData] = []
    async for item in gh.iterate(
        f"/repos/{owner}/{repo}/commits", params={"sha": merge_sha, "per_page": min(wanted, 100)}
    ):
        commits.append(_commit(item))
        if len(commits) >= wanted:
            break
    if not commits or commits[0].sha != merge_sha:
        raise RuntimeError(f"GitHub did not list the merge commit {merge_sha[:7]}")
    src._plan = plan = backport.plan_pick(commits[0], commits, pr_commits)
    ctx.log.info(
        "backport_plan",
        source=src.number,
        method=plan.method,
        commits=[c.sha[:7] for c in plan.commits],
        pr_commits=len(pr_commits),
    )
    return plan


async def _reviewers(ctx: Context, src: _Source) -> list[str]:
    """The original PR's reviewers, to ask on each backport PR."""
    if src._reviewers is None:
        author = str(src.pr["user"]["login"])
        seen: dict[str, None] = {}
        for user in src.pr.get("requested_reviewers") or []:
            seen[str(user["login"])] = None
        async for review in ctx.gh.iterate(
            f"/repos/{src.owner}/{src.repo}/pulls/{src.number}/reviews"
        ):
            if isinstance(review.get("user"), dict):
                seen[str(review["user"]["login"])] = None
        src._reviewers = [
            login
            for login in seen
            if login != author and login != ctx.bot_login and not login.endswith("[bot]")
        ]
    return src._reviewers


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _pr_lines(labels: set[str]) -> set[str]:
    out = set()
    for label in labels:
        if label.startswith(BACKPORT_PREFIX + "v"):
            out.add(label[len(BACKPORT_PREFIX) + 1 :])
    return out


def _refusal(version: str, config: RepoConfig, today: date) -> str | None:
    line = config.line(version)
    if line is None:
        known = ", ".join(f"v{x.version}" for x in config.lines) or "none"
        return f"v{version} is not an LTS line of this repository (configured: {known})"
    if line.eol < today:
        return f"v{version} reached its end of life on {line.eol.isoformat()}"
    return None


async def _find_ticket(ctx: Context, src: _Source) -> tickets.Ticket | None:
    """The first issue the fix references that is an LTS ticket (not a pull request)."""
    base = src.pr.get("base") or {}
    repository = base.get("repo") or {}
    full_name = f"{src.owner}/{src.repo}"
    html_url = str(repository.get("html_url") or "")
    refs = backport.ticket_refs(
        str(src.pr.get("title") or ""),
        str(src.pr.get("body") or ""),
        repo_full_name=full_name,
        html_url=html_url,
    )
    for number in refs[:10]:
        if number == src.number:
            continue
        ticket = await _load_ticket(ctx, src, number)
        if ticket is not None:
            return ticket
    return None


async def _load_ticket(ctx: Context, src: _Source, number: int) -> tickets.Ticket | None:
    payload = {
        "repository": {
            "full_name": f"{src.owner}/{src.repo}",
            "default_branch": src.default_branch,
        },
        "issue": {"number": number},
    }
    ticket = await tickets.load_ticket(ctx, payload)
    if ticket is None or ticket.issue.get("pull_request"):
        return None
    return ticket


async def run(
    ctx: Context,
    src: _Source,
    requested: set[str],
    *,
    explicit: bool,
    actor: str,
    ticket_number: int | None = None,
) -> list[str]:
    """Open (or find) the backport PR of `src` for each line, then record the matrix.

    Returns what a person who asked explicitly should hear about lines left as they were.

    `requested` are the lines asked for now; on a merge, the ticket's plan is added. A
    redelivered event finds each line settled and does nothing; only a person's request
    (`explicit`) retries a line that conflicted, failed or was declined.
    """
    if ticket_number is None:
        ticket = await _find_ticket(ctx, src)
    else:
        ticket = await _load_ticket(ctx, src, ticket_number)
    if ticket is None:
        await _say_no_ticket(ctx, src, requested)
        return []
    if ticket.config.error is not None:
        # lts/config reports the broken policy; nothing is decided under it.
        return []
    new_fix = src.number not in ticket.state.fixes
    if new_fix:
        # Remembered so that a line planned after the merge is backported from it.
        ticket.state = replace(ticket.state, fixes=(*ticket.state.fixes, src.number)[-50:])
    lines = set(requested)
    if not explicit:
        lines |= set(ticket.state.backport)
    entries = ticket.state.backports
    before = entries
    today = ticket.now.date()
    opened: list[int] = []
    notes: list[str] = []
    for version in sorted(lines, key=_version_key, reverse=True):
        current = next((e for e in entries if e.line == version and e.source == src.number), None)
        if current is not None and (
            current.status in _SETTLED or (current.status in _NEEDS_REQUEST and not explicit)
        ):
            if explicit and current.status in _SETTLED:
                what = f"#{current.pr}" if current.pr is not None else current.detail
                notes.append(f"- v{version}: already done ({current.status}: {what})")
            continue
        refusal = _refusal(version, src.config, today)
        if refusal is not None:
            entry = BackportEntry(version, src.number, "declined", detail=refusal, at=ticket.now)
        else:
            line = src.config.line(version)
            assert line is not None
            entry = await _backport_line(ctx, src, ticket, line, entries)
        if entry.pr is not None and entry.status == "open":
            opened.append(entry.pr)
        entries = backport.matrix_transition(entries, entry)
        ticket.state = ticket.state.with_audit(
            AuditEntry(ticket.now, actor, f"backport {entry.status}", _audit_detail(entry))
        )
    if entries == before:
        if new_fix:
            await tickets.save_ticket(ctx, ticket)
        return notes
    ticket.state = replace(ticket.state, backports=entries)
    # The ticket's record first: everything after it can be rebuilt from it.
    await tickets.save_ticket(ctx, ticket)
    await _report_on_source(ctx, src, ticket.number, entries, lines)
    for number in opened:
        # The bot's own "opened" event is dropped at intake: judge the new PR here.
        await gates.recompute(ctx, src.owner, src.repo, number, src.default_branch)
    ctx.log.info(
        "backports_done",
        source=src.number,
        ticket=ticket.number,
        lines={e.line: e.status for e in entries if e.source == src.number},
    )
    return notes


def _audit_detail(entry: BackportEntry) -> str:
    text = f"v{entry.line} from #{entry.source}"
    if entry.pr is not None:
        text += f": #{entry.pr}"
    if entry.detail:
        text += f" ({entry.detail})"
    return text


async def _backport_line(
    ctx: Context,
    src: _Source,
    ticket: tickets.Ticket,
    line: LineConfig,
    entries: tuple[BackportEntry, ...],
) -> BackportEntry:
    """One line: pick, publish the branch, open the PR; every failure becomes an entry."""
    now = ticket.now
    version = line.version
    try:
        entry = await _pick_and_open(ctx, src, ticket, line, entries)
    except gidgethub.BadRequest as exc:
        reason = await _explain(ctx, src, exc)
        ctx.log.warning("backport_failed", source=src.number, line=version, reason=reason)
    except Exception as exc:
        if isinstance(exc, gidgethub.HTTPException):
            reason = f"GitHub answered {int(exc.status_code)} ({exc}), also when retried"
        elif isinstance(exc, gidgethub.GitHubException):
            reason = f"GitHub could not be asked: {type(exc).__name__} {exc}".strip()
        else:
            reason = f"unexpected error ({type(exc).__name__}); the service log has the details"
        ctx.log.exception("backport_failed", source=src.number, line=version)
    else:
        ctx.services.metrics.backports.inc(version, entry.status)
        return entry
    ctx.services.metrics.backports.inc(version, "failed")
    return BackportEntry(version, src.number, "failed", detail=reason, at=now)


async def _explain(ctx: Context, src: _Source, exc: gidgethub.BadRequest) -> str:
    """Why GitHub refused, in words a maintainer can act on."""
    status = int(exc.status_code)
    if status in (403, 404, 422):
        files = [
            str(f.get("filename"))
            async for f in ctx.gh.iterate(f"/repos/{src.owner}/{src.repo}/pulls/{src.number}/files")
        ]
        workflows = [f for f in files if f.startswith(WORKFLOWS_DIR)]
        if workflows:
            return (
                f"the fix changes {', '.join(workflows[:5])}; GitHub lets an App write "
                "workflow files only with the `workflows` permission: grant it to the App, "
                "or backport this one by hand"
            )
    return f"GitHub answered {status}: {exc}"


async def _pick_and_open(
    ctx: Context,
    src: _Source,
    ticket: tickets.Ticket,
    line: LineConfig,
    entries: tuple[BackportEntry, ...],
) -> BackportEntry:
    gh, owner, repo = ctx.gh, src.owner, src.repo
    version, now = line.version, ticket.now
    try:
        head = await gh.get(f"/repos/{owner}/{repo}/branches/{quote(line.branch, safe='')}")
    except gidgethub.BadRequest as exc:
        if exc.status_code != 404:
            raise
        return BackportEntry(
            version,
            src.number,
            "failed",
            detail=f"the branch {line.branch} does not exist: create it, then /backport v{version}",
            at=now,
        )
    base_sha = str(head["commit"]["sha"])
    base_tree = str(head["commit"]["commit"]["tree"]["sha"])
    plan = await _plan(ctx, src)
    changelog = backport.changelog_line(
        str(src.pr.get("title") or ""),
        str(src.pr.get("body") or ""),
        [c.message for c in plan.commits],
    )
    messages = [
        backport.backport_message(
            c.message,
            sha=c.sha,
            version=version,
            ticket=ticket.number,
            changelog=changelog,
            co_author=f"{c.author_name} <{c.author_email}>" if c.author_email else None,
        )
        for c in plan.commits
    ]
    outcome = await cherry_pick(
        gh,
        owner,
        repo,
        base_sha=base_sha,
        base_tree=base_tree,
        commits=plan.commits,
        messages=messages,
        work_branch=temp_branch(version, src.number),
    )
    if isinstance(outcome, AlreadyIn):
        return BackportEntry(
            version, src.number, "already-in", detail=f"{line.branch} has the change", at=now
        )
    if isinstance(outcome, Conflict):
        files = await _conflict_files(ctx, src, outcome, base_sha)
        shown = ", ".join(files[:10]) + (" …" if len(files) > 10 else "")
        detail = f"{outcome.commit[:7]} conflicts" + (f" in {shown}" if files else "")
        free = backport.branch_name(
            version, ticket.number, _taken(entries, src.number, version, ticket.number)
        )
        await _post_conflict(ctx, src, ticket.number, line, plan, files, free)
        return BackportEntry(version, src.number, "conflict", detail=detail, at=now)
    taken = _taken(entries, src.number, version, ticket.number)
    branch = await _publish(ctx, src, ticket.number, version, outcome, plan, taken)
    number = await _open_pr(ctx, src, ticket, line, branch, plan, changelog)
    return BackportEntry(version, src.number, "open", pr=number, at=now)


def _taken(entries: tuple[BackportEntry, ...], source: int, version: str, ticket: int) -> set[str]:
    """Patch branch names other fixes of the ticket hold on this line.

    Only entries with a PR hold a branch; the suffixes follow the order they were made in.
    """
    holders = [e for e in entries if e.line == version and e.source != source and e.pr]
    taken: set[str] = set()
    for _ in holders:
        taken.add(backport.branch_name(version, ticket, taken))
    return taken


async def _publish(
    ctx: Context,
    src: _Source,
    ticket: int,
    version: str,
    picked: Picked,
    plan: PickPlan,
    taken: set[str],
) -> str:
    """Create the patch branch at the picked tip in one step, or find ours already there.

    Creating a ref fails if it exists, so a concurrent or earlier run is detected rather
    than overwritten: the same picked change there is ours (a retry), anything else is
    another fix of the ticket and this one takes the next suffix.
    """
    gh, owner, repo = ctx.gh, src.owner, src.repo
    last = plan.commits[-1].sha
    taken = set(taken)
    for _ in range(_MAX_SUFFIX):
        name = backport.branch_name(version, ticket, taken)
        try:
            await gh.post(
                f"/repos/{owner}/{repo}/git/refs",
                {"ref": f"refs/heads/{name}", "sha": picked.sha},
            )
            return name
        except gidgethub.BadRequest as exc:
            if exc.status_code != 422 or "already exists" not in str(exc).lower():
                raise
        ref = await gh.get(f"/repos/{owner}/{repo}/git/ref/heads/{quote(name, safe='/')}")
        commit = await gh.get(f"/repos/{owner}/{repo}/git/commits/{ref['object']['sha']}")
        if str(
            commit["tree"]["sha"]
        ) == picked.tree and f"(cherry picked from commit {last})" in str(
            commit.get("message") or ""
        ):
            return name
        taken.add(name)
    raise RuntimeError(f"no free branch name for v{version} of #{ticket}")


async def _open_pr(
    ctx: Context,
    src: _Source,
    ticket: tickets.Ticket,
    line: LineConfig,
    branch: str,
    plan: PickPlan,
    changelog: str,
) -> int:
    gh, owner, repo = ctx.gh, src.owner, src.repo
    body = backport.pr_body(
        version=line.version,
        ticket=ticket.number,
        source=src.number,
        source_title=str(src.pr.get("title") or ""),
        changelog=changelog,
        shas=[c.sha for c in plan.commits],
        method=plan.method,
        marker=PR_MARKER,
    )
    try:
        created = await gh.post(
            f"/repos/{owner}/{repo}/pulls",
            {
                "title": backport.pr_title(line.version, str(src.pr.get("title") or "")),
                "head": branch,
                "base": line.branch,
                "body": body,
            },
        )
        number = int(created["number"])
    except gidgethub.BadRequest as exc:
        if exc.status_code != 422 or "already exists" not in str(exc).lower():
            raise
        found = await gh.get(
            f"/repos/{owner}/{repo}/pulls",
            params={"head": f"{owner}:{branch}", "base": line.branch, "state": "open"},
        )
        if not found:
            raise
        return int(found[0]["number"])
    carried = {
        label
        for label in set(ticket.labels) | src.labels
        if label.startswith(SEVERITY_PREFIX) or label in (SECURITY_LABEL, REGRESSION_LABEL)
    }
    await apply.change_labels(gh, owner, repo, number, carried, ())
    reviewers = await _reviewers(ctx, src)
    if reviewers:
        try:
            await gh.post(
                f"/repos/{owner}/{repo}/pulls/{number}/requested_reviewers",
                {"reviewers": reviewers},
            )
        except gidgethub.BadRequest as exc:
            # Someone who lost access since: the PR is still good without the request.
            ctx.log.info("reviewers_not_requested", pr=number, status=exc.status_code)
    return number


async def _conflict_files(
    ctx: Context, src: _Source, conflict: Conflict, base_sha: str
) -> list[str]:
    """Files the conflicting commit changes that also changed on the line since it forked.

    GitHub's merges endpoint does not say which files conflicted; these are the files
    where a conflict can be, which is what a person resolving it needs first.
    """
    gh = ctx.gh
    try:
        picked = await gh.get(f"/repos/{src.owner}/{src.repo}/commits/{conflict.commit}")
        changed = await gh.get(
            f"/repos/{src.owner}/{src.repo}/compare/{conflict.commit}...{base_sha}"
        )
    except gidgethub.BadRequest:
        return []
    mine = {str(f.get("filename")) for f in picked.get("files") or []}
    theirs = {str(f.get("filename")) for f in changed.get("files") or []}
    theirs |= {str(f.get("previous_filename")) for f in changed.get("files") or []}
    return sorted(mine & theirs)


async def _post_conflict(
    ctx: Context,
    src: _Source,
    ticket: int,
    line: LineConfig,
    plan: PickPlan,
    files: list[str],
    branch: str,
) -> None:
    marker = conflict_marker(line.version, src.number)
    body = backport.conflict_comment(
        version=line.version,
        ticket=ticket,
        source=src.number,
        shas=[c.sha for c in plan.commits],
        branch=branch,
        base_branch=line.branch,
        files=files,
        marker=marker,
    )
    await _upsert_on_source(ctx, src, marker, body)


async def _comments(ctx: Context, src: _Source) -> list[apply.Comment]:
    if not src.comments:
        src.comments = await apply.list_comments(ctx.gh, src.owner, src.repo, src.number)
    return src.comments


async def _upsert_on_source(ctx: Context, src: _Source, marker: str, body: str) -> None:
    existing = apply.find_marked(await _comments(ctx, src), marker, ctx.bot_login)
    comment_id, _ = await apply.upsert_comment(
        ctx.gh, src.owner, src.repo, src.number, body, existing=existing
    )
    src.comments = [c for c in src.comments if c.id != comment_id]
    src.comments.append(apply.Comment(comment_id, ctx.bot_login, body))


async def _report_on_source(
    ctx: Context,
    src: _Source,
    ticket: int,
    entries: tuple[BackportEntry, ...],
    lines: set[str],
) -> None:
    """The original PR: its matrix, conflict labels, and a note for each failure."""
    mine = [e for e in entries if e.source == src.number]
    targets = sorted({e.line for e in mine} | lines, key=_version_key, reverse=True)
    matrix = backport.render_matrix(mine, targets, source=src.number)
    body = f"{MATRIX_MARKER}\n### Backports of this fix (ticket #{ticket})\n\n{matrix}\n"
    await _upsert_on_source(ctx, src, MATRIX_MARKER, body)
    for entry in mine:
        if entry.status == "failed":
            marker = failure_marker(entry.line, src.number)
            body = backport.failure_comment(
                version=entry.line,
                ticket=ticket,
                source=src.number,
                reason=entry.detail,
                marker=marker,
            )
            await _upsert_on_source(ctx, src, marker, body)
    await _sync_conflict_labels(ctx, src, mine)


async def _sync_conflict_labels(ctx: Context, src: _Source, mine: list[BackportEntry]) -> None:
    want = {BACKPORT_CONFLICT_PREFIX + "v" + e.line for e in mine if e.status == "conflict"}
    have = {label for label in src.labels if label.startswith(BACKPORT_CONFLICT_PREFIX)}
    await apply.change_labels(ctx.gh, src.owner, src.repo, src.number, want - have, have - want)


async def _say_no_ticket(ctx: Context, src: _Source, requested: set[str]) -> None:
    if not requested and not _pr_lines(src.labels):
        return  # an ordinary merge with nothing asked of the bot
    body = (
        f"{NO_TICKET_MARKER}\nI cannot backport #{src.number}: it references no LTS ticket. "
        "Every backport belongs to a ticket (its branch is `lts/vX.Y/issue-N`): add "
        "`Fixes #N` (or a link to the issue) to this PR's description, then comment "
        "`/backport vX.Y` again."
    )
    await _upsert_on_source(ctx, src, NO_TICKET_MARKER, body)


def requested_lines(src: _Source) -> set[str]:
    """The lines the fix itself asks for with `backport/vX.Y` labels."""
    return _pr_lines(src.labels)


def source_of(payload: dict[str, Any], pr: dict[str, Any], config: RepoConfig) -> _Source:
    """The merged fix of `pr`, ready to be backported."""
    return _source(payload, pr, config)


def _source(payload: dict[str, Any], pr: dict[str, Any], config: RepoConfig) -> _Source:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    return _Source(owner, repo, str(repository.get("default_branch") or "main"), pr, config)


# --- events ------------------------------------------------------------------------------


@router.register("pull_request", action="closed")
async def on_closed(event: sansio.Event, ctx: Context) -> None:
    """A fix merged into the default branch, or a backport PR merged or closed."""
    pr = event.data["pull_request"]
    repository = event.data["repository"]
    default = str(repository.get("default_branch") or "main")
    base = str(pr["base"]["ref"])
    if base == default:
        if not pr.get("merged"):
            return
        owner, repo = str(repository["full_name"]).split("/", 1)
        result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
        src = _source(event.data, pr, result.config)
        sender = str((event.data.get("sender") or {}).get("login", ""))
        await run(ctx, src, _pr_lines(src.labels), explicit=False, actor=sender)
        return
    await _on_line_pr(ctx, event.data, _closed)


Change = Callable[[BackportEntry, LineConfig, dict[str, Any], datetime], BackportEntry | None]


async def _on_line_pr(ctx: Context, payload: dict[str, Any], change: Change) -> None:
    """A PR into an LTS line opened or closed: `change` updates its ticket's matrix."""
    pr = payload["pull_request"]
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
    line = branches.base_line(str(pr["base"]["ref"]), result.config)
    number = branches.ticket_number(str(pr["head"]["ref"]))
    if line is None or number is None:
        return
    ticket = await tickets.load_ticket(ctx, {"repository": repository, "issue": {"number": number}})
    if ticket is None or ticket.issue.get("pull_request"):
        return
    changed = [
        new
        for entry in ticket.state.backports
        if (new := change(entry, line, pr, ticket.now)) is not None
    ]
    if not changed:
        return
    entries = ticket.state.backports
    actor = str((payload.get("sender") or {}).get("login", ""))
    for new in changed:
        entries = backport.matrix_transition(entries, new)
        ticket.state = ticket.state.with_audit(
            AuditEntry(ticket.now, actor, f"backport {new.status}", _audit_detail(new))
        )
    ticket.state = replace(ticket.state, backports=entries)
    if any(new.status == "merged" for new in changed):
        ticket.extra_labels.add(BACKPORTED_PREFIX + line.label)
    await tickets.save_ticket(ctx, ticket)
    for source in sorted({new.source for new in changed}):
        try:
            src_pr = await ctx.gh.get(f"/repos/{owner}/{repo}/pulls/{source}")
        except gidgethub.BadRequest:
            continue
        src = _Source(owner, repo, default, src_pr, result.config)
        await _report_on_source(ctx, src, ticket.number, entries, set())


def _closed(
    entry: BackportEntry, line: LineConfig, pr: dict[str, Any], now: datetime
) -> BackportEntry | None:
    """The backport PR closed: merged, or declined."""
    if entry.pr != int(pr["number"]):
        return None
    if pr.get("merged"):
        sha = str(pr.get("merge_commit_sha") or "")[:7]
        return replace(entry, status="merged", detail=f"merged as {sha}", at=now)
    return replace(entry, status="declined", detail="closed without merging", at=now)


def _opened(
    entry: BackportEntry, line: LineConfig, pr: dict[str, Any], now: datetime
) -> BackportEntry | None:
    """A person opened the backport lts-bot could not make (or one to replace its own)."""
    number = int(pr["number"])
    if (
        entry.line == line.version
        and entry.status in ("requested", "conflict", "failed", "declined")
        # A declined entry may name the closed bot PR this one replaces.
        and (entry.pr is None or entry.pr == number or entry.status == "declined")
    ):
        return replace(entry, status="open", pr=number, detail="opened by hand", at=now)
    return None


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
async def on_backport_opened(event: sansio.Event, ctx: Context) -> None:
    """A PR into an LTS line from `lts/vX.Y/issue-N`: the ticket's matrix links it."""
    await _on_line_pr(ctx, event.data, _opened)


async def backport_ticket_fixes(
    ctx: Context, payload: dict[str, Any], lines: set[str], *, explicit: bool, actor: str
) -> None:
    """Lines newly planned (or asked for again) on a ticket: backport its merged fixes."""
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    number = int(payload["issue"]["number"])
    ticket = await tickets.load_ticket(
        ctx, {"repository": repository, "issue": {"number": number}}, with_intake=False
    )
    if ticket is None or ticket.config.error is not None:
        return
    # Only lines the triage handler accepted into the plan (it ran first, and refuses
    # what the actor may not ask for or the line may not take).
    lines &= set(ticket.state.backport)
    if not lines or not ticket.state.fixes:
        return
    for fix in ticket.state.fixes:
        try:
            pr = await ctx.gh.get(f"/repos/{owner}/{repo}/pulls/{fix}")
        except gidgethub.BadRequest as exc:
            if exc.status_code not in (404, 410):
                raise
            continue
        if not pr.get("merged"):
            continue
        src = _Source(owner, repo, default, pr, ticket.config.config)
        await run(ctx, src, lines, explicit=explicit, actor=actor, ticket_number=number)


async def _may_request(ctx: Context, payload: dict[str, Any], login: str) -> bool:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
    roles = await ctx.services.authz.roles_of(
        ctx.gh, owner, repo, login, result.config.roles, only=REQUESTER_ROLES
    )
    return bool(roles)


def _requested(body: str, app_slug: str) -> tuple[set[str], set[str]]:
    """The lines a comment's `/backport` and `/remove-backport` commands name."""
    parsed = commands.parse_comment(body, app_slug=app_slug)
    wanted: set[str] = set()
    withdrawn: set[str] = set()
    for command in parsed.commands:
        if isinstance(command, commands.BackportCommand):
            wanted |= set(command.versions)
        elif isinstance(command, commands.RemoveBackportCommand):
            withdrawn |= set(command.versions)
    return wanted, withdrawn


@router.register("issues", action="labeled")
async def on_ticket_labeled(event: sansio.Event, ctx: Context) -> None:
    """A `backport/vX.Y` label put on a ticket by hand: its merged fixes are backported."""
    if event.data["issue"].get("pull_request"):
        return
    versions = _pr_lines({str((event.data.get("label") or {}).get("name", ""))})
    if versions:
        actor = str((event.data.get("sender") or {}).get("login", ""))
        await backport_ticket_fixes(ctx, event.data, versions, explicit=False, actor=actor)


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: Context) -> None:
    """`/backport v1.4 ...`: on a PR now if it is merged, else queued as labels until it is;
    on a ticket, for each fix of it already merged (a conflict or failure is tried again).
    """
    issue = event.data["issue"]
    sender = event.data.get("sender") or {}
    login = str(sender.get("login", ""))
    if sender.get("type") == "Bot" or login != str(event.data["comment"]["user"]["login"]):
        return
    wanted, withdrawn = _requested(
        str(event.data["comment"].get("body") or ""), ctx.services.app_slug
    )
    if not issue.get("pull_request"):
        if wanted and await _may_request(ctx, event.data, login):
            # The triage handler answers a refused command; a retry needs the role too.
            await backport_ticket_fixes(ctx, event.data, wanted, explicit=True, actor=login)
        return
    if not wanted and not withdrawn:
        return
    repository = event.data["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    default = str(repository.get("default_branch") or "main")
    number = int(issue["number"])
    gh = ctx.gh
    result = await ctx.services.configs.load(gh, owner, repo, default)
    config = result.config
    reply_marker = f"<!-- lts-bot:reply {ctx.delivery.id} backport -->"
    roles = await ctx.services.authz.roles_of(
        gh, owner, repo, login, config.roles, only=REQUESTER_ROLES
    )
    if not roles:
        await _reply(
            ctx,
            owner,
            repo,
            number,
            f"@{login}, only the triage role, a release manager or an eng lead can request "
            f"backports (triage: {describe('triage', config.roles)}). Ask a triager to comment "
            f"`/backport {' '.join('v' + v for v in sorted(wanted or withdrawn))}`.",
            reply_marker,
        )
        return
    pr = await gh.get(f"/repos/{owner}/{repo}/pulls/{number}")
    today = ctx.now().date()
    refused = {v: r for v in sorted(wanted) if (r := _refusal(v, config, today)) is not None}
    wanted -= set(refused)
    notes = [f"- v{v}: {reason}" for v, reason in refused.items()]
    if str(pr["base"]["ref"]) != default:
        notes.append(
            f"- backports start from fixes merged into `{default}`; this PR targets "
            f"`{pr['base']['ref']}`"
        )
        await _reply(ctx, owner, repo, number, f"@{login}:\n" + "\n".join(notes), reply_marker)
        return
    labels = set(apply.labels_of(pr))
    add = {BACKPORT_PREFIX + "v" + v for v in wanted}
    remove = {BACKPORT_PREFIX + "v" + v for v in withdrawn} & labels
    await apply.change_labels(gh, owner, repo, number, add - labels, remove)
    if not pr.get("merged") and wanted:
        versions = ", ".join("v" + v for v in sorted(wanted))
        if pr.get("state") == "closed":
            notes.append(
                f"- queued {versions}: this PR was closed without merging; the backport PRs "
                "open if it is reopened and merged"
            )
        else:
            notes.append(
                f"- queued {versions}: this PR is not merged yet; the backport PRs open when "
                "it merges"
            )
        wanted = set()
    if wanted:
        pr["labels"] = [{"name": name} for name in labels | add]
        src = _Source(owner, repo, default, pr, config)
        notes += await run(ctx, src, wanted, explicit=True, actor=login)
    if notes:
        await _reply(ctx, owner, repo, number, f"@{login}:\n" + "\n".join(notes), reply_marker)


@router.register("pull_request", action="labeled")
async def on_labeled(event: sansio.Event, ctx: Context) -> None:
    """A `backport/vX.Y` label put on an already merged fix by hand: backport now."""
    pr = event.data["pull_request"]
    label = str((event.data.get("label") or {}).get("name", ""))
    versions = _pr_lines({label})
    if not versions or not pr.get("merged"):
        return
    repository = event.data["repository"]
    default = str(repository.get("default_branch") or "main")
    if str(pr["base"]["ref"]) != default:
        return
    owner, repo = str(repository["full_name"]).split("/", 1)
    result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
    src = _source(event.data, pr, result.config)
    actor = str((event.data.get("sender") or {}).get("login", ""))
    await run(ctx, src, versions, explicit=True, actor=actor)


async def _reply(ctx: Context, owner: str, repo: str, number: int, text: str, marker: str) -> None:
    comments = await apply.list_comments(ctx.gh, owner, repo, number)
    if any(c.author == ctx.bot_login and marker in c.body for c in comments):
        return  # a redelivery: answered already
    await ctx.gh.post(
        f"/repos/{owner}/{repo}/issues/{number}/comments", {"body": f"{text}\n\n{marker}"}
    )
