"""What the comments on an LTS pull request say: sign-offs, holds and fast-track requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.commands import (
    ApproveCommand,
    FastTrackCommand,
    HoldCommand,
    UnholdCommand,
    parse_comment,
)
from bot.policies.approvals import SignOff
from bot.policies.gate import HoldEvent
from bot.pr_state import PrState

GATE_VERBS = frozenset({"approve", "hold", "unhold", "fast-track"})
FAST_TRACK_ROLE = "eng-lead"


@dataclass(frozen=True)
class PrComment:
    """One comment on the pull request, as listed."""

    id: int
    author: str
    at: datetime
    body: str


@dataclass(frozen=True)
class FastTrackRequest:
    """A `/fast-track <reason>`; `new` when this reading is the first to see it."""

    comment_id: int
    actor: str
    at: datetime
    reason: str
    new: bool


@dataclass(frozen=True)
class PrCommands:
    """The record after reading the comments, and the holds and fast-tracks they hold."""

    state: PrState
    holds: tuple[HoldEvent, ...]
    fast_tracks: tuple[FastTrackRequest, ...]

    def people(self) -> set[str]:
        """Everyone whose roles decide what these commands count for."""
        return (
            {s.actor for s in self.state.sign_offs}
            | {h.actor for h in self.holds}
            | {f.actor for f in self.fast_tracks}
        )


def read_comments(
    comments: Sequence[PrComment], state: PrState, head_sha: str, *, app_slug: str
) -> PrCommands:
    """Fold the PR's comments into its record.

    A new `/approve` is bound to `head_sha`: the head current when the comment is first
    read. Each comment is read once (`seen_comments`), so a redelivery or a later
    recomputation never counts it again. Holds are derived afresh each time: the latest
    one stands, so there is nothing to record.
    """
    holds: list[HoldEvent] = []
    fast_tracks: list[FastTrackRequest] = []
    for comment in comments:
        if comment.author.endswith("[bot]"):
            continue
        new = comment.id not in state.seen_comments
        parsed = parse_comment(comment.body, app_slug=app_slug)
        for command in parsed.commands:
            if isinstance(command, HoldCommand | UnholdCommand):
                holds.append(HoldEvent(comment.author, comment.at, command))
            elif isinstance(command, FastTrackCommand):
                fast_tracks.append(
                    FastTrackRequest(comment.id, comment.author, comment.at, command.reason, new)
                )
            elif isinstance(command, ApproveCommand) and new:
                sign_off = SignOff(
                    comment.author, command.role, head_sha, comment.at, command.cancel
                )
                state = replace(state, sign_offs=(*state.sign_offs, sign_off))
        if new and any(c.verb in GATE_VERBS for c in parsed.commands):
            state = replace(state, seen_comments=(*state.seen_comments, comment.id))
    return PrCommands(state, tuple(holds), tuple(fast_tracks))


def fast_track_in_force(
    requests: Sequence[FastTrackRequest], roles_of: Mapping[str, frozenset[str]]
) -> FastTrackRequest | None:
    """The latest `/fast-track` from an eng lead; anyone else's switches nothing."""
    granted = [r for r in requests if FAST_TRACK_ROLE in roles_of.get(r.actor, frozenset())]
    return granted[-1] if granted else None


def refused_fast_tracks(
    requests: Sequence[FastTrackRequest], roles_of: Mapping[str, frozenset[str]]
) -> tuple[FastTrackRequest, ...]:
    """New requests from people who are not eng leads: each gets one reply."""
    return tuple(
        r for r in requests if r.new and FAST_TRACK_ROLE not in roles_of.get(r.actor, frozenset())
    )
