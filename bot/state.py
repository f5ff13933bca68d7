"""The sticky status comment: a readable status for people plus the signed ticket state."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, NamedTuple, TypeVar

from bot.config import BRANCH_PREFIX, RepoConfig
from bot.policies.reminders import clocks_of
from bot.policies.sla import (
    ClockState,
    Pause,
    SlaClock,
    format_deadline,
    format_remaining,
    plan_clock,
    triage_clock,
)
from bot.ticket import (
    AFFECTS_PREFIX,
    BACKPORT_PREFIX,
    BACKPORT_STATUSES,
    DECISIONS,
    NEEDS_INFO_LABEL,
    REGRESSION_LABEL,
    SECURITY_LABEL,
    SEVERITIES,
    SEVERITY_PREFIX,
    SLA_PAUSED_LABEL,
    TRIAGE_PREFIX,
    AuditEntry,
    BackportEntry,
    Checklist,
    Effort,
    PauseSpan,
    TicketState,
    YesNo,
)

__all__ = [
    "GITHUB_LIMIT",
    "MARKER",
    "SOFT_LIMIT",
    "STATE_VERSION",
    "UNKNOWN_MISSING",
    "ParsedState",
    "Problem",
    "TimelineEvent",
    "decode_state",
    "derive_key",
    "encode_state",
    "parse",
    "rebuild",
    "recover",
    "render",
    "tampering_entry",
]

MARKER = "<!-- lts-bot:status -->"
STATE_VERSION = 1
GITHUB_LIMIT = 65_536
# Measured in UTF-8 bytes, which is never fewer than characters or UTF-16 units, so the
# body fits whichever way GitHub counts; the margin absorbs a `\r\n` rewrite on web edits.
SOFT_LIMIT = 60_000
# Stands in for the fields an issue names as missing when only its needs-info label is
# known: the label must survive a rebuild, and intake re-derives the names from the body.
UNKNOWN_MISSING = "unknown"

Problem = Literal["missing", "unparseable", "bad-signature"]


class ParsedState(NamedTuple):
    """What a status comment holds: its state, or why it cannot be trusted."""

    state: TicketState | None
    problem: Problem | None


_KEY_LABEL = b"lts-bot status comment v1"
_KEY_SIZE = 32
_BLOCK_START = "<!-- lts-bot:state"
# The signature part is looser than hex on purpose: any edit to it is a bad signature,
# not a parse error. The payload alphabet is base64url without padding.
_BLOCK_RE = re.compile(r"<!-- lts-bot:state v1 ([A-Za-z0-9_-]+)\.([A-Za-z0-9]*) -->")
_VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")
_REMINDER_RE = re.compile(r"(triage|plan|release):(remind|breach)")
_INSTANT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z")
# A login (a GitHub App's ends in "[bot]") or a team "org/team-slug".
_WHO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\]|/[A-Za-z0-9][A-Za-z0-9_-]{0,99})?")

# Display limits keep one long field from crowding out the rest of the comment.
_SHOW_TEXT = 2_000
_SHOW_DETAIL = 500
_SHOW_NOTICE = 3_000
_SHOW_ITEMS = 20
# Storage limits, applied only to a state too big for the comment as it is: text this long
# is pasted logs or abuse, and clipping it keeps more of the audit trail than folding would.
_KEEP_TEXT = 2_000
_KEEP_ITEM = 200
_KEEP_ITEMS = 50


# --- keys and signatures ---------------------------------------------------------------


def derive_key(webhook_secret: bytes) -> bytes:
    """The status-comment signing key: HMAC-SHA256(secret, label).

    A derived key means the webhook secret itself never signs data that users can read,
    and a leaked status-comment key does not let anyone forge webhook deliveries.
    """
    if not webhook_secret:
        raise ValueError("the webhook secret is empty; a key derived from it would be public")
    return hmac.new(webhook_secret, _KEY_LABEL, hashlib.sha256).digest()


def _check_key(key: bytes) -> None:
    # Catches passing the raw webhook secret, which must never sign user-visible data.
    if len(key) != _KEY_SIZE:
        raise ValueError(f"the key must be the {_KEY_SIZE}-byte result of derive_key()")


def _sign(payload: str, key: bytes) -> str:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).hexdigest()


# --- encoding ----------------------------------------------------------------------------


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _iso(value: datetime, what: str) -> str:
    return _utc(value, what).isoformat().replace("+00:00", "Z")


def _opt_iso(value: datetime | None, what: str) -> str | None:
    return None if value is None else _iso(value, what)


def encode_state(state: TicketState) -> dict[str, object]:
    """The state as versioned JSON data; datetimes as ISO 8601 UTC ("...Z")."""
    checklist = state.checklist
    return {
        "v": STATE_VERSION,
        "number": state.number,
        "severity": state.severity,
        "severity_set_at": _opt_iso(state.severity_set_at, "severity_set_at"),
        "affects": list(state.affects),
        "decision": state.decision,
        "decision_reason": state.decision_reason,
        "decided_at": _opt_iso(state.decided_at, "decided_at"),
        "planned_at": _opt_iso(state.planned_at, "planned_at"),
        "backport": list(state.backport),
        "security": state.security,
        "regression": state.regression,
        "cve": list(state.cve),
        "python_versions": list(state.python_versions),
        "package_versions": list(state.package_versions),
        "missing_fields": list(state.missing_fields),
        "checklist": {
            "reproduced": checklist.reproduced,
            "exploit": checklist.exploit,
            "workaround": checklist.workaround,
            "api_change": checklist.api_change,
            "effort": checklist.effort,
        },
        "owner": state.owner,
        "pauses": [
            {
                "start": _iso(p.start, "pause start"),
                "end": _opt_iso(p.end, "pause end"),
                "reason": p.reason,
            }
            for p in state.pauses
        ],
        "audit": [
            {"at": _iso(e.at, "audit at"), "actor": e.actor, "action": e.action, "detail": e.detail}
            for e in state.audit
        ],
        "audit_folded": state.audit_folded,
        "backports": [
            {
                "line": b.line,
                "source": b.source,
                "status": b.status,
                "pr": b.pr,
                "detail": b.detail,
                "at": _opt_iso(b.at, "backport at"),
            }
            for b in state.backports
        ],
        "fixes": list(state.fixes),
        "reminders": list(state.reminders),
    }


# --- strict decoding ---------------------------------------------------------------------

_T = TypeVar("_T", bound=str)

_STATE_KEYS = (
    "v",
    "number",
    "severity",
    "severity_set_at",
    "affects",
    "decision",
    "decision_reason",
    "decided_at",
    "planned_at",
    "backport",
    "security",
    "regression",
    "cve",
    "python_versions",
    "package_versions",
    "missing_fields",
    "checklist",
    "owner",
    "pauses",
    "audit",
    "audit_folded",
    "backports",
    "fixes",
    "reminders",
)
_BACKPORT_KEYS = ("line", "source", "status", "pr", "detail", "at")
_CHECKLIST_KEYS = ("reproduced", "exploit", "workaround", "api_change", "effort")
_YES_NO: tuple[YesNo, ...] = ("yes", "no")
_EFFORTS: tuple[Effort, ...] = ("small", "medium", "large")


def _object(
    data: object, where: str, allowed: Sequence[str], required: Sequence[str]
) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field(s): {', '.join(unknown)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{where}: missing field(s): {', '.join(missing)}")
    return {str(k): v for k, v in data.items()}


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: object, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {type(value).__name__}")
    return value


def _int(value: object, where: str, minimum: int) -> int:
    # bool is an int subclass; true is not a count.
    if type(value) is not int or value < minimum:
        raise ValueError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _instant(value: object, where: str) -> datetime:
    text = _str(value, where)
    if not _INSTANT_RE.fullmatch(text):
        raise ValueError(f"{where}: expected an ISO 8601 UTC time such as 2026-11-23T10:00:00Z")
    return datetime.fromisoformat(text).astimezone(UTC)


def _opt_instant(value: object, where: str) -> datetime | None:
    return None if value is None else _instant(value, where)


def _choice(value: object, where: str, choices: tuple[_T, ...]) -> _T:
    for choice in choices:
        if value == choice:
            return choice
    raise ValueError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")


def _opt_choice(value: object, where: str, choices: tuple[_T, ...]) -> _T | None:
    return None if value is None else _choice(value, where, choices)


def _strs(
    value: object,
    where: str,
    pattern: re.Pattern[str] | None = None,
    what: str = "a version X.Y",
) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
    out = tuple(_str(item, f"{where}[{i}]") for i, item in enumerate(value))
    for i, item in enumerate(out):
        if pattern is not None and not pattern.fullmatch(item):
            raise ValueError(f"{where}[{i}]: expected {what}, got {item!r}")
    return out


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def _pause(data: object, where: str) -> PauseSpan:
    d = _object(data, where, ("start", "end", "reason"), ("start",))
    start = _instant(d["start"], f"{where}.start")
    end = _opt_instant(d.get("end"), f"{where}.end")
    if end is not None and end < start:
        raise ValueError(f"{where}: the pause ends before it starts")
    return PauseSpan(start, end, _str(d.get("reason", ""), f"{where}.reason"))


def _entry(data: object, where: str) -> AuditEntry:
    d = _object(data, where, ("at", "actor", "action", "detail"), ("at", "actor", "action"))
    return AuditEntry(
        _instant(d["at"], f"{where}.at"),
        _str(d["actor"], f"{where}.actor"),
        _str(d["action"], f"{where}.action"),
        _str(d.get("detail", ""), f"{where}.detail"),
    )


def _backport(data: object, where: str) -> BackportEntry:
    d = _object(data, where, _BACKPORT_KEYS, ("line", "source", "status"))
    line = _str(d["line"], f"{where}.line")
    if not _VERSION_RE.fullmatch(line):
        raise ValueError(f"{where}.line: expected a version X.Y, got {line!r}")
    pr = d.get("pr")
    return BackportEntry(
        line=line,
        source=_int(d["source"], f"{where}.source", 1),
        status=_choice(d["status"], f"{where}.status", BACKPORT_STATUSES),
        pr=None if pr is None else _int(pr, f"{where}.pr", 1),
        detail=_str(d.get("detail", ""), f"{where}.detail"),
        at=_opt_instant(d.get("at"), f"{where}.at"),
    )


def _checklist(data: object) -> Checklist:
    d = _object(data, "checklist", _CHECKLIST_KEYS, ())
    return Checklist(
        reproduced=_opt_choice(d.get("reproduced"), "checklist.reproduced", _YES_NO),
        exploit=_opt_choice(d.get("exploit"), "checklist.exploit", _YES_NO),
        workaround=_opt_choice(d.get("workaround"), "checklist.workaround", _YES_NO),
        api_change=_opt_choice(d.get("api_change"), "checklist.api_change", _YES_NO),
        effort=_opt_choice(d.get("effort"), "checklist.effort", _EFFORTS),
    )


def decode_state(data: object) -> TicketState:
    """Rebuild a TicketState from `encode_state` data; ValueError on anything unexpected.

    Only "v" and "number" are required: a field added to TicketState later decodes from
    older v1 data as its default. Unknown fields are refused rather than dropped.
    """
    d = _object(data, "state", _STATE_KEYS, ("v", "number"))
    if type(d["v"]) is not int or d["v"] != STATE_VERSION:
        raise ValueError(f"state: unsupported version {d['v']!r}; expected {STATE_VERSION}")
    return TicketState(
        number=_int(d["number"], "number", 1),
        severity=_opt_choice(d.get("severity"), "severity", SEVERITIES),
        severity_set_at=_opt_instant(d.get("severity_set_at"), "severity_set_at"),
        affects=_strs(d.get("affects", []), "affects", _VERSION_RE),
        decision=_opt_choice(d.get("decision"), "decision", DECISIONS),
        decision_reason=_str(d.get("decision_reason", ""), "decision_reason"),
        decided_at=_opt_instant(d.get("decided_at"), "decided_at"),
        planned_at=_opt_instant(d.get("planned_at"), "planned_at"),
        backport=_strs(d.get("backport", []), "backport", _VERSION_RE),
        security=_bool(d.get("security", False), "security"),
        regression=_bool(d.get("regression", False), "regression"),
        cve=_strs(d.get("cve", []), "cve"),
        python_versions=_strs(d.get("python_versions", []), "python_versions"),
        package_versions=_strs(d.get("package_versions", []), "package_versions"),
        missing_fields=_strs(d.get("missing_fields", []), "missing_fields"),
        checklist=_checklist(d.get("checklist", {})),
        owner=_opt_str(d.get("owner"), "owner"),
        pauses=tuple(
            _pause(p, f"pauses[{i}]") for i, p in enumerate(_list(d.get("pauses", []), "pauses"))
        ),
        audit=tuple(
            _entry(e, f"audit[{i}]") for i, e in enumerate(_list(d.get("audit", []), "audit"))
        ),
        audit_folded=_int(d.get("audit_folded", 0), "audit_folded", 0),
        backports=tuple(
            _backport(b, f"backports[{i}]")
            for i, b in enumerate(_list(d.get("backports", []), "backports"))
        ),
        fixes=tuple(
            _int(n, f"fixes[{i}]", 1) for i, n in enumerate(_list(d.get("fixes", []), "fixes"))
        ),
        reminders=_strs(
            d.get("reminders", []), "reminders", _REMINDER_RE, "a reminder such as triage:remind"
        ),
    )


# --- the signed block --------------------------------------------------------------------


def _block(state: TicketState, key: bytes) -> str:
    # Strings from webhook JSON may hold lone surrogates ("\ud800"); surrogatepass carries
    # them through, where \u escapes for all non-ASCII text would double its size.
    text = json.dumps(encode_state(state), ensure_ascii=False, separators=(",", ":"))
    raw = text.encode("utf-8", "surrogatepass")
    payload = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return f"{_BLOCK_START} v{STATE_VERSION} {payload}.{_sign(payload, key)} -->"


def parse(body: str, key: bytes, *, number: int | None = None) -> ParsedState:
    """Read and verify the signed state in a status comment's body.

    Edits outside the block are tolerated (people may fix a typo in the readable part,
    and GitHub rewrites line endings on web edits); any change to the signed bytes is
    "bad-signature". A second block is "unparseable": the bot never writes one, and
    picking either would let an editor choose which state is believed. With `number`,
    a validly signed block for another issue (copied from its comment) is also
    "bad-signature".
    """
    _check_key(key)
    count = body.count(_BLOCK_START)
    if count == 0:
        return ParsedState(None, "missing")
    match = _BLOCK_RE.search(body)
    if count > 1 or match is None:
        return ParsedState(None, "unparseable")
    payload, signature = match[1], match[2]
    if not hmac.compare_digest(_sign(payload, key), signature):
        return ParsedState(None, "bad-signature")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        state = decode_state(json.loads(raw.decode("utf-8", "surrogatepass")))
    except (ValueError, binascii.Error):
        # Signed by us yet unreadable: a newer or buggy writer, not an editor.
        return ParsedState(None, "unparseable")
    if number is not None and state.number != number:
        return ParsedState(None, "bad-signature")
    return ParsedState(state, None)


# --- rendering ---------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str, limit: int = _SHOW_TEXT) -> str:
    """User text made safe for one Markdown table cell or line.

    `<` and `>` are escaped so no text can open an HTML comment: a forged
    `<!-- lts-bot:state` in a reason would otherwise make the real block ambiguous.
    """
    # Lone surrogates (valid in JSON, not in UTF-8) become U+FFFD for display.
    text = _clip(text, limit).encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\\", "\\\\"), ("|", "\\|")):
        text = text.replace(old, new)
    return " ".join(text.splitlines())


def _who(login: str) -> str:
    # A code span shows the login without mentioning it: the status comment is rewritten
    # often and must not notify everyone it names (reminders are separate comments).
    name = login.removeprefix("@")
    if _WHO_RE.fullmatch(name):
        return f"`@{name}`"
    return _text(login, 100)


def _items(values: Sequence[str]) -> str:
    shown = ", ".join(_text(v, _KEEP_ITEM) for v in values[:_SHOW_ITEMS])
    more = len(values) - _SHOW_ITEMS
    return f"{shown} and {more} more" if more > 0 else shown


def _when(at: datetime) -> str:
    return f"{_utc(at, 'time'):%Y-%m-%d %H:%M}"


def _deadline_text(deadline: datetime, config: RepoConfig) -> str:
    text = format_deadline(deadline)
    if config.sla.timezone != "UTC":
        local = deadline.astimezone(config.sla.tz)
        text += f" ({local:%Y-%m-%d %H:%M} {local.tzname()})"
    return text


def _clock_row(label: str, clock: SlaClock, config: RepoConfig, now: datetime) -> str:
    cs: ClockState = clock.state(now, config.sla)
    left = format_remaining(cs.remaining)
    if clock.stopped is not None:
        left = f"stopped, {left}"
    return f"| {label} | {_deadline_text(cs.deadline, config)} | {left} | {cs.status} |"


def _sla_section(
    state: TicketState, config: RepoConfig, now: datetime, created_at: datetime
) -> list[str]:
    pauses = tuple(Pause(p.start, p.end) for p in state.pauses)
    sla = config.sla
    out = ["### SLA", "", "| Clock | Deadline | Time left | Status |", "| --- | --- | --- | --- |"]
    if state.severity is None:
        out.append("| Triage | — | set a severity to start the deadline | waiting |")
    elif state.decision is not None and state.decided_at is None:
        out.append(f"| Triage ({state.severity}) | — | decided; the time is not recorded | — |")
    else:
        clock = triage_clock(
            created_at,
            state.severity,
            sla,
            pauses=pauses,
            stopped=state.decided_at if state.decision else None,
        )
        label = f"Triage ({state.severity}: {clock.duration})"
        out.append(_clock_row(label, clock, config, now))
    if state.decision is None:
        out.append("| Plan | — | starts at the triage decision | waiting |")
    elif state.decision != "backport":
        out.append(f"| Plan | — | not needed ({state.decision}) | — |")
    elif state.decided_at is None:
        out.append("| Plan | — | the triage decision's time is not recorded | — |")
    else:
        clock = plan_clock(state.decided_at, sla, pauses=pauses, stopped=state.planned_at)
        out.append(_clock_row(f"Plan ({clock.duration})", clock, config, now))
        release = next(
            (c for c in clocks_of(state, created_at=created_at, sla=sla) if c.name == "release"),
            None,
        )
        if release is None:
            out.append("| Release | — | starts when the plan is agreed | waiting |")
        else:
            label = f"Release ({state.severity}: {release.duration})"
            out.append(_clock_row(label, release, config, now))
    if state.paused:
        pause = state.pauses[-1]
        reason = f": {_text(pause.reason)}" if pause.reason else ""
        out += ["", f"SLA paused since {format_deadline(pause.start)}{reason}"]
    return out


def _header(
    state: TicketState,
    *,
    config: RepoConfig,
    now: datetime,
    created_at: datetime,
    risk: tuple[int, str] | None,
    required_approvers: tuple[str, ...],
    notice: str | None,
) -> list[str]:
    out = [MARKER]
    if notice:
        notice_lines = _clip(notice, _SHOW_NOTICE).splitlines() or [""]
        out += ["> [!WARNING]", *(f"> {_text(line, _SHOW_NOTICE)}" for line in notice_lines), ""]
    out += [f"## LTS status of #{state.number}", "", "| Field | Value |", "| --- | --- |"]
    out.append(f"| Severity | {state.severity or 'not set'} |")
    affects = ", ".join(f"v{v}" for v in state.affects) or "none yet"
    out.append(f"| Affected lines | {affects} |")
    out.append(f"| Decision | {state.decision or 'pending'} |")
    if state.decision_reason:
        out.append(f"| Reason | {_text(state.decision_reason)} |")
    out.append(f"| Owner | {_who(state.owner) if state.owner else 'unassigned'} |")
    out.append(f"| Security | {'yes' if state.security else 'no'} |")
    out.append(f"| Regression | {'yes' if state.regression else 'no'} |")
    if state.cve:
        out.append(f"| CVE | {_items(state.cve)} |")
    if state.python_versions:
        out.append(f"| Python versions | {_items(state.python_versions)} |")
    if state.package_versions:
        out.append(f"| Package versions | {_items(state.package_versions)} |")
    if state.missing_fields:
        out.append(f"| Missing information | {_items(state.missing_fields)} |")
    score = f"{risk[0]}: {_text(risk[1])}" if risk else "not assessed"
    out.append(f"| Risk score | {score} |")

    # A table, not a task list: checkboxes are clickable by anyone with write access, and
    # a click edits this comment without changing what the bot records.
    checklist = state.checklist
    out += ["", "### Triage checklist", "", "| Item | Answer |", "| --- | --- |"]
    for item, answer in (
        ("Reproduced", checklist.reproduced),
        ("Exploit", checklist.exploit),
        ("Workaround", checklist.workaround),
        ("API change", checklist.api_change),
        ("Effort", checklist.effort),
    ):
        out.append(f"| {item} | {answer or 'not answered'} |")

    out += ["", *_sla_section(state, config, now, created_at)]

    out += ["", "### Backport plan", ""]
    versions = list(state.backport)
    versions += sorted({b.line for b in state.backports} - set(versions), key=_version_key)
    if versions:
        out += ["| Line | Target branch | Patch branch | State |", "| --- | --- | --- | --- |"]
        for version in versions:
            line = config.line(version)
            branch = line.branch if line else f"{BRANCH_PREFIX}{version}"
            patch = f"`lts/v{version}/issue-{state.number}`"
            entries = [b for b in state.backports if b.line == version]
            if not entries:
                status = "planned" if line else "not a configured line"
                out.append(f"| v{version} | `{branch}` | {patch} | {status} |")
            for entry in entries[-_SHOW_ITEMS:]:
                shown = f"#{entry.pr}" if entry.pr is not None else patch
                status = f"{_backport_status(entry)} (fix #{entry.source})"
                out.append(f"| v{version} | `{branch}` | {shown} | {status} |")
    else:
        out.append("No backport targets yet.")
    if state.fixes:
        shown = ", ".join(f"#{n}" for n in state.fixes[-_SHOW_ITEMS:])
        out += ["", f"Merged fixes: {shown}"]
    if required_approvers:
        approvers = ", ".join(
            _who(a) if a.startswith("@") else _text(a, 100) for a in required_approvers
        )
        out += ["", f"Required approvers: {approvers}"]
    return out


_BACKPORT_WORDS = {
    "requested": "requested",
    "open": "backport PR open",
    "merged": "merged",
    "conflict": "conflict: needs a hand backport",
    "already-in": "already in this line",
    "failed": "failed",
    "declined": "declined",
}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _backport_status(entry: BackportEntry) -> str:
    text = _BACKPORT_WORDS[entry.status]
    if entry.detail:
        text += f": {_text(entry.detail, _SHOW_DETAIL)}"
    return text


def _audit_section(state: TicketState) -> list[str]:
    out = ["", "### Audit trail", ""]
    if state.audit_folded:
        out += [f"_{state.audit_folded} earlier entries folded._", ""]
    if not state.audit:
        out.append("No entries yet.")
        return out
    out += ["| When (UTC) | Who | What | Why |", "| --- | --- | --- | --- |"]
    for e in state.audit:
        why = _text(e.detail, _SHOW_DETAIL) if e.detail else ""
        out.append(f"| {_when(e.at)} | {_who(e.actor)} | {_text(e.action, 300)} | {why} |")
    return out


def _fold(state: TicketState, count: int) -> TicketState:
    return replace(state, audit=state.audit[count:], audit_folded=state.audit_folded + count)


def _shrink(state: TicketState) -> TicketState:
    """The state with oversized free text clipped: the last resort before refusing."""

    def items(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_clip(v, _KEEP_ITEM) for v in values[:_KEEP_ITEMS])

    return replace(
        state,
        decision_reason=_clip(state.decision_reason, _KEEP_TEXT),
        cve=items(state.cve),
        python_versions=items(state.python_versions),
        package_versions=items(state.package_versions),
        missing_fields=items(state.missing_fields),
        owner=_clip(state.owner, _KEEP_ITEM) if state.owner else state.owner,
        pauses=tuple(replace(p, reason=_clip(p.reason, _KEEP_ITEM)) for p in state.pauses),
        audit=tuple(
            replace(
                e,
                actor=_clip(e.actor, _KEEP_ITEM),
                action=_clip(e.action, _KEEP_ITEM),
                detail=_clip(e.detail, _KEEP_TEXT),
            )
            for e in state.audit
        ),
    )


def _fits(body: str) -> bool:
    return len(body.encode("utf-8")) <= SOFT_LIMIT


def render(
    state: TicketState,
    *,
    config: RepoConfig,
    now: datetime,
    key: bytes,
    created_at: datetime,
    risk: tuple[int, str] | None = None,
    required_approvers: tuple[str, ...] = (),
    notice: str | None = None,
) -> str:
    """The whole status comment body: MARKER, the readable status, then the signed state.

    Deterministic for the same arguments, so rendering twice and diffing is a no-op. When
    the body would exceed SOFT_LIMIT, free text over the storage limits is clipped, then
    the fewest oldest audit entries needed fold into `audit_folded`, in the signed state
    too: `parse` returns the state as stored, which the caller keeps from then on. A state
    that fits in no way (hundreds of SLA pauses) is a ValueError.
    """
    _check_key(key)
    now = _utc(now, "now")
    created_at = _utc(created_at, "created_at")

    def body(head: list[str], s: TicketState) -> str:
        return "\n".join([*head, *_audit_section(s), "", _block(s, key)]) + "\n"

    def head_for(s: TicketState) -> list[str]:
        return _header(
            s,
            config=config,
            now=now,
            created_at=created_at,
            risk=risk,
            required_approvers=required_approvers,
            notice=notice,
        )

    text = body(head_for(state), state)
    if _fits(text):
        return text
    state = _shrink(state)
    head = head_for(state)
    if not _fits(body(head, _fold(state, len(state.audit)))):
        raise ValueError(
            f"the state of #{state.number} does not fit in a status comment even with its "
            f"audit trail folded ({len(state.pauses)} SLA pauses)"
        )
    # Each folded entry removes more than the summary line adds, so the size falls as
    # `count` grows: the fewest entries to fold is found by bisection.
    lo, hi = 0, len(state.audit)
    while lo < hi:
        mid = (lo + hi) // 2
        if _fits(body(head, _fold(state, mid))):
            hi = mid
        else:
            lo = mid + 1
    return body(head, _fold(state, lo))


# --- rebuilding from GitHub's own records ------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    """One event from the issue's timeline that bears on the ticket state."""

    at: datetime
    actor: str
    event: Literal["labeled", "unlabeled", "assigned", "unassigned"]
    label: str | None = None
    assignee: str | None = None


def _tracked(label: str, config: RepoConfig) -> bool:
    """Whether a label is one `rebuild` reads: owned, well-formed, and for a known line."""
    if label.startswith(SEVERITY_PREFIX):
        return label.removeprefix(SEVERITY_PREFIX) in SEVERITIES
    if label.startswith(TRIAGE_PREFIX):
        return label.removeprefix(TRIAGE_PREFIX) in DECISIONS
    for prefix in (AFFECTS_PREFIX, BACKPORT_PREFIX):
        if label.startswith(prefix):
            version = label.removeprefix(prefix)
            return version.startswith("v") and config.line(version) is not None
    return label in (SECURITY_LABEL, REGRESSION_LABEL, NEEDS_INFO_LABEL, SLA_PAUSED_LABEL)


def _latest(
    choices: tuple[_T, ...], prefix: str, present: set[str], added_at: dict[str, datetime]
) -> _T | None:
    """The choice whose label was added last; on a tie, or with no times, the first one.

    SEVERITIES runs from most to least severe, so without times the most severe wins.
    """
    candidates = [c for c in choices if prefix + c in present]
    if not candidates:
        return None
    earliest = datetime.min.replace(tzinfo=UTC)
    return max(candidates, key=lambda c: (added_at.get(prefix + c, earliest), -choices.index(c)))


def rebuild(
    number: int,
    labels: Iterable[str],
    timeline: Iterable[TimelineEvent],
    *,
    config: RepoConfig,
    now: datetime | None = None,
) -> TicketState:
    """What can be known of a ticket from its labels and timeline alone.

    Labels are the truth for what they index; the timeline says when and by whom.
    Labels for lines that are not configured are ignored. With two severity (or triage)
    labels, the one added last wins, as if the later edit were a command; without
    timeline times, the most severe one (or the first decision in DECISIONS) wins.
    Reasons, the checklist, CVEs and versions are not in labels and stay empty. A
    `sla/paused` label with no timeline event counts as paused from `now`, the
    conservative choice for an SLA; without `now` it is left out.
    """
    present = {label for label in labels if _tracked(label, config)}
    events = sorted(timeline, key=lambda e: _utc(e.at, "TimelineEvent.at"))
    added_at: dict[str, datetime] = {}
    assignees: list[str] = []
    pauses: list[PauseSpan] = []
    pause_start: datetime | None = None
    audit: list[AuditEntry] = []

    for e in events:
        at = _utc(e.at, "TimelineEvent.at")
        if e.event in ("labeled", "unlabeled"):
            if e.label is None or not _tracked(e.label, config):
                continue
            if e.event == "labeled":
                added_at[e.label] = at
                audit.append(AuditEntry(at, e.actor, f"label {e.label} added"))
                if e.label == SLA_PAUSED_LABEL and pause_start is None:
                    pause_start = at
            else:
                audit.append(AuditEntry(at, e.actor, f"label {e.label} removed"))
                if e.label == SLA_PAUSED_LABEL and pause_start is not None:
                    pauses.append(PauseSpan(pause_start, at))
                    pause_start = None
        elif e.assignee is not None:
            if e.assignee in assignees:
                assignees.remove(e.assignee)
            if e.event == "assigned":
                assignees.append(e.assignee)
                audit.append(AuditEntry(at, e.actor, f"assigned {e.assignee}"))
            else:
                audit.append(AuditEntry(at, e.actor, f"unassigned {e.assignee}"))

    if SLA_PAUSED_LABEL in present:
        start = pause_start if pause_start is not None else now
        if start is not None:
            pauses.append(PauseSpan(_utc(start, "now"), None))

    severity = _latest(SEVERITIES, SEVERITY_PREFIX, present, added_at)
    decision = _latest(DECISIONS, TRIAGE_PREFIX, present, added_at)

    def versions(prefix: str) -> tuple[str, ...]:
        return tuple(line.version for line in config.lines if f"{prefix}{line.label}" in present)

    backport = versions(BACKPORT_PREFIX)

    return TicketState(
        number=number,
        severity=severity,
        severity_set_at=added_at.get(SEVERITY_PREFIX + severity) if severity else None,
        affects=versions(AFFECTS_PREFIX),
        decision=decision,
        decided_at=added_at.get(TRIAGE_PREFIX + decision) if decision else None,
        planned_at=min(
            (
                added_at[BACKPORT_PREFIX + "v" + v]
                for v in backport
                if BACKPORT_PREFIX + "v" + v in added_at
            ),
            default=None,
        ),
        backport=backport,
        security=SECURITY_LABEL in present,
        regression=REGRESSION_LABEL in present,
        missing_fields=(UNKNOWN_MISSING,) if NEEDS_INFO_LABEL in present else (),
        owner=assignees[-1] if assignees else None,
        pauses=tuple(pauses),
        audit=tuple(audit),
    )


_PROBLEM_TEXT: dict[Problem, str] = {
    "missing": "the signed state block was removed",
    "unparseable": "the signed state block was garbled",
    "bad-signature": "the signed state block was altered (its signature does not match)",
}


def tampering_entry(
    problem: Problem, *, now: datetime, actor: str = "lts-bot", editor: str | None = None
) -> AuditEntry:
    """The audit entry that records a rebuilt state and why it was rebuilt."""
    detail = f"{_PROBLEM_TEXT[problem]}; rebuilt from labels and the issue timeline"
    if editor:
        detail += f" (comment last edited by {editor})"
    return AuditEntry(_utc(now, "now"), actor, "status comment rebuilt", detail)


def recover(
    problem: Problem,
    number: int,
    labels: Iterable[str],
    timeline: Iterable[TimelineEvent],
    *,
    config: RepoConfig,
    now: datetime,
    editor: str | None = None,
) -> TicketState:
    """`rebuild`, with the tampering recorded as the newest audit entry."""
    state = rebuild(number, labels, timeline, config=config, now=now)
    return state.with_audit(tampering_entry(problem, now=now, editor=editor))
