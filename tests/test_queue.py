"""Which deliveries are serialized together: the work key of each kind of event."""

from __future__ import annotations

from typing import Any

import pytest

from bot.queue import Delivery

REPO = {"full_name": "acme/widgets"}


@pytest.mark.parametrize(
    ("event", "payload", "key"),
    [
        ("issues", {"issue": {"number": 5}, "repository": REPO}, ("acme/widgets", "#5")),
        ("issue_comment", {"issue": {"number": 5}, "repository": REPO}, ("acme/widgets", "#5")),
        (
            "pull_request_review",
            {"pull_request": {"number": 9}, "repository": REPO},
            ("acme/widgets", "#9"),
        ),
        (
            "check_run",
            {"check_run": {"pull_requests": [{"number": 9}]}, "repository": REPO},
            ("acme/widgets", "#9"),
        ),
        # A fork PR's check run lists no pull request: it is serialized per repository.
        (
            "check_run",
            {"check_run": {"pull_requests": []}, "repository": REPO},
            ("acme/widgets", "repo"),
        ),
        ("push", {"ref": "refs/heads/main", "repository": REPO}, ("acme/widgets", "repo")),
        # Release work is one per version across the repository: serialized with releases.
        (
            "issue_comment",
            {"issue": {"number": 5}, "comment": {"body": "ok\n/release v1.4"}, "repository": REPO},
            ("acme/widgets", "repo"),
        ),
        (
            "issue_comment",
            {
                "issue": {"number": 5},
                "comment": {"body": "@lts-bot rollback v1.4.1 x"},
                "repository": REPO,
            },
            ("acme/widgets", "repo"),
        ),
        (
            "issue_comment",
            {"issue": {"number": 5}, "comment": {"body": "released /release"}, "repository": REPO},
            ("acme/widgets", "#5"),
        ),
        (
            "lts_sweep",
            {"action": "release", "issue": {"number": 8}, "repository": REPO},
            ("acme/widgets", "repo"),
        ),
        (
            "lts_sweep",
            {"action": "ticket", "issue": {"number": 8}, "repository": REPO},
            ("acme/widgets", "#8"),
        ),
        ("installation", {"installation": {"id": 77}}, ("installation", "77")),
        # Malformed shapes never raise: they fall back to the coarser key.
        ("issues", {"issue": {"number": "5"}, "repository": REPO}, ("acme/widgets", "repo")),
        ("issues", {"issue": None, "repository": {"full_name": 3}}, ("installation", "None")),
    ],
)
def test_work_keys(event: str, payload: dict[str, Any], key: tuple[str, str]) -> None:
    assert Delivery("d", event, payload).key == key


def test_delivery_fields_tolerate_missing_parts() -> None:
    d = Delivery("d", "push", {"action": 3, "installation": {"id": "x"}})
    assert (d.action, d.installation_id, d.repo, d.number) == (None, None, None, None)
