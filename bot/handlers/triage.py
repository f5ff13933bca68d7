"""Intake and triage on tickets: issue forms, slash commands, hand-set labels, status comment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import gidgethub
from gidgethub import routing, sansio

from bot import apply, commands, state
from bot.config import ConfigResult
from bot.dispatch import Context, github_time
from bot.handlers import gates
from bot.policies import config_check, intake, triage
from bot.ticket import AuditEntry, TicketState, is_owned_label, is_process_issue

router = routing.Router()

FEATURE_LABEL = "feature"


@dataclass
class Ticket:
    """One issue as the handlers see it: snapshot in, then the changes to make."""

    owner: str
    repo: str
    number: int
    issue: dict[str, Any]
    config: ConfigResult
    labels: list[str]
    comments: list[apply.Comment]
    state: TicketState
    status_comment: apply.Comment | None
    now: datetime
    delivery_id: str = ""
    config_default_branch: str = "main"
    extra_labels: set[str] = field(default_factory=set)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    assign: set[str] = field(default_factory=set)
    unassign: set[str] = field(default_factory=set)
    revert_add: set[str] = field(default_factory=set)
    revert_remove: set[str] = field(default_factory=set)

    @property
    def author(self) -> str:
        return str((self.issue.get("user") or {}).get("login", ""))

    @property
    def created_at(self) -> datetime:
        return github_time(self.issue.get("created_at"), self.now)

    @property
    def kind(self) -> triage.RequestKind:
        return "feature" if FEATURE_LABEL in self.labels else "bug"


def _is_pull_request(issue: dict[str, Any]) -> bool:
    return bool(issue.get("pull_request"))


def _not_a_ticket(issue: dict[str, Any]) -> bool:
    """Pull requests, and the issues the bot opens for the process itself, are not triaged."""
    return _is_pull_request(issue) or is_process_issue(issue.get("labels"))


async def _timeline(ctx: Context, owner: str, repo: str, number: int) -> list[state.TimelineEvent]:
    out: list[state.TimelineEvent] = []
    now = ctx.now()
    url = f"/repos/{owner}/{repo}/issues/{number}/timeline"
    async for item in ctx.gh.iterate(url):
        kind = item.get("event")
        if kind not in ("labeled", "unlabeled", "assigned", "unassigned"):
            continue
        at = github_time(item.get("created_at"), now)
        actor = str((item.get("actor") or {}).get("login", ""))
        label = (item.get("label") or {}).get("name")
        assignee = (item.get("assignee") or {}).get("login")
        out.append(state.TimelineEvent(at, actor, kind, label, assignee))
    return out


async def load_ticket(
    ctx: Context, payload: dict[str, Any], *, with_intake: bool = True
) -> Ticket | None:
    """Snapshot a ticket: config, labels, comments and its verified state (or a rebuild).

    A rebuilt state runs intake again unless the caller is about to (`with_intake`).
    """
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    issue = payload["issue"]
    gh = ctx.gh
    config = await ctx.services.configs.load(
        gh, owner, repo, str(repository.get("default_branch") or "main")
    )
    number = int(issue["number"])
    # The payload's labels may be stale when events pile up: read the issue itself.
    try:
        fresh = await gh.get(f"/repos/{owner}/{repo}/issues/{number}")
    except gidgethub.BadRequest as exc:
        if exc.status_code not in (404, 410):
            raise
        # Deleted or transferred since the event was sent: nothing left to act on.
        ctx.log.info("ticket_gone", number=number, status=int(exc.status_code))
        return None
    labels = apply.labels_of(fresh)
    comments = await apply.list_comments(gh, owner, repo, number)
    status_comment = apply.find_marked(comments, state.MARKER, ctx.bot_login)
    now = ctx.now()
    parsed = (
        state.parse(status_comment.body, ctx.services.state_key, number=number)
        if status_comment is not None
        else state.ParsedState(None, "missing")
    )
    ticket_state = parsed.state
    if ticket_state is None:
        timeline = await _timeline(ctx, owner, repo, number)
        if parsed.problem is None or parsed.problem == "missing":
            ticket_state = state.rebuild(number, labels, timeline, config=config.config, now=now)
        else:
            # Anyone with write access can edit the comment: record it where people look.
            ticket_state = state.recover(
                parsed.problem, number, labels, timeline, config=config.config, now=now
            )
            ctx.log.warning("status_comment_tampered", number=number, problem=parsed.problem)
    ticket = Ticket(
        owner=owner,
        repo=repo,
        number=number,
        issue=fresh,
        config=config,
        labels=labels,
        comments=comments,
        state=ticket_state,
        status_comment=status_comment,
        now=now,
        delivery_id=ctx.delivery.id,
        config_default_branch=str(repository.get("default_branch") or "main"),
    )
    if with_intake and parsed.state is None and config.error is None:
        # Labels alone cannot say which fields are missing: read the report again.
        _apply_intake(ticket, actor=ctx.bot_login)
    return ticket


async def save_ticket(ctx: Context, ticket: Ticket) -> None:
    """Make GitHub match the ticket: labels, status comment, then replies and reactions.

    The status comment (with its audit trail) is written before anything that notifies
    people, so a failure half-way never leaves a reply without its record.
    """
    gh = ctx.gh
    owner, repo, number = ticket.owner, ticket.repo, ticket.number
    add, remove = triage.label_diff(ticket.labels, ticket.state)
    add_set = (set(add) | ticket.extra_labels | ticket.revert_remove) - ticket.revert_add
    remove_set = (set(remove) | ticket.revert_add) - ticket.revert_remove
    have = {label.casefold() for label in ticket.labels}
    add_set = {label for label in add_set if label.casefold() not in have}
    remove_set = {label for label in remove_set if label.casefold() in have}
    await apply.change_labels(gh, owner, repo, number, add_set, remove_set)
    changed_labels = add_set | remove_set
    notice = (
        config_check.config_error_notice(ticket.config.error)
        if ticket.config.error is not None
        else None
    )
    cfg = ticket.config.config
    body = state.render(
        ticket.state,
        config=cfg,
        now=ticket.now,
        key=ctx.services.state_key,
        created_at=ticket.created_at,
        risk=triage.risk_score(ticket.state, cfg),
        required_approvers=triage.required_approvers(ticket.state),
        notice=notice,
    )
    _, outcome = await apply.upsert_comment(
        gh, owner, repo, number, body, existing=ticket.status_comment
    )
    await _sync_needs_info(ctx, ticket)
    for comment_id, content in ticket.reactions:
        await apply.react(gh, owner, repo, comment_id, content)
    for index, reply in enumerate(ticket.replies):
        # A redelivery after a later failure must not answer twice: each reply carries
        # the delivery that caused it, and one already there is not posted again.
        marker = f"<!-- lts-bot:reply {ticket.delivery_id} {index} -->"
        if any(c.author == ctx.bot_login and marker in c.body for c in ticket.comments):
            continue
        await gh.post(
            f"/repos/{owner}/{repo}/issues/{number}/comments", {"body": f"{reply}\n\n{marker}"}
        )
    await apply.set_assignees(gh, owner, repo, number, ticket.assign, ticket.unassign)
    if any(gates.affects_gates(label) for label in changed_labels):
        # Our own label changes come back as events the bot ignores: tell the gates here.
        default = str(ticket.config_default_branch)
        await gates.recompute_for_ticket(ctx, owner, repo, default, number)
    ctx.log.info(
        "ticket_saved",
        number=number,
        labels_added=sorted(add_set),
        labels_removed=sorted(remove_set),
        status_comment=outcome,
        replies=len(ticket.replies),
    )


async def _sync_needs_info(ctx: Context, ticket: Ticket) -> None:
    existing = apply.find_marked(ticket.comments, intake.NEEDS_INFO_MARKER, ctx.bot_login)
    missing = ticket.state.missing_fields
    if not missing and existing is None:
        return
    # With nothing missing the same comment turns into "everything is here": one comment,
    # edited in place, never a second one.
    lines = tuple(line.label for line in ticket.config.config.lines)
    body = intake.needs_info_comment(missing, lines=lines)
    await apply.upsert_comment(
        ctx.gh, ticket.owner, ticket.repo, ticket.number, body, existing=existing
    )


def _apply_intake(ticket: Ticket, *, actor: str) -> None:
    issue = ticket.issue
    result = intake.evaluate(
        str(issue.get("title") or ""), issue.get("body"), ticket.labels, ticket.config.config
    )
    before = ticket.state
    after = result.enrich(before)
    changed = _intake_changes(before, after)
    if changed:
        after = after.with_audit(AuditEntry(ticket.now, actor, "intake", changed))
    ticket.state = after
    ticket.extra_labels |= set(result.extra_labels)


_INTAKE_FIELDS = (
    ("missing_fields", "missing"),
    ("cve", "CVE"),
    ("security", "security"),
    ("regression", "regression"),
    ("affects", "affected lines"),
    ("python_versions", "Python"),
    ("package_versions", "packages"),
)


def _intake_changes(before: TicketState, after: TicketState) -> str:
    """What intake changed, for the audit trail ("missing: Logs; CVE: CVE-2026-1234")."""
    parts = []
    for name, title in _INTAKE_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            shown = ", ".join(new) if isinstance(new, tuple) else ("yes" if new else "no")
            parts.append(f"{title}: {shown or 'none'}")
    return "; ".join(parts)


async def _roles(
    ctx: Context, ticket: Ticket, login: str, only: frozenset[str] | None
) -> frozenset[str]:
    if only is not None and not only:
        return frozenset()
    return await ctx.services.authz.roles_of(
        ctx.gh, ticket.owner, ticket.repo, login, ticket.config.config.roles, only=only
    )


def _commands_of(event: sansio.Event, app_slug: str) -> commands.ParseResult:
    body = str(event.data["comment"].get("body") or "")
    if event.data.get("action") == "edited":
        old = str(((event.data.get("changes") or {}).get("body") or {}).get("from") or "")
        return commands.changed_commands(old, body, app_slug=app_slug)
    return commands.parse_comment(body, app_slug=app_slug)


def _sender(event: sansio.Event) -> tuple[str, bool]:
    sender = event.data.get("sender") or {}
    login = str(sender.get("login", ""))
    return login, sender.get("type") == "Bot" or login.endswith("[bot]")


@router.register("issues", action="opened")
@router.register("issues", action="edited")
@router.register("issues", action="reopened")
async def on_issue(event: sansio.Event, ctx: Context) -> None:
    if _not_a_ticket(event.data["issue"]):
        return
    ticket = await load_ticket(ctx, event.data, with_intake=False)
    if ticket is None or ticket.config.error is not None:
        # An invalid policy: report it in the status comment, decide nothing.
        if ticket is not None:
            await save_ticket(ctx, ticket)
        return
    _apply_intake(ticket, actor=_sender(event)[0])
    await save_ticket(ctx, ticket)


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: Context) -> None:
    if _not_a_ticket(event.data["issue"]):
        return
    login, is_bot = _sender(event)
    comment = event.data["comment"]
    author = str((comment.get("user") or {}).get("login", ""))
    if author == ctx.bot_login and not is_bot and event.data.get("action") == "edited":
        await _restore_status_comment(event, ctx, editor=login)
        return
    if is_bot or author != login:
        # Bots never run commands, and an edit by someone else is not their command.
        return
    parsed = _commands_of(event, ctx.services.app_slug)
    if not triage.wants_comment(parsed):
        return
    ticket = await load_ticket(ctx, event.data)
    if ticket is None:
        return
    comment_id = int(comment["id"])
    if ticket.config.error is not None:
        ticket.replies.append(
            f"@{login}, I cannot act on commands until `.github/lts.yml` is fixed:\n\n"
            + config_check.config_error_notice(ticket.config.error)
        )
        await save_ticket(ctx, ticket)
        return
    outcome = triage.apply_comment(
        ticket.state,
        parsed,
        actor=login,
        actor_roles=await _roles(ctx, ticket, login, triage.roles_needed(parsed)),
        is_author=login == ticket.author,
        config=ticket.config.config,
        today=ticket.now.date(),
        now=ticket.now,
        kind=ticket.kind,
    )
    _observe_triage(ctx, ticket, outcome.state)
    ticket.state = outcome.state
    ticket.assign |= set(outcome.assign)
    ticket.unassign |= set(outcome.unassign)
    if outcome.reaction:
        ticket.reactions.append((comment_id, outcome.reaction))
    if outcome.reply:
        ticket.replies.append(outcome.reply)
    await save_ticket(ctx, ticket)


def _observe_triage(ctx: Context, ticket: Ticket, after: TicketState) -> None:
    """Count the time to triage once, when the decision is first made."""
    if ticket.state.decided_at is None and after.decided_at is not None:
        hours = (after.decided_at - ticket.created_at).total_seconds() / 3600
        ctx.services.metrics.time_to_triage.observe(max(hours, 0.0), after.severity or "none")


async def _restore_status_comment(event: sansio.Event, ctx: Context, *, editor: str) -> None:
    """Someone edited one of the bot's comments: put the status comment back as it was.

    A signed block copied from the comment's edit history would verify, so an edit by a
    person is never trusted; the body before the edit (which the bot wrote) is.
    """
    before = str(((event.data.get("changes") or {}).get("body") or {}).get("from") or "")
    if not before.startswith(state.MARKER):
        return
    ticket = await load_ticket(ctx, event.data)
    if ticket is None:
        return
    previous = state.parse(before, ctx.services.state_key, number=ticket.number).state
    if previous is not None:
        ticket.state = previous
    ticket.state = ticket.state.with_audit(
        AuditEntry(ticket.now, editor, "status comment edited", "restored by lts-bot")
    )
    await save_ticket(ctx, ticket)


@router.register("issues", action="labeled")
@router.register("issues", action="unlabeled")
async def on_label(event: sansio.Event, ctx: Context) -> None:
    if _not_a_ticket(event.data["issue"]):
        return
    label = str((event.data.get("label") or {}).get("name", ""))
    if not is_owned_label(label):
        return
    login, is_bot = _sender(event)
    if is_bot:
        return
    added = event.data["action"] == "labeled"
    ticket = await load_ticket(ctx, event.data)
    if ticket is None or ticket.config.error is not None:
        return
    roles = await _roles(ctx, ticket, login, triage.DECIDING_ROLES)
    outcome = triage.apply_label_change(
        ticket.state,
        label,
        added,
        actor=login,
        actor_roles=roles,
        config=ticket.config.config,
        today=ticket.now.date(),
        now=ticket.now,
        kind=ticket.kind,
    )
    _observe_triage(ctx, ticket, outcome.state)
    ticket.state = outcome.state
    if outcome.revert:
        (ticket.revert_add if added else ticket.revert_remove).add(label)
    if outcome.reply:
        ticket.replies.append(outcome.reply)
    await save_ticket(ctx, ticket)
