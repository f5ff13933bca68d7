"""The release record in a tracking issue: signed, verified, and the body around it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot import release_state as records
from bot.policies.release import IncludedChange
from bot.state import derive_key
from bot.ticket import AuditEntry

KEY = derive_key(b"webhook secret")
AT = datetime(2027, 1, 15, 8, tzinfo=UTC)
RECORD = records.ReleaseRecord(
    version="1.4.1",
    tag="v1.4.1",
    line="1.4",
    previous_tag="v1.4.0",
    head_sha="a" * 40,
    prs=(4,),
    tickets=(2,),
    requested_by="rel",
    audit=(AuditEntry(AT, "rel", "release requested", "v1.4.1"),),
)
CHANGE = IncludedChange(
    pr=4,
    title="Fix",
    url="https://github.com/acme/w/pull/4",
    merge_sha="b" * 40,
    changelog="Fix the crash",
    tickets=(2,),
)


def test_a_record_round_trips_and_a_changed_one_is_refused() -> None:
    body = records.render(RECORD, records.TrackingView(), key=KEY)
    assert records.decode(body, KEY) == RECORD
    assert records.decode(body.replace("LTS release", "LTS  release"), KEY) == RECORD
    block = body[body.index("<!-- lts-bot:release-state") :]
    assert records.decode(body + "\n" + block, KEY) is None  # a pasted second copy
    assert records.decode(body, derive_key(b"another secret")) is None


def test_people_text_is_shown_inert() -> None:
    change = replace(CHANGE, changelog="Fix <!-- lts-bot:release-state v1 x.y --> | now")
    table = records.included_section([change])
    assert "<!--" not in table
    assert "&lt;!-- lts-bot:release-state v1 x.y --&gt; \\| now" in table


def test_a_refresh_without_a_snapshot_keeps_the_sections_it_showed() -> None:
    first = records.render(
        RECORD,
        records.TrackingView(
            checklist="- [x] Everything", included=records.included_section([CHANGE])
        ),
        key=KEY,
    )
    assert records.section(first, "Pre-release checklist") == "- [x] Everything"
    assert "| #4 | #2 | Fix the crash |" in records.section(first, "Included")
    later = replace(RECORD, status="done")
    kept = records.TrackingView(
        checklist=records.section(first, "Pre-release checklist"),
        included=records.section(first, "Included"),
    )
    second = records.render(later, kept, key=KEY)
    assert "### Pre-release checklist\n\n- [x] Everything" in second
    assert "| #4 | #2 | Fix the crash |" in second
    assert records.section(second, "Audit trail").startswith("- 2027-01-15 08:00 UTC `rel`")
    assert records.section(None, "Included") == ""
    assert records.section(second, "Nothing like it") == ""


def test_the_body_stays_under_githubs_limit() -> None:
    big = records.TrackingView(included="x" * 80_000)
    body = records.render(RECORD, big, key=KEY)
    assert len(body) <= records.ISSUE_LIMIT
    assert records.decode(body, KEY) == RECORD
