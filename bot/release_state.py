"""What the bot records about one release: kept signed in its tracking issue's body."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from bot.policies.release import IncludedChange
from bot.sealed import find_sealed, seal
from bot.ticket import AuditEntry

__all__ = [
    "MARKER",
    "ReleaseRecord",
    "ReleaseStatus",
    "TrackingView",
    "decode",
    "encode",
    "included_section",
    "inert",
    "marker_for",
    "render",
    "section",
]

MARKER = "<!-- lts-bot:release {version} -->"
_BLOCK_RE = re.compile(r"<!-- lts-bot:release-state v1 ([A-Za-z0-9_-]+)\.([0-9a-f]{64}) -->")
# Audit entries kept in the record; the oldest go first (the tickets keep their own).
MAX_AUDIT = 100

ReleaseStatus = Literal["draft", "published", "flagged", "done", "withdrawn"]
RELEASE_STATUSES: tuple[ReleaseStatus, ...] = ("draft", "published", "flagged", "done", "withdrawn")


def marker_for(version: str) -> str:
    return MARKER.format(version=version)


@dataclass(frozen=True)
class ReleaseRecord:
    """One release of an LTS line from `/release` to its end: published, closed or withdrawn."""

    version: str
    tag: str
    line: str
    status: ReleaseStatus = "draft"
    release_id: int | None = None
    previous_tag: str | None = None
    head_sha: str = ""
    prs: tuple[int, ...] = ()
    tickets: tuple[int, ...] = ()
    # A repository advisory's GHSA id, or "release-body" when it went into the draft notes.
    advisory: str | None = None
    # A digest of the draft notes the bot last wrote: a body that differs was edited by
    # a person, and is left alone from then on.
    notes: str = ""
    requested_by: str = ""
    published_at: datetime | None = None
    window_ends: datetime | None = None
    # When the included tickets were closed at the end of the monitoring window.
    closed_at: datetime | None = None
    regressions: tuple[int, ...] = ()
    withdrawn_at: datetime | None = None
    withdrawn_reason: str = ""
    incident: int | None = None
    audit: tuple[AuditEntry, ...] = ()

    def with_audit(self, at: datetime, actor: str, action: str, detail: str = "") -> ReleaseRecord:
        entries = (*self.audit, AuditEntry(at, actor, action, detail))[-MAX_AUDIT:]
        return replace(self, audit=entries)


_DOMAIN = b"release:"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_time(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("naive time")
    return parsed


def encode(record: ReleaseRecord, key: bytes) -> str:
    data = {
        "v": 1,
        "version": record.version,
        "tag": record.tag,
        "line": record.line,
        "status": record.status,
        "release_id": record.release_id,
        "previous_tag": record.previous_tag,
        "head_sha": record.head_sha,
        "prs": list(record.prs),
        "tickets": list(record.tickets),
        "advisory": record.advisory,
        "notes": record.notes,
        "requested_by": record.requested_by,
        "published_at": _time(record.published_at),
        "window_ends": _time(record.window_ends),
        "closed_at": _time(record.closed_at),
        "regressions": list(record.regressions),
        "withdrawn_at": _time(record.withdrawn_at),
        "withdrawn_reason": record.withdrawn_reason,
        "incident": record.incident,
        "audit": [[e.at.isoformat(), e.actor, e.action, e.detail] for e in record.audit],
    }
    return f"<!-- lts-bot:release-state v1 {seal(data, key, _DOMAIN)} -->"


def decode(body: str, key: bytes) -> ReleaseRecord | None:
    """The verified record in a tracking issue's body; None if absent or altered."""
    data = find_sealed(body, _BLOCK_RE, key, _DOMAIN)
    try:
        if not isinstance(data, dict) or data.get("v") != 1:
            return None
        if data["status"] not in RELEASE_STATUSES:
            return None
        audit = []
        for at, actor, action, detail in data["audit"]:
            when = _from_time(at)
            assert when is not None
            audit.append(AuditEntry(when, str(actor), str(action), str(detail)))
        return ReleaseRecord(
            version=str(data["version"]),
            tag=str(data["tag"]),
            line=str(data["line"]),
            status=data["status"],
            release_id=None if data["release_id"] is None else int(data["release_id"]),
            previous_tag=None if data["previous_tag"] is None else str(data["previous_tag"]),
            head_sha=str(data["head_sha"]),
            prs=tuple(int(n) for n in data["prs"]),
            tickets=tuple(int(n) for n in data["tickets"]),
            advisory=None if data["advisory"] is None else str(data["advisory"]),
            notes=str(data.get("notes") or ""),
            requested_by=str(data["requested_by"]),
            published_at=_from_time(data["published_at"]),
            window_ends=_from_time(data["window_ends"]),
            closed_at=_from_time(data["closed_at"]),
            regressions=tuple(int(n) for n in data["regressions"]),
            withdrawn_at=_from_time(data["withdrawn_at"]),
            withdrawn_reason=str(data["withdrawn_reason"]),
            incident=None if data["incident"] is None else int(data["incident"]),
            audit=tuple(audit),
        )
    except (ValueError, TypeError, KeyError, AssertionError):
        return None


# --- the tracking issue's body --------------------------------------------------------

# GitHub's limit on an issue body; the rendering is trimmed to stay under it.
ISSUE_LIMIT = 65_536
_STATUS_TEXT = {
    "draft": "**staging**: the draft release is not published yet",
    "published": "**published**, in its monitoring window",
    "flagged": "**published, flagged**: regressions were reported in its monitoring window",
    "done": "**done**: monitoring window passed without regressions; tickets closed",
    "withdrawn": "**withdrawn**",
}


def inert(text: str, limit: int = 200) -> str:
    """Text from people, safe in the bot's body: one line, no markers, no HTML, no table."""
    one = " ".join(text.split())[:limit]
    return one.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def included_section(changes: Sequence[IncludedChange]) -> str:
    """The PRs a release includes, with their tickets and changelog lines."""
    if not changes:
        return "Nothing merged since the previous release."
    rows = ["| PR | tickets | changelog |", "| --- | --- | --- |"]
    for c in changes:
        refs = ", ".join(f"#{t}" for t in c.tickets) or "—"
        text = inert(c.changelog) if c.changelog else "*no `Changelog:` line*"
        rows.append(f"| #{c.pr} | {refs} | {text} |")
    return "\n".join(rows)


def section(body: str | None, heading: str) -> str:
    """The text under `### heading` in a body the bot rendered ("" if there is none).

    A refresh that has no fresh snapshot (a rollback, the end of a window) keeps what the
    last one showed instead of dropping it.
    """
    if not body:
        return ""
    start = body.find(f"\n### {heading}\n")
    if start < 0:
        return ""
    rest = body[start + len(heading) + 6 :]
    end = min((i for i in (rest.find("\n### "), rest.find("\n<!-- ")) if i >= 0), default=len(rest))
    return rest[:end].strip()


@dataclass(frozen=True)
class TrackingView:
    """What the tracking issue shows beyond the record: links and rendered sections."""

    release_url: str | None = None
    advisory_url: str | None = None
    checklist: str = ""
    included: str = ""
    fast_tracked: str = ""


def render(record: ReleaseRecord, view: TrackingView, *, key: bytes) -> str:
    """The tracking issue's body: status, links, sections, audit trail, the signed record."""
    tag = record.tag
    status = _STATUS_TEXT[record.status]
    if record.status == "published" and record.window_ends is not None:
        status += f" until {record.window_ends:%Y-%m-%d %H:%M} UTC"
    if record.status == "withdrawn":
        status += f": {inert(record.withdrawn_reason, 500)}"
    where = f"[{tag}]({view.release_url})" if view.release_url else f"`{tag}`"
    prev = f"`{record.previous_tag}`" if record.previous_tag else "none (first release of the line)"
    lines = [
        marker_for(record.version),
        f"## LTS release {tag}",
        "",
        f"Status: {status}.",
        f"Release: {where} from `release-lts/v{record.line}` at `{record.head_sha[:12]}`; "
        f"previous release: {prev}.",
    ]
    if record.requested_by:
        lines.append(f"Requested by @{record.requested_by}.")
    if record.incident:
        lines.append(f"Incident: #{record.incident}.")
    if view.advisory_url:
        lines.append(f"Security advisory (draft): {view.advisory_url}")
    elif record.advisory == "release-body":
        lines.append("Security advisory: drafted in the release notes (no advisory permission).")
    for heading, text in (
        ("Pre-release checklist", view.checklist),
        ("Included", view.included),
        ("Fast-tracked", view.fast_tracked),
    ):
        if text:
            lines += ["", f"### {heading}", "", text]
    if record.regressions:
        lines += ["", "### Regressions reported", ""]
        lines += [f"- #{n}" for n in record.regressions]
    lines += ["", "### Audit trail", ""]
    lines += [
        f"- {e.at:%Y-%m-%d %H:%M} UTC `{e.actor}` {e.action}"
        + (f": {inert(e.detail, 500)}" if e.detail else "")
        for e in record.audit[-30:]
    ]
    state = encode(record, key)
    body = "\n".join(lines)
    room = ISSUE_LIMIT - len(state) - 200
    if len(body) > room:
        body = body[:room] + "\n\n… (shortened to fit GitHub's limit)"
    return f"{body}\n\n{state}\n"
