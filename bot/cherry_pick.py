"""Server-side cherry-picks through the Git Data API and the merges endpoint: no clone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import gidgethub
import structlog

from bot.github.client import GitHubPort
from bot.policies.backport import CommitData

# Work refs live under their own namespace so people (and the sweep) can tell them from
# real branches; they exist only while one pick runs.
TEMP_PREFIX = "lts-bot/pick/"
_SIBLING_MESSAGE = "lts-bot: temporary commit for a cherry-pick (safe to delete)"

log = structlog.get_logger("bot.cherry_pick")


@dataclass(frozen=True)
class Picked:
    """Every commit applied: `sha` is the new tip (not yet on any branch)."""

    sha: str
    tree: str
    applied: tuple[str, ...]
    # Originals whose change the line already had (no commit was made for them).
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlreadyIn:
    """Nothing to do: the line already has the whole change."""

    base_sha: str


@dataclass(frozen=True)
class Conflict:
    """The 3-way merge of `commit` onto the line's tip conflicted."""

    commit: str
    base_sha: str


PickOutcome = Picked | AlreadyIn | Conflict


def temp_branch(version: str, source: int) -> str:
    """The work branch of one (line, original PR) pick: fixed, so a retry reuses it."""
    return f"{TEMP_PREFIX}v{version}/pr-{source}"


def _ref_url(owner: str, repo: str, branch: str) -> str:
    return f"/repos/{owner}/{repo}/git/refs/heads/{quote(branch, safe='/')}"


async def cherry_pick(
    gh: GitHubPort,
    owner: str,
    repo: str,
    *,
    base_sha: str,
    base_tree: str,
    commits: Sequence[CommitData],
    messages: Sequence[str],
    work_branch: str,
) -> PickOutcome:
    """Apply `commits` in order on top of `base_sha`, each with its message from `messages`.

    For each commit C with parent P: a throwaway "sibling" commit with the tip's tree and
    parent P is merged with C by `POST /merges` on `work_branch`. Their merge base is P,
    so GitHub's 3-way merge is exactly `git cherry-pick` (P as base, tip as ours, C as
    theirs); a commit with the merged tree on top of the tip is the picked commit. Four
    calls a commit. The result is on no branch: publishing it is the caller's step, so a
    failure part way leaves nothing but unreachable objects, and `work_branch` is deleted
    whatever happens.
    """
    if len(messages) != len(commits):
        raise ValueError("one message per commit")
    tip, tip_tree = base_sha, base_tree
    applied: list[str] = []
    skipped: list[str] = []
    made_ref = False
    try:
        for commit, message in zip(commits, messages, strict=True):
            if not commit.parents:
                raise ValueError(f"cannot cherry-pick root commit {commit.sha}")
            sibling = await gh.post(
                f"/repos/{owner}/{repo}/git/commits",
                {"message": _SIBLING_MESSAGE, "tree": tip_tree, "parents": [commit.parents[0]]},
                idempotent=True,
            )
            created, made_ref = made_ref, True  # from here on, cleanup has a ref to delete
            await _point(gh, owner, repo, work_branch, str(sibling["sha"]), created)
            try:
                # Not retried on 5xx: a merge that landed unseen would answer the retry
                # with 204, which would read as "already applied". A failure is reported
                # and the whole pick is retried from the start instead.
                merged = await gh.post(
                    f"/repos/{owner}/{repo}/merges",
                    {
                        "base": work_branch,
                        "head": commit.sha,
                        "commit_message": f"lts-bot: cherry-pick {commit.sha}",
                    },
                )
            except gidgethub.BadRequest as exc:
                if exc.status_code == 409:
                    return Conflict(commit.sha, base_sha)
                raise
            if merged is None:
                # 204: the commit is already an ancestor of the sibling (P itself).
                skipped.append(commit.sha)
                continue
            tree = str(merged["commit"]["tree"]["sha"])
            if tree == tip_tree:
                skipped.append(commit.sha)
                continue
            new = await gh.post(
                f"/repos/{owner}/{repo}/git/commits",
                # Author and committer left unset: GitHub makes the commit the App's and
                # signs it; the original author is credited in the message.
                {"message": message, "tree": tree, "parents": [tip]},
                idempotent=True,
            )
            tip, tip_tree = str(new["sha"]), tree
            applied.append(commit.sha)
    finally:
        if made_ref:
            await _drop(gh, owner, repo, work_branch)
    if not applied:
        return AlreadyIn(base_sha)
    return Picked(tip, tip_tree, tuple(applied), tuple(skipped))


async def _point(
    gh: GitHubPort, owner: str, repo: str, branch: str, sha: str, exists: bool
) -> None:
    """Point the work branch at `sha`, creating it (or taking over a stale one) first time."""
    if not exists:
        try:
            await gh.post(
                f"/repos/{owner}/{repo}/git/refs", {"ref": f"refs/heads/{branch}", "sha": sha}
            )
            return
        except gidgethub.BadRequest as exc:
            # A pick that crashed before its cleanup left the branch: reuse it.
            if exc.status_code != 422 or "already exists" not in str(exc).lower():
                raise
    await gh.patch(_ref_url(owner, repo, branch), {"sha": sha, "force": True})


async def _drop(gh: GitHubPort, owner: str, repo: str, branch: str) -> None:
    try:
        await gh.delete(_ref_url(owner, repo, branch))
    except gidgethub.BadRequest as exc:
        if exc.status_code != 422:  # already gone
            log.warning("work_branch_left", branch=branch, status=exc.status_code)
    except Exception as exc:
        log.warning("work_branch_left", branch=branch, error=type(exc).__name__)
