"""The status comment: signed state round trips, tampering, rebuilding, rendering, size."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import RepoConfig
from bot.state import (
    GITHUB_LIMIT,
    MARKER,
    SOFT_LIMIT,
    UNKNOWN_MISSING,
    ParsedState,
    TimelineEvent,
    decode_state,
    derive_key,
    encode_state,
    parse,
    rebuild,
    recover,
    render,
)
from bot.ticket import (
    AuditEntry,
    BackportEntry,
    Checklist,
    PauseSpan,
    TicketState,
    is_owned_label,
)

KEY = derive_key(b"It's a Secret to Everybody")
OTHER_KEY = derive_key(b"another installation's secret")
CONFIG = RepoConfig.model_validate(
    {
        "lines": [
            {"version": "1.4", "eol": "2027-06-30"},
            {"version": "1.5", "eol": "2028-06-30"},
        ]
    }
)
BERLIN_CONFIG = CONFIG.model_copy(
    update={"sla": CONFIG.sla.model_copy(update={"timezone": "Europe/Berlin"})}
)
BERLIN = ZoneInfo("Europe/Berlin")
BLOCK_RE = re.compile(r"<!-- lts-bot:state v1 ([A-Za-z0-9_-]+)\.([0-9a-f]{64}) -->")


def utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant in November 2026 (UTC): the 23rd is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


CREATED = utc(23, 9)
NOW = utc(23, 15)


def full_state(**changes: Any) -> TicketState:
    """A ticket with every field set, triaged for backport to v1.4."""
    state = TicketState(
        number=123,
        severity="high",
        severity_set_at=utc(23, 10),
        affects=("1.4", "1.5"),
        decision="backport",
        decision_reason="Small, well-tested fix",
        decided_at=utc(23, 14),
        planned_at=utc(23, 14),
        backport=("1.4",),
        security=True,
        regression=True,
        cve=("CVE-2026-12345",),
        python_versions=("3.11", "3.12"),
        package_versions=("1.4.2",),
        missing_fields=("logs",),
        checklist=Checklist(
            reproduced="yes", exploit="no", workaround="no", api_change="no", effort="small"
        ),
        owner="alice",
        pauses=(PauseSpan(utc(23, 11), utc(23, 12), "waiting for the reporter"),),
        audit=(
            AuditEntry(utc(23, 10), "bob", "severity set to high", "/severity high"),
            AuditEntry(utc(23, 14), "carol", "decision: backport", "Small, well-tested fix"),
        ),
        audit_folded=0,
        backports=(
            BackportEntry("1.5", 7, "conflict", detail="abc1234 conflicts in app.py", at=NOW),
        ),
        fixes=(7,),
    )
    return dataclasses.replace(state, **changes)


def draw(state: TicketState, **kwargs: Any) -> str:
    options: dict[str, Any] = {"config": CONFIG, "now": NOW, "key": KEY, "created_at": CREATED}
    return render(state, **(options | kwargs))


def lines_of(body: str) -> list[str]:
    return body.splitlines()


# --- keys ----------------------------------------------------------------------------------


def test_derive_key_is_hmac_of_the_secret_over_a_fixed_label() -> None:
    secret = b"It's a Secret to Everybody"
    expected = hmac.new(secret, b"lts-bot status comment v1", hashlib.sha256).digest()
    assert derive_key(secret) == expected
    assert derive_key(secret) != secret
    assert derive_key(b"other") != derive_key(secret)


def test_derive_key_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="empty"):
        derive_key(b"")


RAW_SECRET = b"It's a Secret to Everybody"


@pytest.mark.parametrize(
    "use",
    [lambda: draw(full_state(), key=RAW_SECRET), lambda: parse("", RAW_SECRET)],
    ids=["render", "parse"],
)
def test_the_raw_secret_is_refused_as_a_signing_key(use: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="derive_key"):
        use()


# --- encode / decode ---------------------------------------------------------------------


def test_encoding_covers_every_field_of_the_state() -> None:
    """A field added to TicketState and not to the codec fails here, not in production."""
    data = encode_state(full_state())
    assert set(data) == {"v"} | {f.name for f in dataclasses.fields(TicketState)}
    checklist = data["checklist"]
    assert isinstance(checklist, dict)
    assert set(checklist) == {f.name for f in dataclasses.fields(Checklist)}
    pauses, audit = data["pauses"], data["audit"]
    assert isinstance(pauses, list)
    assert isinstance(audit, list)
    assert set(pauses[0]) == {f.name for f in dataclasses.fields(PauseSpan)}
    assert set(audit[0]) == {f.name for f in dataclasses.fields(AuditEntry)}


def test_encoding_is_versioned_json_with_utc_times() -> None:
    data = json.loads(json.dumps(encode_state(full_state())))
    assert data["v"] == 1
    assert data["severity_set_at"] == "2026-11-23T10:00:00Z"
    assert data["pauses"][0] == {
        "start": "2026-11-23T11:00:00Z",
        "end": "2026-11-23T12:00:00Z",
        "reason": "waiting for the reporter",
    }


@pytest.mark.parametrize(
    "state",
    [
        full_state(),
        TicketState(number=1),
        full_state(pauses=(PauseSpan(utc(23, 11), None),), owner=None, decision=None),
        # Times in another zone are stored as the same instant in UTC.
        full_state(decided_at=datetime(2026, 11, 23, 15, 30, 15, 123456, tzinfo=BERLIN)),
    ],
)
def test_decode_inverts_encode(state: TicketState) -> None:
    assert decode_state(json.loads(json.dumps(encode_state(state)))) == state


def test_decode_reads_absent_optional_fields_as_defaults() -> None:
    """A field added compatibly later decodes from older v1 data as its default."""
    assert decode_state({"v": 1, "number": 7}) == TicketState(number=7)


def test_encode_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_state(full_state(decided_at=datetime(2026, 11, 23, 14)))


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("extra", 1), "unknown field"),
        (_set("checklist.mood", "ok"), "unknown field"),
        (_set("audit.0.extra", ""), "unknown field"),
        (_set("v", 2), "unsupported version"),
        (_set("v", _DELETE), "missing field"),
        (_set("number", _DELETE), "missing field"),
        (_set("number", "123"), "number"),
        (_set("number", True), "number"),
        (_set("number", 0), "number"),
        (_set("severity", "urgent"), "severity"),
        (_set("decision", "maybe"), "decision"),
        (_set("severity_set_at", "2026-11-23T10:00:00"), "ISO 8601 UTC"),
        (_set("severity_set_at", "2026-11-23T11:00:00+01:00"), "ISO 8601 UTC"),
        (_set("decided_at", 1763895600), "expected a string"),
        (_set("affects", ["1.x"]), "version"),
        (_set("backport", "1.4"), "expected a list"),
        (_set("security", "yes"), "true or false"),
        (_set("cve", [1]), "expected a string"),
        (_set("checklist.effort", "huge"), "checklist.effort"),
        (_set("checklist.reproduced", True), "checklist.reproduced"),
        (_set("owner", 5), "owner"),
        (_set("pauses.0.end", "2026-11-23T10:00:00Z"), "ends before it starts"),
        (_set("audit.0.actor", _DELETE), "missing field"),
        (_set("audit", {}), "expected a list"),
        (_set("audit_folded", -1), "audit_folded"),
    ],
)
def test_decode_refuses_unknown_or_invalid_fields(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = json.loads(json.dumps(encode_state(full_state())))
    change(data)
    with pytest.raises(ValueError, match=message):
        decode_state(data)


@pytest.mark.parametrize("data", [None, [], "state", 1])
def test_decode_refuses_anything_but_an_object(data: object) -> None:
    with pytest.raises(ValueError, match="expected an object"):
        decode_state(data)


# --- render / parse ------------------------------------------------------------------------


def test_parse_returns_the_rendered_state() -> None:
    state = full_state()
    assert parse(draw(state), KEY) == ParsedState(state, None)


def test_render_is_deterministic() -> None:
    assert draw(full_state()) == draw(full_state())


def test_edits_outside_the_signed_block_are_tolerated() -> None:
    """A typo fixed in the readable part, or GitHub's \\r\\n on a web edit, keeps the state."""
    body = draw(full_state()).replace("| Severity | high |", "| Severity | HIGH!! |")
    body = body.replace("\n", "\r\n") + "\r\nthanks!"
    assert parse(body, KEY) == ParsedState(full_state(), None)


def _reencode(body: str, edit: Callable[[dict[str, Any]], None]) -> str:
    """The body with the block's JSON edited and the old signature kept."""
    match = BLOCK_RE.search(body)
    assert match
    data = json.loads(base64.urlsafe_b64decode(match[1] + "=" * (-len(match[1]) % 4)))
    edit(data)
    raw = json.dumps(data, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return body.replace(match[1], payload)


def _edit_signature(edit: Callable[[str], str]) -> Callable[[str], str]:
    def tamper(body: str) -> str:
        match = BLOCK_RE.search(body)
        assert match
        return body.replace(match[2], edit(match[2]))

    return tamper


def _second_block(body: str) -> str:
    match = BLOCK_RE.search(body)
    assert match
    return f"{body}{match[0]}\n"


def _resign(body: str, payload: bytes) -> str:
    """The body with a block over `payload`, correctly signed: only the content is wrong."""
    text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    signature = hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()
    return BLOCK_RE.sub(f"<!-- lts-bot:state v1 {text}.{signature} -->", body)


TAMPERING: list[tuple[str, Callable[[str], str], str]] = [
    ("edited JSON", lambda b: _reencode(b, _set("severity", "low")), "bad-signature"),
    ("folded audit by hand", lambda b: _reencode(b, _set("audit", [])), "bad-signature"),
    ("edited signature", _edit_signature(lambda s: s[::-1]), "bad-signature"),
    ("truncated signature", _edit_signature(lambda s: s[:-1]), "bad-signature"),
    ("uppercased signature", _edit_signature(str.upper), "bad-signature"),
    ("deleted signature", _edit_signature(lambda s: ""), "bad-signature"),
    ("removed block", lambda b: BLOCK_RE.sub("", b), "missing"),
    ("garbage", lambda b: "lgtm 🎉", "missing"),
    ("empty body", lambda b: "", "missing"),
    ("unclosed block", lambda b: b.rstrip().removesuffix(" -->"), "unparseable"),
    ("version bumped", lambda b: b.replace("lts-bot:state v1", "lts-bot:state v2"), "unparseable"),
    ("second block", _second_block, "unparseable"),
    ("signed non-JSON", lambda b: _resign(b, b"not json"), "unparseable"),
    ("signed invalid state", lambda b: _resign(b, b'{"v":1,"number":-1}'), "unparseable"),
]


@pytest.mark.parametrize(
    ("tamper", "problem"), [(t, p) for _, t, p in TAMPERING], ids=[n for n, _, _ in TAMPERING]
)
def test_tampering_is_detected(tamper: Callable[[str], str], problem: str) -> None:
    body = draw(full_state())
    assert parse(tamper(body), KEY) == ParsedState(None, problem)  # type: ignore[arg-type]


def test_the_block_of_the_last_line_ends_the_body() -> None:
    """The truncation case above edits the real block: it is the body's last line."""
    assert BLOCK_RE.fullmatch(lines_of(draw(full_state()))[-1])


def test_a_block_signed_with_another_key_is_a_bad_signature() -> None:
    body = draw(full_state(), key=OTHER_KEY)
    assert parse(body, KEY) == ParsedState(None, "bad-signature")
    assert parse(body, OTHER_KEY).problem is None


def test_lone_surrogates_from_webhook_json_survive_the_round_trip() -> None:
    state = full_state(decision_reason=json.loads('"broken \\ud800 text"'))
    body = draw(state)
    assert "| Reason | broken \ufffd text |" in lines_of(body)
    assert parse(body, KEY) == ParsedState(state, None)


def test_a_block_copied_from_another_issue_is_a_bad_signature() -> None:
    body = draw(full_state(number=77))
    assert parse(body, KEY, number=123) == ParsedState(None, "bad-signature")
    assert parse(body, KEY, number=77).problem is None


def test_user_text_cannot_forge_a_second_block() -> None:
    forged = draw(TicketState(number=9))
    match = BLOCK_RE.search(forged)
    assert match
    state = full_state(
        decision_reason=f"see {match[0]} -->",
        audit=(AuditEntry(utc(23, 10), "<!-- lts-bot:state", match[0], "a | b\nc"),),
    )
    body = draw(state)
    assert body.count("<!-- lts-bot:state") == 1
    assert parse(body, KEY) == ParsedState(state, None)
    assert "| Reason | see &lt;!-- lts-bot:state v1 " in body


# --- what the rendering shows ----------------------------------------------------------------


def test_the_rendering_shows_every_field() -> None:
    body = draw(
        full_state(),
        risk=(7, "security fix on two lines"),
        required_approvers=("reviewer", "qa", "release-manager", "security"),
    )
    lines = lines_of(body)
    assert lines[0] == MARKER
    for expected in [
        "## LTS status of #123",
        "| Severity | high |",
        "| Affected lines | v1.4, v1.5 |",
        "| Decision | backport |",
        "| Reason | Small, well-tested fix |",
        "| Owner | `@alice` |",
        "| Security | yes |",
        "| Regression | yes |",
        "| CVE | CVE-2026-12345 |",
        "| Python versions | 3.11, 3.12 |",
        "| Package versions | 1.4.2 |",
        "| Missing information | logs |",
        "| Risk score | 7: security fix on two lines |",
        "### Triage checklist",
        "| Reproduced | yes |",
        "| Exploit | no |",
        "| Workaround | no |",
        "| API change | no |",
        "| Effort | small |",
        "### SLA",
        # Created 09:00 + 24h, extended by the one-hour pause; triaged at 14:00.
        "| Triage (high: 24h) | 2026-11-24 10:00 UTC | stopped, 20h left | met |",
        # Triaged Monday 14:00 + 3bd and planned at once: the plan clock stopped then.
        "| Plan (3bd) | 2026-11-26 14:00 UTC | stopped, 3d left | met |",
        "| Release (high: 5bd) | 2026-11-30 14:00 UTC | 6d 23h left | running |",
        "| v1.5 | `release-lts/v1.5` | `lts/v1.5/issue-123` | conflict: needs a hand backport: "
        "abc1234 conflicts in app.py (fix #7) |",
        "Merged fixes: #7",
        "### Backport plan",
        "| v1.4 | `release-lts/v1.4` | `lts/v1.4/issue-123` | planned |",
        "Required approvers: reviewer, qa, release-manager, security",
        "### Audit trail",
        "| When (UTC) | Who | What | Why |",
        "| 2026-11-23 10:00 | `@bob` | severity set to high | /severity high |",
        "| 2026-11-23 14:00 | `@carol` | decision: backport | Small, well-tested fix |",
    ]:
        assert expected in lines, expected
    # Newest last, and the signed state after everything people read.
    assert lines.index("| 2026-11-23 10:00 | `@bob` | severity set to high | /severity high |") < (
        lines.index("| 2026-11-23 14:00 | `@carol` | decision: backport | Small, well-tested fix |")
    )
    assert BLOCK_RE.fullmatch(lines[-1])


def test_the_checklist_is_a_table_not_clickable_checkboxes() -> None:
    assert "- [" not in draw(full_state())


def test_an_untriaged_ticket_shows_what_is_pending() -> None:
    lines = lines_of(draw(TicketState(number=5)))
    for expected in [
        "| Severity | not set |",
        "| Affected lines | none yet |",
        "| Decision | pending |",
        "| Owner | unassigned |",
        "| Risk score | not assessed |",
        "| Reproduced | not answered |",
        "| Triage | — | set a severity to start the deadline | waiting |",
        "| Plan | — | starts at the triage decision | waiting |",
        "No backport targets yet.",
        "No entries yet.",
    ]:
        assert expected in lines, expected
    assert not any(line.startswith("Required approvers") for line in lines)


def test_a_running_triage_clock_shows_time_left_and_a_local_deadline() -> None:
    state = TicketState(number=5, severity="critical")
    lines = lines_of(draw(state, config=BERLIN_CONFIG, now=utc(23, 12)))
    # Critical: 4 wall-clock hours from 09:00 UTC; Berlin is UTC+1 in November.
    deadline = "2026-11-23 13:00 UTC (2026-11-23 14:00 CET)"
    row = f"| Triage (critical: 4h) | {deadline} | 1h left | at-risk |"
    assert row in lines


def test_a_breached_clock_says_how_late() -> None:
    lines = lines_of(draw(TicketState(number=5, severity="critical"), now=utc(23, 15, 30)))
    assert (
        "| Triage (critical: 4h) | 2026-11-23 13:00 UTC | overdue by 2h 30m | breached |" in lines
    )


def test_a_paused_ticket_shows_since_when_and_why() -> None:
    state = TicketState(
        number=5, severity="high", pauses=(PauseSpan(utc(23, 10), None, "waiting for logs"),)
    )
    lines = lines_of(draw(state))
    assert "SLA paused since 2026-11-23 10:00 UTC: waiting for logs" in lines
    # The deadline as if the clock resumed now: 24h plus the five paused hours.
    assert "| Triage (high: 24h) | 2026-11-24 14:00 UTC | 23h left | paused |" in lines


def test_a_deferred_ticket_needs_no_plan() -> None:
    state = full_state(decision="defer", backport=())
    assert "| Plan | — | not needed (defer) | — |" in lines_of(draw(state))


def test_a_target_for_an_unconfigured_line_is_flagged() -> None:
    lines = lines_of(draw(full_state(backport=("1.4", "2.0"))))
    assert "| v2.0 | `release-lts/v2.0` | `lts/v2.0/issue-123` | not a configured line |" in lines


def test_a_notice_comes_right_after_the_marker() -> None:
    body = draw(full_state(), notice=".github/lts.yml is invalid:\nline 3: sla.plan <bad>")
    assert lines_of(body)[:4] == [
        MARKER,
        "> [!WARNING]",
        "> .github/lts.yml is invalid:",
        "> line 3: sla.plan &lt;bad&gt;",
    ]


def test_people_and_teams_are_shown_without_mentioning_them() -> None:
    body = draw(full_state(owner="lts-bot[bot]"), required_approvers=("@acme/release", "@dave"))
    assert "| Owner | `@lts-bot[bot]` |" in lines_of(body)
    assert "Required approvers: `@acme/release`, `@dave`" in lines_of(body)


# --- size ------------------------------------------------------------------------------------


def _history(count: int, detail: str) -> tuple[AuditEntry, ...]:
    return tuple(
        AuditEntry(utc(23) + timedelta(minutes=i), f"user{i % 7}", f"event {i}", detail)
        for i in range(count)
    )


def test_a_long_history_folds_its_oldest_entries() -> None:
    audit = _history(2_000, "because " * 20)
    body = draw(full_state(audit=audit, audit_folded=3))
    parsed = parse(body, KEY)
    assert parsed.problem is None
    assert parsed.state is not None
    kept = parsed.state.audit
    folded = parsed.state.audit_folded - 3
    assert 0 < folded < 2_000
    assert kept == audit[folded:]  # the newest entries stay, unchanged
    assert f"_{folded + 3} earlier entries folded._" in lines_of(body)
    assert len(body.encode()) <= SOFT_LIMIT
    # As few as possible are folded: keeping one entry more would not have fitted.
    one_more = full_state(audit=audit[folded - 1 :], audit_folded=folded + 2)
    assert parse(draw(one_more), KEY).state != one_more


def test_oversized_free_text_is_clipped_to_fit() -> None:
    state = full_state(decision_reason="x" * 100_000, audit=(), cve=("CVE",) * 5_000)
    body = draw(state)
    parsed = parse(body, KEY)
    assert parsed.state is not None
    assert len(body.encode()) <= SOFT_LIMIT
    assert parsed.state.decision_reason == "x" * 1_999 + "…"
    assert len(parsed.state.cve) == 50


def test_a_state_that_cannot_fit_is_refused() -> None:
    pauses = tuple(
        PauseSpan(utc(1) + timedelta(hours=2 * i), utc(1) + timedelta(hours=2 * i + 1))
        for i in range(2_000)
    )
    with pytest.raises(ValueError, match="does not fit"):
        draw(TicketState(number=1, pauses=pauses))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=0, max_value=600),
    unit=st.text(min_size=1, max_size=4),
    length=st.integers(min_value=0, max_value=3_000),
)
def test_any_history_fits_in_a_comment(count: int, unit: str, length: int) -> None:
    audit = _history(count, (unit * length)[:length])
    body = draw(full_state(audit=audit))
    assert len(body) <= GITHUB_LIMIT
    assert len(body.encode()) <= SOFT_LIMIT
    parsed = parse(body, KEY)
    assert parsed.state is not None
    assert parsed.state.audit_folded + len(parsed.state.audit) == count
    # The newest entries are the ones kept (their details may be clipped to fit).
    kept = [e.action for e in parsed.state.audit]
    assert kept == [e.action for e in audit[parsed.state.audit_folded :]]


# --- rebuild -------------------------------------------------------------------------------


def ev(
    hour: int,
    actor: str,
    event: Literal["labeled", "unlabeled", "assigned", "unassigned"],
    label: str | None = None,
    assignee: str | None = None,
) -> TimelineEvent:
    return TimelineEvent(utc(23, hour), actor, event, label, assignee)


LABELS = (
    "severity/high",
    "affects/v1.4",
    "affects/v9.9",  # not a configured line
    "triage/backport",
    "backport/v1.4",
    "security",
    "needs-info",
    "good first issue",
)
TIMELINE = (
    ev(12, "carol", "labeled", "triage/backport"),  # out of order: sorted by time
    ev(10, "bob", "labeled", "severity/high"),
    ev(10, "bob", "labeled", "affects/v1.4"),
    ev(10, "bob", "labeled", "affects/v9.9"),
    ev(10, "bob", "labeled", "good first issue"),
    ev(11, "bob", "labeled", "sla/paused"),
    ev(11, "carol", "assigned", assignee="alice"),
    ev(11, "carol", "assigned", assignee="dave"),
    ev(11, "carol", "unassigned", assignee="dave"),
    ev(12, "bob", "unlabeled", "sla/paused"),
    ev(13, "carol", "labeled", "backport/v1.4"),
    ev(13, "mallory", "labeled", "security"),
    ev(13, "bob", "labeled", "needs-info"),
)


def test_rebuild_reads_labels_and_the_timeline() -> None:
    state = rebuild(123, LABELS, TIMELINE, config=CONFIG)
    assert state == TicketState(
        number=123,
        severity="high",
        severity_set_at=utc(23, 10),
        affects=("1.4",),
        decision="backport",
        decided_at=utc(23, 12),
        planned_at=utc(23, 13),
        backport=("1.4",),
        security=True,
        missing_fields=(UNKNOWN_MISSING,),
        owner="alice",
        pauses=(PauseSpan(utc(23, 11), utc(23, 12)),),
        audit=(
            AuditEntry(utc(23, 10), "bob", "label severity/high added"),
            AuditEntry(utc(23, 10), "bob", "label affects/v1.4 added"),
            AuditEntry(utc(23, 11), "bob", "label sla/paused added"),
            AuditEntry(utc(23, 11), "carol", "assigned alice"),
            AuditEntry(utc(23, 11), "carol", "assigned dave"),
            AuditEntry(utc(23, 11), "carol", "unassigned dave"),
            AuditEntry(utc(23, 12), "carol", "label triage/backport added"),
            AuditEntry(utc(23, 12), "bob", "label sla/paused removed"),
            AuditEntry(utc(23, 13), "carol", "label backport/v1.4 added"),
            AuditEntry(utc(23, 13), "mallory", "label security added"),
            AuditEntry(utc(23, 13), "bob", "label needs-info added"),
        ),
    )


def test_a_rebuilt_state_keeps_every_owned_label_of_a_configured_line() -> None:
    labels = (*LABELS, "regression", "sla/paused")
    state = rebuild(123, labels, TIMELINE, config=CONFIG, now=NOW)
    assert state.labels() == {label for label in labels if is_owned_label(label)} - {"affects/v9.9"}


def test_with_conflicting_labels_the_one_added_last_wins() -> None:
    """As if the later label were the latest command."""
    labels = ("severity/low", "severity/critical", "triage/defer", "triage/reject")
    timeline = (
        ev(10, "a", "labeled", "severity/critical"),
        ev(11, "b", "labeled", "severity/low"),
        ev(10, "a", "labeled", "triage/reject"),
        ev(11, "b", "labeled", "triage/defer"),
    )
    state = rebuild(1, labels, timeline, config=CONFIG)
    assert (state.severity, state.decision) == ("low", "defer")
    assert (state.severity_set_at, state.decided_at) == (utc(23, 11), utc(23, 11))


def test_with_conflicting_labels_and_no_times_the_most_severe_wins() -> None:
    labels = ("severity/low", "severity/critical", "triage/reject", "triage/backport")
    state = rebuild(1, labels, (), config=CONFIG)
    assert (state.severity, state.decision) == ("critical", "backport")
    assert (state.severity_set_at, state.decided_at) == (None, None)


def test_a_pause_label_without_a_timeline_event_counts_from_now() -> None:
    state = rebuild(1, ["sla/paused"], [], config=CONFIG, now=NOW)
    assert state.pauses == (PauseSpan(NOW, None),)
    assert rebuild(1, ["sla/paused"], [], config=CONFIG).pauses == ()


def test_an_open_pause_label_in_the_timeline_is_still_running() -> None:
    state = rebuild(1, ["sla/paused"], [ev(11, "bob", "labeled", "sla/paused")], config=CONFIG)
    assert state.pauses == (PauseSpan(utc(23, 11), None),)
    assert state.paused


def test_recover_records_the_tampering_last() -> None:
    state = recover(
        "bad-signature", 123, LABELS, TIMELINE, config=CONFIG, now=NOW, editor="mallory"
    )
    last = state.audit[-1]
    assert last.at == NOW
    assert last.action == "status comment rebuilt"
    assert "altered" in last.detail
    assert "mallory" in last.detail
    body = draw(state)
    assert "| 2026-11-23 15:00 | `@lts-bot` | status comment rebuilt |" in body
    assert parse(body, KEY) == ParsedState(state, None)


@pytest.mark.parametrize(
    ("backports", "problem"),
    [
        ([{"line": "1.4", "source": 2, "status": "pending"}], "backports[0].status"),
        ([{"line": "v1.4", "source": 2, "status": "open"}], "backports[0].line"),
        ([{"line": "1.4", "source": 0, "status": "open"}], "backports[0].source"),
        ([{"line": "1.4", "source": 2, "status": "open", "pr": True}], "backports[0].pr"),
        ([{"line": "1.4", "status": "open"}], "missing field"),
        ([{"line": "1.4", "source": 2, "status": "open", "extra": 1}], "unknown field"),
        ({"line": "1.4"}, "backports: expected a list"),
    ],
)
def test_a_malformed_backport_matrix_is_refused(backports: object, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        decode_state({"v": 1, "number": 7, "backports": backports})


def test_the_backport_matrix_fixes_and_plan_time_survive_the_round_trip() -> None:
    state = full_state()
    parsed = parse(draw(state), KEY)
    assert parsed.state is not None
    assert parsed.state.backports == state.backports
    assert parsed.state.fixes == (7,)
    assert parsed.state.planned_at == state.planned_at
