"""GitHub's example webhook payloads (tests/fixtures/webhooks) and shape checks against them.

The files are extracted by scripts/update-github-contract from @octokit/webhooks-examples,
one per event and action lts-bot handles: `<event>.json` or `<event>.<action>.json`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"


def example_name(event: str, action: str | None) -> str:
    return event if action is None else f"{event}.{action}"


@functools.cache
def _examples() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(EXAMPLES_DIR.glob("*.json"))}


def example_names() -> list[str]:
    """`event` or `event.action` for every example payload there is, sorted."""
    return list(_examples())


def split_name(name: str) -> tuple[str, str | None]:
    event, _, action = name.partition(".")
    return event, action or None


def has_example(event: str, action: str | None) -> bool:
    return example_name(event, action) in _examples()


def load_example(event: str, action: str | None = None) -> dict[str, Any]:
    """A fresh copy of GitHub's example payload for this event and action."""
    data: dict[str, Any] = json.loads(_examples()[example_name(event, action)])
    return data


# Objects whose keys are data, not fields: an App's granted permissions (`{"checks":
# "write"}`) differ from App to App, and so do a repository's custom properties.
MAPS = frozenset({"permissions", "custom_properties"})


def missing_fields(example: Any, payload: Any, where: str = "") -> list[str]:
    """Keys of `example` absent from `payload`, as paths (`repository.owner.login`).

    Recurses through objects present on both sides, and through the first element of
    lists non-empty on both sides (`commits[0].author.username`). A value of another
    shape (null where the example has an object) is not looked into: it is a state, not
    a missing field. Nor are the entries of MAPS, whose keys are data.
    """
    missing: list[str] = []
    if isinstance(example, dict) and isinstance(payload, dict):
        for key, value in example.items():
            path = f"{where}.{key}" if where else key
            if key not in payload:
                missing.append(path)
            elif key not in MAPS:
                missing += missing_fields(value, payload[key], path)
    elif isinstance(example, list) and isinstance(payload, list) and example and payload:
        missing += missing_fields(example[0], payload[0], f"{where}[0]")
    return missing


def assert_has_example_fields(event: str, action: str | None, payload: dict[str, Any]) -> None:
    """Every key of GitHub's example for this event and action exists in `payload`."""
    missing = missing_fields(load_example(event, action), payload)
    assert not missing, (
        f"{example_name(event, action)} payload lacks fields GitHub's example has: "
        + ", ".join(missing)
    )
