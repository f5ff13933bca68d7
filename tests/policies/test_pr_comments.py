"""Reading a PR's comments: sign-offs bound to the head once, holds, fast-track requests."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.policies.pr_comments import (
    PrComment,
    fast_track_in_force,
    read_comments,
    refused_fast_tracks,
)
from bot.pr_state import PrState

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_sign_off_is_bound_to_the_head_it_was_first_read_at_and_counted_once() -> None:
    comments = [
        PrComment(1, "quinn", AT, "/approve qa"),
        PrComment(2, "ci[bot]", AT, "/approve qa"),
    ]
    first = read_comments(comments, PrState(7), "a" * 40, app_slug="lts-bot")
    again = read_comments(comments, first.state, "b" * 40, app_slug="lts-bot")

    assert [(s.actor, s.role, s.sha) for s in again.state.sign_offs] == [("quinn", "qa", "a" * 40)]
    assert again.state.seen_comments == (1,)


def test_holds_are_read_every_time_and_prose_is_not_a_command() -> None:
    comments = [
        PrComment(1, "tina", AT, "/hold waiting"),
        PrComment(2, "tina", AT, "looks fine, no /hold needed"),
    ]
    read = read_comments(comments, PrState(7, seen_comments=(1,)), "a" * 40, app_slug="lts-bot")
    assert [h.actor for h in read.holds] == ["tina"]
    assert read.state.seen_comments == (1,)


def test_only_an_eng_leads_fast_track_is_in_force_and_others_are_refused_once() -> None:
    comments = [
        PrComment(1, "tina", AT, "/fast-track fire"),
        PrComment(2, "erin", AT, "/fast-track exploited"),
    ]
    roles = {"tina": frozenset({"triage"}), "erin": frozenset({"eng-lead"})}
    read = read_comments(comments, PrState(7), "a" * 40, app_slug="lts-bot")

    granted = fast_track_in_force(read.fast_tracks, roles)
    assert granted is not None
    assert (granted.actor, granted.reason, granted.new) == ("erin", "exploited", True)
    assert [r.actor for r in refused_fast_tracks(read.fast_tracks, roles)] == ["tina"]

    later = read_comments(comments, read.state, "a" * 40, app_slug="lts-bot")
    assert refused_fast_tracks(later.fast_tracks, roles) == ()
