"""API calls to stage, refresh and publish a release of N pull requests (counted, not timed).

Per included PR the release needs its commits (for the `Changelog:` line), its head's
check runs (gate and approvals) and its ticket (security, CVE, severity): 3 reads, the
aim. Around them: tags, the branch head, the compare view, the PR listing, the tracking
issue and the draft release. Publication adds, per ticket, what telling it costs (read,
status comment, label, comment).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness import sandbox_and_bot

REPO = "acme/widgets"
BRANCH = "release-lts/v1.4"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
intake:
  required: {bug: [], security: [], backport: []}
"""


async def _one(prs: int) -> dict[str, int]:
    async with sandbox_and_bot() as (sandbox, bot):
        await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG, "app.py": "v = 0\n"})
        for login in ("rel", "dev"):
            sandbox.add_user(login)
        sandbox.set_permission(REPO, "rel", "maintain")
        sandbox.set_permission(REPO, "dev", "write")
        sandbox.install([REPO])
        await sandbox.create_branch(REPO, BRANCH, from_ref="main", user="rel")
        tickets: list[int] = []
        for n in range(1, prs + 1):
            ticket = await sandbox.open_issue(REPO, user="dev", title=f"Bug {n}", body="bug")
            tickets.append(ticket.number)
            head = f"lts/v1.4/issue-{ticket.number}"
            await sandbox.push_commits(
                REPO,
                head,
                {f"fix{n}.py": f"fixed = {n}\n"},
                message=f"Fix bug {n} (#{ticket.number})\n\nBackport to v1.4\n\n"
                f"Changelog: Fix bug {n}",
                author="dev",
                from_ref=BRANCH,
            )
            pr = await sandbox.open_pr(
                REPO, user="dev", head=head, base=BRANCH, title=f"[v1.4] Fix bug {n}"
            )
            await sandbox.merge_pr(REPO, pr.number, method="squash", user="rel")
        await sandbox.settle(bot)
        issue = await sandbox.open_issue(REPO, user="rel", title="Ship 1.4.0", body="ship it")
        await sandbox.settle(bot)

        mark = len(sandbox.calls)
        await sandbox.comment(REPO, issue.number, user="rel", body="/release v1.4")
        await sandbox.settle(bot)
        staged = len(sandbox.calls) - mark

        mark = len(sandbox.calls)
        await bot.sweep_now()
        await sandbox.settle(bot)
        refreshed = len(sandbox.calls) - mark
        # A 304 (ETag cache) costs no rate limit: what a refresh really spends.
        counted = sum(1 for c in sandbox.calls.since(mark) if c.status != 304)

        mark = len(sandbox.calls)
        await sandbox.publish_release(REPO, "v1.4.0", user="rel")
        await sandbox.settle(bot)
        published = len(sandbox.calls) - mark
        told = sum(
            1
            for n in tickets
            if any("lts-bot:released v1.4.0" in c.body for c in sandbox.comments_on(REPO, n))
        )
        assert told == prs, f"expected {prs} tickets told, got {told}"
        return {"stage": staged, "sweep": refreshed, "counted": counted, "publish": published}


async def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    print("releases: GitHub API calls to stage, refresh and publish (counted by the sandbox)")
    print(f"  {'PRs':>4} {'/release':>9} {'sweep':>6} {'(counted)':>9} {'publish':>8}")
    for prs in (1, 5, 20):
        got = await _one(prs)
        figures[prs] = got
        print(
            f"  {prs:>4} {got['stage']:>9} {got['sweep']:>6} {got['counted']:>9} "
            f"{got['publish']:>8}"
        )
    per_pr = (figures[20]["stage"] - figures[5]["stage"]) / 15
    per_ticket = (figures[20]["publish"] - figures[5]["publish"]) / 15
    print(
        f"  /release costs {per_pr:.1f} calls per included PR (aim 3: commits, check runs, "
        f"ticket; {per_pr / 3:.2f} of the aim); publication {per_ticket:.1f} per ticket"
    )
    figures["per_pr"] = per_pr
    figures["per_ticket"] = per_ticket
    return figures


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
