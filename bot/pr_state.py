"""What the bot records on a pull request: role sign-offs bound to the head they saw."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.policies.approvals import SignOff
from bot.sealed import find_sealed, seal

MARKER = "<!-- lts-bot:pr -->"
_BLOCK_RE = re.compile(r"<!-- lts-bot:pr-state v1 ([A-Za-z0-9_-]+)\.([0-9a-f]{64}) -->")
# Comment ids already applied, so a redelivered or edited comment is not counted twice;
# the oldest are dropped beyond this (they can no longer be redelivered by then).
MAX_SEEN = 500


@dataclass(frozen=True)
class PrState:
    """Sign-offs in the order given, and the comments already read."""

    number: int
    sign_offs: tuple[SignOff, ...] = ()
    seen_comments: tuple[int, ...] = ()
    # Reminders posted, as "approvals:<head sha>": recorded before posting, checked first.
    reminded: tuple[str, ...] = ()


_DOMAIN = b"pr:"


def encode(state: PrState, key: bytes) -> str:
    data = {
        "v": 1,
        "number": state.number,
        "sign_offs": [
            [s.actor, s.role, s.sha, s.at.isoformat(), s.cancel] for s in state.sign_offs
        ],
        "seen": list(state.seen_comments[-MAX_SEEN:]),
        "reminded": list(state.reminded[-MAX_SEEN:]),
    }
    return f"<!-- lts-bot:pr-state v1 {seal(data, key, _DOMAIN)} -->"


def decode(body: str, key: bytes, number: int) -> PrState | None:
    """The verified state in a comment body; None if absent, altered or for another PR."""
    data = find_sealed(body, _BLOCK_RE, key, _DOMAIN)
    try:
        if not isinstance(data, dict) or data.get("v") != 1 or data.get("number") != number:
            return None
        sign_offs = tuple(
            SignOff(str(a), str(r), str(sha), datetime.fromisoformat(at), bool(c))
            for a, r, sha, at, c in data["sign_offs"]
        )
        seen = tuple(int(i) for i in data["seen"])
        reminded = tuple(str(k) for k in data.get("reminded", []))
    except (ValueError, TypeError, KeyError):
        return None
    return PrState(number, sign_offs, seen, reminded)


def render(state: PrState, key: bytes) -> str:
    """The bot's one comment on an LTS pull request: the sign-off record, readable and signed."""
    lines = [MARKER, "### LTS sign-offs", ""]
    if state.sign_offs:
        lines += ["| who | role | at commit | when |", "| --- | --- | --- | --- |"]
        for s in state.sign_offs:
            role = f"~~{s.role}~~ (withdrawn)" if s.cancel else s.role
            lines.append(f"| `{s.actor}` | {role} | `{s.sha[:7]}` | {s.at:%Y-%m-%d %H:%M} UTC |")
    else:
        lines.append("No `/approve` yet.")
    lines += ["", "The `lts/approvals` check says which roles these fill.", "", encode(state, key)]
    return "\n".join(lines)
