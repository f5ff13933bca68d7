"""Idempotent writes on issues: owned labels, marked comments, reactions, assignees."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import gidgethub

if TYPE_CHECKING:
    from bot.github.client import GitHubPort


@dataclass(frozen=True)
class Comment:
    """An issue comment as far as the bot needs it."""

    id: int
    author: str
    body: str
    created_at: str = ""


def _issue(owner: str, repo: str, number: int) -> str:
    return f"/repos/{owner}/{repo}/issues/{number}"


async def list_comments(gh: GitHubPort, owner: str, repo: str, number: int) -> list[Comment]:
    out: list[Comment] = []
    async for item in gh.iterate(_issue(owner, repo, number) + "/comments"):
        out.append(
            Comment(
                int(item["id"]),
                str(item["user"]["login"]),
                str(item["body"] or ""),
                str(item.get("created_at") or ""),
            )
        )
    return out


def find_marked(comments: Iterable[Comment], marker: str, bot_login: str) -> Comment | None:
    """The bot's own comment carrying `marker` (anyone can paste a marker; only ours count)."""
    for comment in comments:
        if comment.author == bot_login and comment.body.startswith(marker):
            return comment
    return None


async def upsert_comment(
    gh: GitHubPort,
    owner: str,
    repo: str,
    number: int,
    body: str,
    *,
    existing: Comment | None,
) -> tuple[int, str]:
    """Edit the bot's marked comment in place, or create it once; unchanged = no call.

    The caller looks the comment up first (it needs the listing anyway), which is what
    makes the create safe to run again: the next run finds and edits it.
    """
    if existing is not None:
        if existing.body == body:
            return existing.id, "unchanged"
        await gh.patch(f"/repos/{owner}/{repo}/issues/comments/{existing.id}", {"body": body})
        return existing.id, "updated"
    created = await gh.post(_issue(owner, repo, number) + "/comments", {"body": body})
    return int(created["id"]), "created"


async def change_labels(
    gh: GitHubPort,
    owner: str,
    repo: str,
    number: int,
    add: Iterable[str],
    remove: Iterable[str],
) -> None:
    """Add and remove labels; a label already gone counts as removed."""
    add = sorted(set(add))
    if add:
        # Adding a label twice leaves one label: safe to resend after a timeout.
        await gh.post(_issue(owner, repo, number) + "/labels", {"labels": add}, idempotent=True)
    for name in remove:
        try:
            await gh.delete(_issue(owner, repo, number) + f"/labels/{quote(name, safe='')}")
        except gidgethub.BadRequest as exc:
            # Already gone (someone removed it meanwhile): the goal is reached.
            if exc.status_code != 404:
                raise


async def react(gh: GitHubPort, owner: str, repo: str, comment_id: int, content: str) -> None:
    await gh.post(
        f"/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        {"content": content},
        # GitHub answers 200 with the existing reaction when it is already there.
        idempotent=True,
    )


async def set_assignees(
    gh: GitHubPort, owner: str, repo: str, number: int, add: Iterable[str], remove: Iterable[str]
) -> None:
    added, removed = sorted(set(add)), sorted(set(remove))
    if added:
        await gh.post(
            _issue(owner, repo, number) + "/assignees", {"assignees": added}, idempotent=True
        )
    if removed:
        await gh.delete(_issue(owner, repo, number) + "/assignees", {"assignees": removed})


def labels_of(issue: dict[str, Any]) -> list[str]:
    return [str(label["name"]) for label in issue.get("labels") or [] if isinstance(label, dict)]
