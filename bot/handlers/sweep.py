"""The sweep's work items: SLA reminders, stale gates and missed backports, like webhooks."""

from __future__ import annotations

from typing import Any

import gidgethub
from gidgethub import routing, sansio

from bot import apply
from bot.authz import describe
from bot.config import RepoConfig, RoleName
from bot.dispatch import Context
from bot.handlers import backports, gates, releases
from bot.handlers import triage as tickets
from bot.policies import reminders, triage
from bot.sweep import SWEEP_EVENT, quiet_until

router = routing.Router()


def _mentions(role: RoleName, config: RepoConfig) -> tuple[str, ...]:
    return tuple(member.mention for member in config.roles.members(role))


def _repo(payload: dict[str, Any]) -> tuple[str, str, str]:
    repository = payload["repository"]
    owner, repo = str(repository["full_name"]).split("/", 1)
    return owner, repo, str(repository.get("default_branch") or "main")


def _note(ctx: Context, kind: str, number: int, updated_at: str, until: Any) -> None:
    sweeper = ctx.services.sweeper
    if sweeper is not None:
        owner, repo, _ = _repo(ctx.delivery.payload)
        sweeper.note(f"{owner}/{repo}", kind, number, updated_at, until)


async def _pull(ctx: Context, owner: str, repo: str, number: int) -> dict[str, Any] | None:
    """The PR as it is now, or None if it is gone."""
    try:
        pr: dict[str, Any] = await ctx.gh.get(f"/repos/{owner}/{repo}/pulls/{number}")
    except gidgethub.BadRequest as exc:
        if exc.status_code not in (404, 410):
            raise
        return None
    return pr


@router.register(SWEEP_EVENT, action="ticket")
async def on_ticket(event: sansio.Event, ctx: Context) -> None:
    """Post the reminders a ticket's clocks owe, once each; repair labels that drifted."""
    ticket = await tickets.load_ticket(ctx, event.data, with_intake=False)
    if ticket is None or ticket.config.error is not None or ticket.issue.get("pull_request"):
        return
    config = ticket.config.config
    sla = config.sla
    state = ticket.state
    owner = (f"@{state.owner}",) if state.owner else _mentions("triage", config)
    snapshot = reminders.ReminderSnapshot(
        state=state,
        created_at=ticket.created_at,
        closed=ticket.issue.get("state") == "closed",
        owner_mentions=owner,
        owner_fallback=describe("triage", config.roles),
        escalation_mentions=_mentions(sla.escalate_to, config),
        escalation_fallback=describe(sla.escalate_to, config.roles),
    )
    due = reminders.due(snapshot, sla, ticket.now)
    add, remove = triage.label_diff(ticket.labels, state)
    if due:
        # Recorded in the signed state first: whatever runs next finds them sent.
        ticket.state = reminders.record(state, due, ticket.now, ctx.bot_login)
        ticket.extra_labels |= {r.label for r in due if r.label}
    if due or add or remove:
        await tickets.save_ticket(ctx, ticket)
    if due:
        # A second replica may have recorded and posted the same reminder meanwhile.
        posted = await apply.list_comments(ctx.gh, ticket.owner, ticket.repo, ticket.number)
        for reminder in due:
            marker = reminder.body.split("\n", 1)[0]
            if any(c.author == ctx.bot_login and c.body.startswith(marker) for c in posted):
                continue
            await ctx.gh.post(
                f"/repos/{ticket.owner}/{ticket.repo}/issues/{ticket.number}/comments",
                {"body": reminder.body},
            )
            ctx.services.metrics.reminders.inc(reminder.clock, reminder.kind)
        ctx.log.info("reminders_posted", number=ticket.number, keys=[r.key for r in due])
    clocks = reminders.clocks_of(ticket.state, created_at=ticket.created_at, sla=sla)
    until = quiet_until(clocks, ticket.state.reminders, sla, ticket.now)
    _note(ctx, "ticket", ticket.number, str(ticket.issue.get("updated_at")), until)


@router.register(SWEEP_EVENT, action="pr")
async def on_pr(event: sansio.Event, ctx: Context) -> None:
    """Judge an LTS PR again (a review event may have been missed) and remind about sign-offs."""
    owner, repo, default = _repo(event.data)
    number = int(event.data["pull_request"]["number"])
    pr = await _pull(ctx, owner, repo, number)
    if pr is None:
        return
    until = await gates.recompute(ctx, owner, repo, number, default, remind=True)
    _note(ctx, "pr", number, str(pr.get("updated_at")), until)


@router.register(SWEEP_EVENT, action="fix")
async def on_fix(event: sansio.Event, ctx: Context) -> None:
    """A fix merged while its event was missed: make the backports its ticket plans."""
    owner, repo, default = _repo(event.data)
    number = int(event.data["pull_request"]["number"])
    pr = await _pull(ctx, owner, repo, number)
    if pr is None:
        return
    if pr.get("merged") and str(pr["base"]["ref"]) == default:
        result = await ctx.services.configs.load(ctx.gh, owner, repo, default)
        src = backports.source_of(event.data, pr, result.config)
        await backports.run(
            ctx, src, backports.requested_lines(src), explicit=False, actor=ctx.bot_login
        )
    _note(ctx, "fix", number, str(pr.get("updated_at")), None)


@router.register(SWEEP_EVENT, action="release")
async def on_release(event: sansio.Event, ctx: Context) -> None:
    """A release tracking issue: refresh a draft's checklist, end a monitoring window."""
    number = int(event.data["issue"]["number"])
    until = await releases.monitor_from_sweep(ctx, event.data, number)
    issue = await ctx.gh.get(f"/repos/{event.data['repository']['full_name']}/issues/{number}")
    _note(ctx, "release", number, str(issue.get("updated_at")), until)
