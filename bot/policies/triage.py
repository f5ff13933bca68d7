"""Triage: apply slash commands and hand-set labels to a ticket, score its risk, name approvers.

Everything here is pure: the caller passes `now`, `today`, the actor's resolved roles and
the repository config, and gets back an `Outcome` to apply (new state, reply, reaction,
assignees, labels to revert). Each accepted command that changes the state appends exactly
one `AuditEntry`; a command that asks for what already holds is accepted and changes
nothing, so re-running an edited comment or a redelivered webhook is harmless.

Backport eligibility (the seed's "Backport eligibility" and "Decision points"):

- The request's kind is `security` when the ticket carries the /security flag, otherwise
  what the caller derived from a `feature` label or the request form (`bug` or `feature`).
- Security fixes may target every supported line, security-only ones included.
- Bug fixes may target only lines in the `maintenance` phase, and only once the checklist
  says the fix needs no API change (`/check api-change=no`).
- Feature requests are deferred: only a release manager may decide to backport one or
  plan its targets, and then the bug-fix rules apply as well.
- A line past its end-of-life date (`eol < today`) or not in `.github/lts.yml` can be
  neither marked affected nor targeted.

Risk score (0-100, `risk_score`; the same text is in `RISK_FORMULA` for the docs):

    severity          critical 40, high 30, medium 15, low 5, not set 0
    public exploit    exploit=yes           +20
    no workaround     workaround=no         +15
    API change        api-change=yes        +10
    target lines      +5 per line, at most  +15

Target lines are the backport targets, or while none are planned the affected lines;
only lines configured in `.github/lts.yml` count. Unanswered checklist items add nothing
and are listed in the explanation so the triager sees what the score does not know yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from bot.commands import (
    SEVERITIES,
    AffectsCommand,
    AssignCommand,
    BackportCommand,
    CheckCommand,
    Command,
    HelpCommand,
    ParseResult,
    RegressionCommand,
    RemoveAffectsCommand,
    RemoveBackportCommand,
    SecurityCommand,
    SeverityCommand,
    SlaCommand,
    StatusCommand,
    TriageCommand,
    UnassignCommand,
    Who,
    help_text,
)
from bot.config import ROLE_DEFAULT_PERMISSION, LineConfig, Phase, RepoConfig
from bot.policies.sla import format_deadline
from bot.ticket import (
    AFFECTS_PREFIX,
    BACKPORT_PREFIX,
    DECISIONS,
    NEEDS_INFO_LABEL,
    REGRESSION_LABEL,
    SECURITY_LABEL,
    SEVERITY_PREFIX,
    SLA_PAUSED_LABEL,
    TRIAGE_PREFIX,
    AuditEntry,
    Checklist,
    PauseSpan,
    TicketState,
    YesNo,
    is_owned_label,
)

Kind = Literal["bug", "security", "feature"]
# What the caller can tell from outside the state: a `feature` label or the request form.
RequestKind = Literal["bug", "feature"]
Reaction = Literal["+1", "eyes"]

# The commands this policy applies; the others (approve, hold, release, ...) belong to
# the pull-request and release policies.
TRIAGE_VERBS: frozenset[str] = frozenset(
    cls.verb
    for cls in (
        SeverityCommand,
        AffectsCommand,
        RemoveAffectsCommand,
        TriageCommand,
        BackportCommand,
        RemoveBackportCommand,
        SecurityCommand,
        RegressionCommand,
        CheckCommand,
        AssignCommand,
        UnassignCommand,
        SlaCommand,
        StatusCommand,
        HelpCommand,
    )
)

SEVERITY_POINTS: dict[str, int] = {"critical": 40, "high": 30, "medium": 15, "low": 5}
EXPLOIT_POINTS = 20
NO_WORKAROUND_POINTS = 15
API_CHANGE_POINTS = 10
POINTS_PER_LINE = 5
MAX_LINE_POINTS = 15

RISK_FORMULA = f"""\
The risk score runs from 0 to 100 and is the sum of:

| Factor | Points |
| --- | --- |
| Severity | critical {SEVERITY_POINTS["critical"]}, high {SEVERITY_POINTS["high"]}, \
medium {SEVERITY_POINTS["medium"]}, low {SEVERITY_POINTS["low"]}, not set 0 |
| Public exploit (`/check exploit=yes`) | +{EXPLOIT_POINTS} |
| No workaround (`/check workaround=no`) | +{NO_WORKAROUND_POINTS} |
| API change needed (`/check api-change=yes`) | +{API_CHANGE_POINTS} |
| Target lines | +{POINTS_PER_LINE} per line, at most +{MAX_LINE_POINTS} |

Target lines are the backport targets or, while none are planned, the affected lines;
only lines configured in `.github/lts.yml` count. Checklist items not answered yet add
nothing and are named in the explanation.
"""

NORMAL_APPROVERS: tuple[str, ...] = ("reviewer", "qa", "release-manager")
FAST_TRACK_APPROVERS: tuple[str, ...] = ("eng-lead", "release-manager")
SECURITY_APPROVER = "security"

_VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")
_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_LABEL_VERSION_RE = re.compile(r"v((?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3}))")
# Quoted user text is cut short: a pasted paragraph in a reply helps nobody.
_QUOTE_CHARS = 60


@dataclass(frozen=True)
class Outcome:
    """What applying one command or label change asks the apply layer to do.

    `changes` are the audit entries appended to `state.audit` (one per state change, none
    when refused or when nothing changed). `reply` explains a refusal or answers /help;
    `reaction` goes on the comment ("+1": done, "eyes": seen, the answer is the reply or
    the refreshed status). `assign`/`unassign` are GitHub logins. `revert` asks to undo a
    hand-made label change (remove an added label, put back a removed one). `rerender`
    asks for the status comment to be refreshed even though nothing changed.
    """

    state: TicketState
    accepted: bool
    reply: str | None = None
    reaction: Reaction | None = None
    assign: tuple[str, ...] = ()
    unassign: tuple[str, ...] = ()
    rerender: bool = False
    revert: bool = False
    changes: tuple[AuditEntry, ...] = ()


class _Refused(Exception):
    """A command that may not run as given; the message is the reply."""


@dataclass(frozen=True)
class _Ctx:
    actor: str
    actor_roles: frozenset[str]
    config: RepoConfig
    today: date
    now: datetime
    kind: RequestKind


@dataclass(frozen=True)
class _Change:
    """A state change before it is stamped: the new state and its audit action and detail."""

    state: TicketState
    action: str
    detail: str = ""


# --- small helpers -----------------------------------------------------------------------


def _code(text: str) -> str:
    """User text as inline code, so Markdown, mentions and links in it stay inert."""
    flat = " ".join(text.split())
    if len(flat) > _QUOTE_CHARS:
        flat = flat[: _QUOTE_CHARS - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _v(version: str) -> str:
    """A version as shown to people: "v1.4", or quoted if it is not a version at all."""
    return f"v{version}" if _VERSION_RE.fullmatch(version) else _code(version)


def _vs(versions: Iterable[str]) -> str:
    return ", ".join(_v(v) for v in versions)


def _version_key(version: str) -> tuple[int, ...]:
    match = _VERSION_RE.fullmatch(version)
    return (int(match[1]), int(match[2])) if match else (-1, -1)


def _sorted_versions(versions: Iterable[str]) -> tuple[str, ...]:
    # Newest line first, as people list them ("v1.4, v1.3").
    return tuple(sorted(set(versions), key=_version_key, reverse=True))


def _yes_no(value: bool) -> YesNo:
    return "yes" if value else "no"


def kind_of(state: TicketState, requested: RequestKind = "bug") -> Kind:
    """The request's kind: security when flagged /security, else what the caller derived."""
    return "security" if state.security else requested


def supported_lines(config: RepoConfig, today: date) -> tuple[LineConfig, ...]:
    """Configured lines not past their end of life (`eol >= today`), in config order."""
    return tuple(line for line in config.lines if line.eol >= today)


def describe_supported(config: RepoConfig, today: date) -> str:
    """For replies: "supported lines: v1.4 (maintenance, until 2027-06-30), ..."."""
    lines = supported_lines(config, today)
    if not lines:
        return "no LTS line is supported; add one under `lines` in `.github/lts.yml`"
    described = ", ".join(f"{line.label} ({line.phase.value}, until {line.eol})" for line in lines)
    return f"supported lines: {described}"


def _supported_line(version: str, ctx: _Ctx) -> LineConfig:
    line = ctx.config.line(version)
    supported = describe_supported(ctx.config, ctx.today)
    if line is None:
        raise _Refused(f"{_v(version)} is not an LTS line of this project; {supported}")
    if line.eol < ctx.today:
        raise _Refused(f"{_v(version)} reached its end of life on {line.eol}; {supported}")
    return line


def _who(config: RepoConfig, role: Who) -> str:
    if role == "author":
        return "the issue's author"
    if role == "anyone":
        return "anyone"
    members = config.roles.members(role)
    if members:
        # In code, so that a refusal does not notify a whole team.
        return ", ".join(_code(str(member)) for member in members)
    return f"people with {ROLE_DEFAULT_PERMISSION[role]} permission or above"


def _role_refusal(command: Command, config: RepoConfig) -> str:
    roles = command.roles
    names = " or ".join(roles)
    noun = "role" if len(roles) == 1 else "roles"
    if len(roles) == 1:
        who = _who(config, roles[0])
    else:
        who = "; ".join(f"{role}: {_who(config, role)}" for role in roles)
    return f"only the {names} {noun} can use /{command.verb}: {who}"


def _allowed(roles: tuple[Who, ...], actor_roles: frozenset[str], is_author: bool) -> bool:
    return (
        "anyone" in roles or not actor_roles.isdisjoint(roles) or (is_author and "author" in roles)
    )


def _held_roles(actor_roles: frozenset[str], is_author: bool) -> frozenset[str]:
    return actor_roles | {"anyone"} | ({"author"} if is_author else set())


# --- eligibility -------------------------------------------------------------------------


def backport_refusal(
    state: TicketState,
    lines: Iterable[LineConfig],
    *,
    kind: Kind,
    actor_roles: frozenset[str],
) -> str | None:
    """Why a fix of `kind` may not be backported to every one of `lines`, or None.

    `lines` are supported lines (checked by the caller); `actor_roles` matter only for
    feature requests, which need a release manager.
    """
    lines = tuple(lines)
    if kind == "security":
        return None
    if kind == "feature" and "release-manager" not in actor_roles:
        return (
            "feature requests are deferred in LTS: only a release manager can backport one; "
            "use /triage defer, or ask a release manager"
        )
    # The phase rule first: answering the checklist cannot change it.
    security_only = [line for line in lines if line.phase is Phase.SECURITY_ONLY]
    if security_only:
        return _security_only_refusal(security_only)
    return _api_refusal(state)


def _api_refusal(state: TicketState) -> str | None:
    if state.checklist.api_change is None:
        return (
            "answer /check api-change=yes|no first: bug fixes are backported only when they "
            "need no API change"
        )
    if state.checklist.api_change == "yes":
        return (
            "the fix needs an API change (api-change=yes), and API-breaking changes are not "
            "backported to LTS lines; use /triage defer, or /check api-change=no if that is wrong"
        )
    return None


def _security_only_refusal(lines: list[LineConfig]) -> str:
    if len(lines) == 1:
        subject, verb, pronoun = lines[0].label, "is", "it"
    else:
        subject, verb, pronoun = ", ".join(line.label for line in lines), "are", "them"
    return (
        f"{subject} {verb} security-only: only security fixes are backported to {pronoun} "
        "(this ticket is not marked /security)"
    )


# --- commands ----------------------------------------------------------------------------


def _severity(state: TicketState, command: SeverityCommand, ctx: _Ctx) -> _Change | None:
    if state.severity == command.level:
        return None
    was = f" (was {state.severity})" if state.severity else ""
    new = replace(state, severity=command.level, severity_set_at=ctx.now)
    return _Change(new, "severity set", f"{command.level}{was}")


def _affects(state: TicketState, command: AffectsCommand, ctx: _Ctx) -> _Change | None:
    for version in command.versions:
        _supported_line(version, ctx)
    added = [v for v in _sorted_versions(command.versions) if v not in state.affects]
    if not added:
        return None
    new = replace(state, affects=_sorted_versions((*state.affects, *added)))
    return _Change(new, "affects added", _vs(added))


def _removable(versions: Iterable[str], present: tuple[str, ...], ctx: _Ctx) -> list[str]:
    """The versions to remove; ones not present must at least name a supported line."""
    removed = []
    for version in versions:
        if version in present:
            removed.append(version)
        else:
            _supported_line(version, ctx)
    return removed


def _remove_affects(state: TicketState, command: RemoveAffectsCommand, ctx: _Ctx) -> _Change | None:
    removed = _removable(command.versions, state.affects, ctx)
    if not removed:
        return None
    new = replace(state, affects=tuple(v for v in state.affects if v not in removed))
    return _Change(new, "affects removed", _vs(_sorted_versions(removed)))


def _triage_backport_refusal(state: TicketState, ctx: _Ctx) -> str | None:
    if state.severity is None:
        return "/triage backport needs a severity first: use /severity critical|high|medium|low"
    supported = describe_supported(ctx.config, ctx.today)
    if not state.affects:
        return f"/triage backport needs an affected line first: use /affects vX.Y ({supported})"
    lines = [
        line
        for v in state.affects
        if (line := ctx.config.line(v)) is not None and line.eol >= ctx.today
    ]
    if not lines:
        return (
            f"none of the affected lines ({_vs(state.affects)}) is supported any more; {supported}"
        )
    kind = kind_of(state, ctx.kind)
    if kind == "security":
        return None
    maintained = [line for line in lines if line.phase is Phase.MAINTENANCE]
    # One maintained line is enough to backport to; the security-only ones are refused
    # when they are targeted with /backport.
    return backport_refusal(state, maintained or lines, kind=kind, actor_roles=ctx.actor_roles)


def _triage(state: TicketState, command: TriageCommand, ctx: _Ctx) -> _Change | None:
    if command.decision == "backport":
        refusal = _triage_backport_refusal(state, ctx)
        if refusal is not None:
            raise _Refused(refusal)
    same = state.decision == command.decision
    if same and state.decision_reason == command.reason:
        return None
    detail: str = command.decision
    if state.decision and not same:
        detail += f" (was {state.decision})"
    if command.reason:
        detail += f": {command.reason}"
    new = replace(
        state,
        decision=command.decision,
        decision_reason=command.reason,
        # A new reason for the same decision does not restart the plan clock.
        decided_at=state.decided_at if same else ctx.now,
    )
    if command.decision != "backport" and state.backport:
        # Backport labels left on a deferred ticket would still ask for backport PRs.
        new = replace(new, backport=(), planned_at=None)
        detail += f"; backport targets withdrawn: {_vs(state.backport)}"
    return _Change(new, "triage decided", detail)


def _backport(state: TicketState, command: BackportCommand, ctx: _Ctx) -> _Change | None:
    if state.decision != "backport":
        now = f"this ticket is triaged {state.decision}" if state.decision else "no decision yet"
        raise _Refused(
            f"backports are planned after the decision to backport ({now}); "
            "use /triage backport first"
        )
    lines = [_supported_line(version, ctx) for version in command.versions]
    refusal = backport_refusal(
        state, lines, kind=kind_of(state, ctx.kind), actor_roles=ctx.actor_roles
    )
    if refusal is not None:
        raise _Refused(refusal)
    added = [v for v in _sorted_versions(command.versions) if v not in state.backport]
    if not added:
        return None
    new = replace(
        state,
        backport=_sorted_versions((*state.backport, *added)),
        # The plan is made when its first target is: the plan clock stops then.
        planned_at=state.planned_at or ctx.now,
    )
    return _Change(new, "backport planned", _vs(added))


def _remove_backport(
    state: TicketState, command: RemoveBackportCommand, ctx: _Ctx
) -> _Change | None:
    removed = _removable(command.versions, state.backport, ctx)
    if not removed:
        return None
    left = tuple(v for v in state.backport if v not in removed)
    new = replace(state, backport=left, planned_at=state.planned_at if left else None)
    return _Change(new, "backport withdrawn", _vs(_sorted_versions(removed)))


def _security(state: TicketState, command: SecurityCommand, ctx: _Ctx) -> _Change | None:
    if state.security:
        return None
    return _Change(replace(state, security=True), "security flagged")


def _regression(state: TicketState, command: RegressionCommand, ctx: _Ctx) -> _Change | None:
    if state.regression:
        return None
    return _Change(replace(state, regression=True), "regression flagged")


_CHECK_ITEMS = (
    ("reproduced", "reproduced"),
    ("exploit", "exploit"),
    ("workaround", "workaround"),
    ("api_change", "api-change"),
    ("effort", "effort"),
)


def _answer(value: bool | None, old: YesNo | None) -> YesNo | None:
    return old if value is None else _yes_no(value)


def _check(state: TicketState, command: CheckCommand, ctx: _Ctx) -> _Change | None:
    old = state.checklist
    new = Checklist(
        reproduced=_answer(command.reproduced, old.reproduced),
        exploit=_answer(command.exploit, old.exploit),
        workaround=_answer(command.workaround, old.workaround),
        api_change=_answer(command.api_change, old.api_change),
        effort=command.effort or old.effort,
    )
    if new == old:
        return None
    parts = []
    for attr, key in _CHECK_ITEMS:
        before, after = getattr(old, attr), getattr(new, attr)
        if after != before:
            was = f" (was {before})" if before is not None else ""
            parts.append(f"{key}={after}{was}")
    return _Change(replace(state, checklist=new), "checklist answered", ", ".join(parts))


def _logins(users: tuple[str, ...], verb: str) -> tuple[str, ...]:
    logins = tuple(user.removeprefix("@") for user in users)
    for login in logins:
        if not _LOGIN_RE.fullmatch(login):
            raise _Refused(f"{_code(login)} is not a GitHub user; write /{verb} @login")
    if not logins:
        raise _Refused(f"/{verb} needs at least one user; write /{verb} @login")
    return logins


def _assign(state: TicketState, logins: tuple[str, ...], ctx: _Ctx) -> _Change | None:
    owner = logins[0]
    if state.owner is not None and state.owner.casefold() == owner.casefold():
        return None
    was = f" (was {state.owner})" if state.owner else ""
    return _Change(replace(state, owner=owner), "owner set", f"{owner}{was}")


def _unassign(state: TicketState, logins: tuple[str, ...], ctx: _Ctx) -> _Change | None:
    if state.owner is None or state.owner.casefold() not in {u.casefold() for u in logins}:
        return None
    return _Change(replace(state, owner=None), "owner removed", state.owner)


def _sla_pause(state: TicketState, reason: str, ctx: _Ctx) -> _Change:
    reason = " ".join(reason.split())
    if not reason:
        raise _Refused("/sla pause needs a reason, so the record shows why: /sla pause <reason>")
    if state.paused:
        since = format_deadline(state.pauses[-1].start)
        raise _Refused(
            f"the SLA clock is already paused since {since}; use /sla resume first, "
            "then pause again with the new reason"
        )
    pauses = (*state.pauses, PauseSpan(start=ctx.now, end=None, reason=reason))
    return _Change(replace(state, pauses=pauses), "sla paused", reason)


def _sla_resume(state: TicketState, ctx: _Ctx) -> _Change:
    if not state.paused:
        raise _Refused("the SLA clock is not paused; to pause it, use /sla pause <reason>")
    last = state.pauses[-1]
    pauses = (*state.pauses[:-1], replace(last, end=max(ctx.now, last.start)))
    detail = f"paused since {format_deadline(last.start)}"
    if last.reason:
        detail += f": {last.reason}"
    return _Change(replace(state, pauses=pauses), "sla resumed", detail)


def _apply(state: TicketState, command: Command, ctx: _Ctx) -> _Change | None:
    """The change `command` makes (None: it already holds); raises _Refused."""
    match command:
        case SeverityCommand():
            return _severity(state, command, ctx)
        case AffectsCommand():
            return _affects(state, command, ctx)
        case RemoveAffectsCommand():
            return _remove_affects(state, command, ctx)
        case TriageCommand():
            return _triage(state, command, ctx)
        case BackportCommand():
            return _backport(state, command, ctx)
        case RemoveBackportCommand():
            return _remove_backport(state, command, ctx)
        case SecurityCommand():
            return _security(state, command, ctx)
        case RegressionCommand():
            return _regression(state, command, ctx)
        case CheckCommand():
            return _check(state, command, ctx)
        case AssignCommand():
            return _assign(state, _logins(command.users, command.verb), ctx)
        case UnassignCommand():
            return _unassign(state, _logins(command.users, command.verb), ctx)
        case SlaCommand(action="pause"):
            return _sla_pause(state, command.reason, ctx)
        case SlaCommand():
            return _sla_resume(state, ctx)
    return None


def _stamp(
    change: _Change, ctx: _Ctx, *, via_label: bool = False
) -> tuple[TicketState, AuditEntry]:
    action = f"{change.action} via label" if via_label else change.action
    entry = AuditEntry(at=ctx.now, actor=ctx.actor, action=action, detail=change.detail)
    return change.state.with_audit(entry), entry


def apply_command(
    state: TicketState,
    command: Command,
    *,
    actor: str,
    actor_roles: frozenset[str],
    is_author: bool,
    config: RepoConfig,
    today: date,
    now: datetime,
    kind: RequestKind = "bug",
) -> Outcome:
    """Apply one parsed command by `actor` (holding `actor_roles`) to a ticket.

    `kind` is the request's kind as the caller sees it from labels or the request form;
    the /security flag overrides it. Commands that are not triage commands (see
    TRIAGE_VERBS) are not accepted and get no reply: other policies answer them.
    """
    if command.verb not in TRIAGE_VERBS:
        return Outcome(state, accepted=False)
    if not _allowed(command.roles, actor_roles, is_author):
        return Outcome(state, accepted=False, reply=_role_refusal(command, config))
    if isinstance(command, HelpCommand):
        reply = help_text(_held_roles(actor_roles, is_author))
        return Outcome(state, accepted=True, reply=reply, reaction="eyes")
    if isinstance(command, StatusCommand):
        return Outcome(state, accepted=True, reaction="eyes", rerender=True)
    ctx = _Ctx(actor, actor_roles, config, today, now, kind)
    try:
        change = _apply(state, command, ctx)
    except _Refused as refused:
        return Outcome(state, accepted=False, reply=str(refused))
    assign: tuple[str, ...] = ()
    unassign: tuple[str, ...] = ()
    if isinstance(command, AssignCommand):
        assign = _logins(command.users, command.verb)
    elif isinstance(command, UnassignCommand):
        unassign = _logins(command.users, command.verb)
    if change is None:
        return Outcome(state, accepted=True, reaction="+1", assign=assign, unassign=unassign)
    new, entry = _stamp(change, ctx)
    return Outcome(
        new, accepted=True, reaction="+1", assign=assign, unassign=unassign, changes=(entry,)
    )


# --- labels set by hand ------------------------------------------------------------------


@dataclass(frozen=True)
class CommentOutcome:
    """What one comment's commands come to: the new state and one answer for the caller.

    A comment gets one reply at most, however many of its commands were refused or
    malformed; a comment that only succeeded gets a reaction instead, so triage leaves no
    comment noise.
    """

    state: TicketState
    reply: str | None
    reaction: Reaction | None
    assign: tuple[str, ...]
    unassign: tuple[str, ...]


def wants_comment(parsed: ParseResult) -> bool:
    """Whether a comment holds anything triage answers (so roles need looking up)."""
    return any(c.verb in TRIAGE_VERBS for c in parsed.commands) or any(
        e.verb is None or e.verb in TRIAGE_VERBS for e in parsed.errors
    )


# The roles triage decisions look at: who may run triage commands, and who may override
# the deferral of feature requests.
DECIDING_ROLES = frozenset({"triage", "release-manager"})


def roles_needed(parsed: ParseResult) -> frozenset[str] | None:
    """The roles worth looking up for this comment's author; None = all (for /help).

    /status needs none; /help lists what the caller may run, so it needs them all.
    """
    verbs = {c.verb for c in parsed.commands if c.verb in TRIAGE_VERBS}
    if "help" in verbs:
        return None
    if verbs - {"status"}:
        return DECIDING_ROLES
    return frozenset()


def apply_comment(
    state: TicketState,
    parsed: ParseResult,
    *,
    actor: str,
    actor_roles: frozenset[str],
    is_author: bool,
    config: RepoConfig,
    today: date,
    now: datetime,
    kind: RequestKind = "bug",
) -> CommentOutcome:
    """Apply every triage command of one comment in order, and answer it once."""
    replies = [
        f"@{actor}, {error.message}"
        for error in parsed.errors
        if error.verb is None or error.verb in TRIAGE_VERBS
    ]
    reaction: Reaction | None = None
    assign: list[str] = []
    unassign: list[str] = []
    for command in parsed.commands:
        if command.verb not in TRIAGE_VERBS:
            continue
        outcome = apply_command(
            state,
            command,
            actor=actor,
            actor_roles=actor_roles,
            is_author=is_author,
            config=config,
            today=today,
            now=now,
            kind=kind,
        )
        state = outcome.state
        assign += [u for u in outcome.assign if u not in assign]
        unassign += [u for u in outcome.unassign if u not in unassign]
        if outcome.reply:
            replies.append(outcome.reply)
        reaction = reaction or outcome.reaction
    return CommentOutcome(
        state=state,
        reply="\n\n".join(replies) if replies else None,
        reaction=None if replies else reaction,
        assign=tuple(assign),
        unassign=tuple(unassign),
    )


@dataclass(frozen=True)
class _LabelRule:
    """How one hand-made label change maps onto the state."""

    role: Who
    verb: str  # the command that makes this change, named in replies ("": none, by hand only)
    apply: Callable[[TicketState, _Ctx], _Change | None] | None  # None: never by hand
    explain: str = ""  # for labels that are never set by hand: how they are set


def _clear_severity(state: TicketState, ctx: _Ctx) -> _Change | None:
    if state.severity is None:
        return None
    new = replace(state, severity=None, severity_set_at=None)
    return _Change(new, "severity cleared", f"was {state.severity}")


def _clear_decision(state: TicketState, ctx: _Ctx) -> _Change | None:
    if state.decision is None:
        return None
    new = replace(state, decision=None, decision_reason="", decided_at=None)
    return _Change(new, "triage cleared", f"was {state.decision}")


def _clear_security(state: TicketState, ctx: _Ctx) -> _Change | None:
    if not state.security:
        return None
    return _Change(replace(state, security=False), "security cleared")


def _clear_regression(state: TicketState, ctx: _Ctx) -> _Change | None:
    if not state.regression:
        return None
    return _Change(replace(state, regression=False), "regression cleared")


def _resume_by_label(state: TicketState, ctx: _Ctx) -> _Change | None:
    return _sla_resume(state, ctx)


def _command_rule(command: Command) -> Callable[[TicketState, _Ctx], _Change | None]:
    def apply(state: TicketState, ctx: _Ctx) -> _Change | None:
        return _apply(state, command, ctx)

    return apply


def _label_rule(state: TicketState, label: str, added: bool) -> _LabelRule | str | None:
    """The rule for a hand-made change of an owned label, a refusal text, or None (no-op)."""
    implied = label in state.labels()
    if added == implied:
        return None  # already what the state says (often the bot's own change echoing back)
    raw = label  # what the synthetic command was "written as"
    if label.startswith(SEVERITY_PREFIX):
        level = next((s for s in SEVERITIES if s == label.removeprefix(SEVERITY_PREFIX)), None)
        if level is None:
            return f"{_code(label)} is not a severity; use /severity {'|'.join(SEVERITIES)}"
        if not added:
            return _LabelRule("triage", "", _clear_severity)
        severity = SeverityCommand(line=0, raw=raw, level=level)
        return _LabelRule("triage", "severity", _command_rule(severity))
    if label.startswith(TRIAGE_PREFIX):
        decision = next((d for d in DECISIONS if d == label.removeprefix(TRIAGE_PREFIX)), None)
        if decision is None:
            return f"{_code(label)} is not a triage decision; use /triage {'|'.join(DECISIONS)}"
        if not added:
            return _LabelRule("triage", "", _clear_decision)
        triage = TriageCommand(line=0, raw=raw, decision=decision)
        return _LabelRule("triage", "triage", _command_rule(triage))
    for prefix, add_cls, remove_cls in (
        (AFFECTS_PREFIX, AffectsCommand, RemoveAffectsCommand),
        (BACKPORT_PREFIX, BackportCommand, RemoveBackportCommand),
    ):
        if label.startswith(prefix):
            match = _LABEL_VERSION_RE.fullmatch(label.removeprefix(prefix))
            if match is None:
                return f"{_code(label)} does not name a line; use labels such as {prefix}v1.4"
            cls = add_cls if added else remove_cls
            versions = cls(line=0, raw=raw, versions=(match[1],))
            return _LabelRule("triage", cls.verb, _command_rule(versions))
    if label == SECURITY_LABEL:
        if added:
            return _LabelRule("triage", "security", _command_rule(SecurityCommand(line=0, raw=raw)))
        return _LabelRule("triage", "", _clear_security)
    if label == REGRESSION_LABEL:
        if added:
            return _LabelRule(
                "triage", "regression", _command_rule(RegressionCommand(line=0, raw=raw))
            )
        return _LabelRule("triage", "", _clear_regression)
    if label == SLA_PAUSED_LABEL:
        if added:
            return _LabelRule(
                "triage", "sla", None, "is set by /sla pause <reason>, which records why"
            )
        return _LabelRule("triage", "sla resume", _resume_by_label)
    if label == NEEDS_INFO_LABEL:
        return _LabelRule(
            "triage",
            "",
            None,
            "is managed by lts-bot: it is there while the request form misses required "
            "fields, so edit the issue to fill them in",
        )
    return None


def apply_label_change(
    state: TicketState,
    label: str,
    added: bool,
    *,
    actor: str,
    actor_roles: frozenset[str],
    config: RepoConfig,
    today: date,
    now: datetime,
    kind: RequestKind = "bug",
) -> Outcome:
    """Take a hand-made change of a bot-owned label as the matching command, or revert it.

    With the role the command needs, the change is recorded as if the command had been
    used (its audit action ends in "via label"); without it, or if the command would be
    refused, the outcome asks to revert the label and says why. Labels the bot does not
    own, and changes that match the state already, are accepted and change nothing.
    """
    if not is_owned_label(label):
        return Outcome(state, accepted=True)
    rule = _label_rule(state, label, added)
    if rule is None:
        return Outcome(state, accepted=True)
    undo = "removed it" if added else "put it back"
    if isinstance(rule, str):
        return Outcome(state, accepted=False, revert=True, reply=f"@{actor}, {rule}; I {undo}.")
    if rule.apply is None:
        reply = f"@{actor}, {_code(label)} {rule.explain}; I {undo}."
        return Outcome(state, accepted=False, revert=True, reply=reply)
    if rule.role not in actor_roles:
        person = _person(rule.role)
        if rule.verb:
            done = "set" if added else "removed"
            reply = (
                f"@{actor}, {_code(label)} is {done} by the {rule.role} role with /{rule.verb}; "
                f"I {undo}. Ask a {person} or use /{rule.verb} if you have the role."
            )
        else:
            reply = (
                f"@{actor}, {_code(label)} is managed by the {rule.role} role; I {undo}. "
                f"Ask a {person} to remove it."
            )
        return Outcome(state, accepted=False, revert=True, reply=reply)
    ctx = _Ctx(actor, actor_roles, config, today, now, kind)
    try:
        change = rule.apply(state, ctx)
    except _Refused as refused:
        reply = f"@{actor}, {_code(label)} was not applied: {refused}; I {undo}."
        return Outcome(state, accepted=False, revert=True, reply=reply)
    if change is None:
        return Outcome(state, accepted=True)
    new, entry = _stamp(change, ctx, via_label=True)
    return Outcome(new, accepted=True, changes=(entry,))


def _person(role: Who) -> str:
    return {"triage": "triager", "qa": "QA engineer", "eng-lead": "engineering lead"}.get(
        role, role.replace("-", " ")
    )


# --- risk, approvers, labels -------------------------------------------------------------


def risk_score(state: TicketState, config: RepoConfig) -> tuple[int, str]:
    """The risk score (0-100, see RISK_FORMULA) and the parts it is made of."""
    parts: list[tuple[str, int]] = []
    unknown: list[str] = []
    if state.severity is None:
        unknown.append("severity")
    else:
        parts.append((f"severity {state.severity}", SEVERITY_POINTS[state.severity]))
    checklist = state.checklist
    if checklist.exploit == "yes":
        parts.append(("public exploit", EXPLOIT_POINTS))
    elif checklist.exploit is None:
        unknown.append("exploit")
    if checklist.workaround == "no":
        parts.append(("no workaround", NO_WORKAROUND_POINTS))
    elif checklist.workaround is None:
        unknown.append("workaround")
    if checklist.api_change == "yes":
        parts.append(("API change", API_CHANGE_POINTS))
    elif checklist.api_change is None:
        unknown.append("api-change")
    targets = state.backport or state.affects
    lines = [v for v in targets if config.line(v) is not None]
    if lines:
        points = min(POINTS_PER_LINE * len(lines), MAX_LINE_POINTS)
        noun = "line" if len(lines) == 1 else "lines"
        parts.append((f"{len(lines)} target {noun}", points))
    score = sum(points for _, points in parts)
    text = " + ".join(f"{name} {points}" for name, points in parts) or "no risk factors"
    text = f"{text} = {score}"
    if unknown:
        text += f" (not known yet: {', '.join(unknown)})"
    return score, text


def required_approvers(state: TicketState, *, fast_track: bool = False) -> tuple[str, ...]:
    """Roles that must sign off: normal or emergency fast-track, plus security if flagged."""
    approvers = FAST_TRACK_APPROVERS if fast_track else NORMAL_APPROVERS
    return (*approvers, SECURITY_APPROVER) if state.security else approvers


def desired_labels(state: TicketState) -> frozenset[str]:
    """The bot-owned labels the state implies (TicketState.labels)."""
    return state.labels()


def label_diff(
    current: Iterable[str], state: TicketState
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Labels to add and to remove (sorted) so the owned ones match the state.

    Only labels `is_owned_label` accepts are ever removed. GitHub matches label names
    without regard to case, so a desired label present in another case is not added again.
    """
    current = tuple(current)
    desired = {label for label in desired_labels(state) if is_owned_label(label)}
    have = {label.casefold() for label in current}
    want = {label.casefold() for label in desired}
    add = sorted(label for label in desired if label.casefold() not in have)
    remove = sorted(
        {label for label in current if is_owned_label(label) and label.casefold() not in want}
    )
    return tuple(add), tuple(remove)
