"""API calls per automatic backport, counted in the sandbox (not a timing benchmark).

The figure the design aims at is 6 + 4N calls per target line for a fix of N commits
(the cherry-pick and the PR). The API-only anchor, tibdex/github-backport, used about
10 + 6N. Reading the ticket, recording the matrix and judging the new PR's gates come on
top and are printed separately.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from bench.harness import sandbox_and_bot

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
  - {version: "1.3", eol: 2099-06-30, phase: maintenance}
"""
LINES = "".join(f"line {n}\n" for n in range(1, 101))
# The calls that make one backport: the line's head, the pick, the branch, the PR.
_PICK = {
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("POST", "/repos/{owner}/{repo}/git/commits"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("POST", "/repos/{owner}/{repo}/merges"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
}
_SHARED = {
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
}


async def _one(commits: int, targets: tuple[str, ...]) -> dict[str, int]:
    async with sandbox_and_bot() as (sandbox, bot):
        await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": LINES})
        for login in ("alice", "rita", "tina"):
            if login != "alice":
                sandbox.add_user(login)
        sandbox.add_user("alice")
        sandbox.set_permission(REPO, "rita", "write")
        sandbox.set_permission(REPO, "tina", "triage")
        sandbox.install([REPO])
        for version in targets:
            await sandbox.create_branch(
                REPO, f"release-lts/v{version}", from_ref="main", user="alice"
            )
        await sandbox.open_issue(REPO, user="alice", title="Crash", body="crash")
        affects = "\n".join(f"/affects v{v}" for v in targets)
        backport = "/backport " + " ".join(f"v{v}" for v in targets)
        await sandbox.comment(
            REPO,
            1,
            user="tina",
            body=f"/severity high\n{affects}\n/check api-change=no\n/triage backport\n{backport}",
        )
        text = LINES
        for n in range(1, commits + 1):
            text = text.replace(f"line {n * 10}\n", f"line {n * 10} fixed\n")
            await sandbox.push_commits(
                REPO, "fix", {"app.py": text}, message=f"Fix part {n}", author="alice"
            )
        pr = await sandbox.open_pr(
            REPO, user="alice", head="fix", title="Fix the crash", body="Fixes #1"
        )
        await sandbox.review(REPO, pr.number, user="rita", state="APPROVE")
        await sandbox.settle(bot)
        mark = len(sandbox.calls)
        await sandbox.merge_pr(
            REPO, pr.number, method="rebase" if commits > 1 else "squash", user="alice"
        )
        await sandbox.settle(bot)
        calls = sandbox.calls.since(mark)
        by = Counter((c.method, c.endpoint) for c in calls)
        opened = sum(
            1
            for it in sandbox.world.repo_by_name(REPO).issues.values()
            if it.pull is not None and it.pull.base_ref.startswith("release-lts/")
        )
        assert opened == len(targets), f"expected {len(targets)} backport PRs, got {opened}"
        return {
            "total": len(calls),
            "pick": sum(n for k, n in by.items() if k in _PICK),
            "shared": sum(n for k, n in by.items() if k in _SHARED),
        }


async def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    print("backports: GitHub API calls per automatic backport (counted by the sandbox)")
    print(f"  {'fix':<22} {'per line':>8} {'6+4N':>5} {'10+6N':>6} {'shared':>7} {'event':>6}")
    for commits, targets in ((1, ("1.4",)), (3, ("1.4",)), (5, ("1.4",)), (3, ("1.4", "1.3"))):
        got = await _one(commits, targets)
        per_line = got["pick"] / len(targets)
        label = f"{commits} commit{'s' if commits > 1 else ''}, {len(targets)} line(s)"
        aim, anchor = 6 + 4 * commits, 10 + 6 * commits
        print(
            f"  {label:<22} {per_line:8.1f} {aim:5d} {anchor:6d} {got['shared']:7d} "
            f"{got['total']:6d}   ({per_line / anchor:.2f} of the anchor's)"
        )
        figures[label] = {**got, "per_line": per_line, "aim": aim, "anchor": anchor}
    print("  per line: the pick, the patch branch and the PR; shared: the fix's listings;")
    print("  event: every call the merge caused (ticket, matrix, gates of the new PRs too)")
    return figures


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
