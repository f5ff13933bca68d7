"""API calls per PR-gate recomputation, counted in the sandbox (not a timing benchmark)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from bench.harness import sandbox_and_bot

REPO = "acme/widgets"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
"""
MESSAGE = "Fix (#1)\n\nChangelog: Fix\nBackport to v1.4\n"


async def run() -> dict[str, Any]:
    async with sandbox_and_bot() as (sandbox, bot):
        await sandbox.create_repo(REPO, files={".github/lts.yml": CONFIG})
        for login in ("alice", "rita", "quinn", "rel", "tina"):
            sandbox.add_user(login)
        sandbox.set_permission(REPO, "rita", "write")
        sandbox.set_permission(REPO, "tina", "triage")
        sandbox.add_team("acme", "qa", ["quinn"])
        sandbox.add_team("acme", "release", ["rel"])
        sandbox.install([REPO])
        await sandbox.create_branch(REPO, "release-lts/v1.4", from_ref="main", user="alice")
        await sandbox.open_issue(REPO, user="alice", title="Crash", body="crash")
        await sandbox.comment(
            REPO,
            1,
            user="tina",
            body="/severity high\n/affects v1.4\n/check api-change=no\n/triage backport\n"
            "/backport v1.4",
        )
        await sandbox.push_commits(
            REPO,
            "lts/v1.4/issue-1",
            {"f.py": "x = 1\n"},
            message=MESSAGE,
            author="alice",
            from_ref="release-lts/v1.4",
        )
        await sandbox.settle(bot)
        figures: dict[str, Any] = {}

        async def measure(label: str, step: Any) -> None:
            mark = len(sandbox.calls)
            await step()
            await sandbox.settle(bot)
            calls = sandbox.calls.since(mark)
            figures[label] = (len(calls), Counter(f"{c.method} {c.endpoint}" for c in calls))

        pr_number = 2

        async def open_pr() -> None:
            await sandbox.open_pr(
                REPO, user="alice", head="lts/v1.4/issue-1", base="release-lts/v1.4", title="x"
            )

        async def review() -> None:
            await sandbox.review(REPO, pr_number, user="rita", state="APPROVE")

        async def approve() -> None:
            await sandbox.comment(REPO, pr_number, user="quinn", body="/approve qa")

        async def unrelated_label() -> None:
            await sandbox.add_labels(REPO, pr_number, ["docs"], user="alice")

        await measure("PR opened (first recomputation)", open_pr)
        await measure("review submitted", review)
        await measure("/approve qa", approve)
        await measure("unrelated label (nothing changes)", unrelated_label)
    print("gates: GitHub API calls per recomputation (counted by the sandbox)")
    for label, (total, by) in figures.items():
        writes = sum(n for k, n in by.items() if not k.startswith("GET"))
        print(f"  {label:<36} {total:3d} calls ({writes} writes)")
    return {label: total for label, (total, _) in figures.items()}


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
