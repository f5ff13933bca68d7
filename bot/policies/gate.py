"""lts/gate: one check run that is green only when every part of an LTS merge is ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bot.commands import HoldCommand, UnholdCommand
from bot.decisions import CheckRunDecision, Conclusion
from bot.policies import branches, commit_message
from bot.policies.approvals import CHECK_NAME as APPROVALS_CHECK
from bot.policies.approvals import is_bot

__all__ = [
    "APPROVALS_CHECK",
    "BRANCH_NAME_CHECK",
    "CHECK_NAME",
    "COMMIT_MESSAGE_CHECK",
    "GREEN",
    "CheckStatus",
    "GatePart",
    "GateSnapshot",
    "Hold",
    "HoldEvent",
    "PartState",
    "apply_hold_command",
    "evaluate",
    "hold_state",
    "parts",
]

CHECK_NAME = "lts/gate"
BRANCH_NAME_CHECK = branches.CHECK_NAME
COMMIT_MESSAGE_CHECK = commit_message.CHECK_NAME
# Spelled here rather than imported: the fidelity policy is not a dependency of the gate's.
FIDELITY_CHECK = "lts/backport-fidelity"
# What GitHub's branch protection accepts as passing, too.
GREEN: frozenset[str] = frozenset({"success", "neutral", "skipped"})

CheckStatus = Conclusion | Literal["pending"] | None
PartState = Literal["pass", "fail", "wait"]
_ICONS: dict[PartState, str] = {"pass": "✅", "fail": "❌", "wait": "⏳"}


# --- hold --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """A `/hold` in force: who placed it, why, and when."""

    who: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class HoldEvent:
    """A `/hold` or `/unhold` written on the pull request by `actor` at `at`."""

    actor: str
    at: datetime
    command: HoldCommand | UnholdCommand


def apply_hold_command(
    current: Hold | None, event: HoldEvent, roles: AbstractSet[str]
) -> Hold | None:
    """The hold after `event`, whose actor holds `roles`; anyone else changes nothing.

    A `/hold` while held replaces the hold (latest reason and holder); `/unhold` lifts
    it whoever placed it, since any role holder may do either.
    """
    spec = event.command.spec
    if is_bot(event.actor) or not spec.allowed_for(roles):
        return current
    if isinstance(event.command, HoldCommand):
        return Hold(event.actor, event.command.reason, event.at)
    return None


def hold_state(events: Sequence[HoldEvent], roles_of: Mapping[str, frozenset[str]]) -> Hold | None:
    """Fold the hold commands in time order: the last one by a role holder wins."""
    roles = {login.casefold(): held for login, held in roles_of.items()}
    current: Hold | None = None
    for event in sorted(events, key=lambda event: event.at):  # stable for equal instants
        current = apply_hold_command(current, event, roles.get(event.actor.casefold(), frozenset()))
    return current


# --- gate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSnapshot:
    """The state of every part of the gate on the head SHA; None = not reported yet.

    `required_checks` maps each name in `checks.required` to its conclusion on the head
    SHA, "pending" while it runs, or None when it has not been reported at all.
    `check_urls` maps check names (the lts/* ones and CI) to their pages, and
    `ticket_triaged_for_line` says whether the ticket has `triage/backport` and
    `backport/v<line_version>`.
    """

    branch_name: Conclusion | None = None
    commit_message: Conclusion | None = None
    approvals: Conclusion | None = None
    check_urls: Mapping[str, str] = field(default_factory=dict)
    required_checks: Mapping[str, CheckStatus] = field(default_factory=dict)
    ticket_triaged_for_line: bool = False
    ticket_number: int | None = None
    line_version: str | None = None
    hold: Hold | None = None
    ticket_url: str | None = None
    # lts/backport-fidelity, when it was judged; a failure a release manager signed off
    # on the head commit (`fidelity_accepted_by`) no longer blocks.
    fidelity: Conclusion | None = None
    fidelity_accepted_by: str | None = None


@dataclass(frozen=True)
class GatePart:
    """One condition of the gate: its state, a line saying why, and a title if it blocks."""

    name: str
    state: PartState
    detail: str
    url: str | None = None
    blocker: str = ""


def _status(conclusion: CheckStatus) -> PartState:
    if conclusion is None or conclusion == "pending":
        return "wait"
    return "pass" if conclusion in GREEN else "fail"


def _link(text: str, url: str | None) -> str:
    return f"[{text}]({url})" if url else text


def _inline(text: str) -> str:
    """User text made safe for one Markdown line: no HTML, no table or code breaks."""
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(char, escaped)
    return " ".join(text.split())


def _own_check(name: str, conclusion: Conclusion | None, url: str | None, hint: str) -> GatePart:
    state = _status(conclusion)
    if state == "wait":
        return GatePart(
            name, state, "has not reported on the head commit yet", url, f"Waiting for {name}"
        )
    if state == "pass":
        return GatePart(name, state, conclusion or "", url)
    return GatePart(name, state, f"{conclusion}: {hint}", url, f"{name}: {conclusion}")


def _ci_check(name: str, status: CheckStatus, url: str | None) -> GatePart:
    label = f"CI `{name}`"
    state = _status(status)
    if status is None:
        detail = "has not reported on the head commit"
        return GatePart(label, state, detail, url, f"Waiting for CI check {name!r}")
    if status == "pending":
        return GatePart(label, state, "is running", url, f"Waiting for CI check {name!r}")
    if state == "pass":
        return GatePart(label, state, status, url)
    return GatePart(label, state, f"{status}: fix it and push", url, f"CI check {name!r}: {status}")


def _ticket(snapshot: GateSnapshot) -> GatePart:
    line = f"v{snapshot.line_version}" if snapshot.line_version else "this line"
    if snapshot.ticket_number is None:
        detail = "no LTS ticket is linked: name it in the branch (`lts/vX.Y/issue-N`)"
        return GatePart("Ticket", "fail", detail, None, "No LTS ticket for this pull request")
    ticket = _link(f"#{snapshot.ticket_number}", snapshot.ticket_url)
    name = f"Ticket {ticket}"
    labels = f"`triage/backport` and `backport/{line}`"
    if snapshot.ticket_triaged_for_line:
        return GatePart(name, "pass", f"is triaged for {line} ({labels})")
    detail = (
        f"is not triaged for {line}: it needs {labels}; a triager sets them with "
        f"`/triage backport` and `/backport {line}`"
    )
    blocker = f"Ticket #{snapshot.ticket_number} is not triaged for {line}"
    return GatePart(name, "fail", detail, None, blocker)


def _hold(hold: Hold | None) -> GatePart:
    if hold is None:
        return GatePart("Hold", "pass", "none")
    when = hold.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    reason = _inline(hold.reason)
    detail = f"placed by @{hold.who} on {when}" + (f": {reason}" if reason else "")
    detail += "; any role holder lifts it with `/unhold`"
    blocker = f"On hold by @{hold.who}" + (f": {' '.join(hold.reason.split())}" if reason else "")
    return GatePart("Hold", "fail", detail, None, blocker)


def _fidelity(snapshot: GateSnapshot) -> tuple[GatePart, ...]:
    if snapshot.fidelity is None:
        return ()
    url = snapshot.check_urls.get(FIDELITY_CHECK)
    if _status(snapshot.fidelity) == "fail" and snapshot.fidelity_accepted_by:
        who = snapshot.fidelity_accepted_by
        detail = f"{snapshot.fidelity}, accepted by @{who} (release manager) on this head"
        return (GatePart(FIDELITY_CHECK, "pass", detail, url),)
    return (
        _own_check(
            FIDELITY_CHECK,
            snapshot.fidelity,
            url,
            "the backport differs from the original change; a release manager who has "
            "looked accepts it with `/approve release-manager` on this head",
        ),
    )


def parts(snapshot: GateSnapshot) -> tuple[GatePart, ...]:
    """Every condition, in the order to fix them: hold, naming, ticket, CI, then sign-offs.

    Sign-offs come last because reviewers usually wait for the rest to be green.
    """
    urls = snapshot.check_urls
    return (
        _hold(snapshot.hold),
        _own_check(
            BRANCH_NAME_CHECK,
            snapshot.branch_name,
            urls.get(BRANCH_NAME_CHECK),
            "rename the branch to `lts/vX.Y/issue-N`",
        ),
        _own_check(
            COMMIT_MESSAGE_CHECK,
            snapshot.commit_message,
            urls.get(COMMIT_MESSAGE_CHECK),
            "reword the commits as the check explains",
        ),
        _ticket(snapshot),
        *_fidelity(snapshot),
        *(
            _ci_check(name, status, urls.get(name))
            for name, status in snapshot.required_checks.items()
        ),
        _own_check(
            APPROVALS_CHECK,
            snapshot.approvals,
            urls.get(APPROVALS_CHECK),
            "sign-offs are missing or changes are requested",
        ),
    )


def evaluate(snapshot: GateSnapshot) -> CheckRunDecision:
    """Success only when every part passes; otherwise failure titled by the first blocker.

    A failing part is named before one that is only waiting, since it needs someone to act.
    """
    all_parts = parts(snapshot)
    blocking = [p for p in all_parts if p.state == "fail"] + [
        p for p in all_parts if p.state == "wait"
    ]
    lines = [f"- {_ICONS[p.state]} {_link(p.name, p.url)}: {p.detail}" for p in all_parts]
    if not snapshot.required_checks:
        lines.append("- No CI checks are required (`checks.required` is empty).")
    if not blocking:
        return CheckRunDecision(
            name=CHECK_NAME,
            conclusion="success",
            title="Ready to merge",
            summary="\n".join(["Every part of the LTS gate is green.", "", *lines]),
        )
    title = blocking[0].blocker
    if len(blocking) > 1:
        title += f" (+{len(blocking) - 1} more)"
    count = len(blocking)
    intro = (
        "1 part of the LTS gate is not green yet."
        if count == 1
        else f"{count} parts of the LTS gate are not green yet."
    )
    return CheckRunDecision(
        name=CHECK_NAME,
        conclusion="failure",
        title=title,
        summary="\n".join([intro, "", *lines]),
    )
