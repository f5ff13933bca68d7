"""Reports the state of `.github/lts.yml` as the `lts/config` check run on the default branch."""

from __future__ import annotations

from typing import Any

import gidgethub
from gidgethub import routing, sansio

from bot.config import CONFIG_PATH
from bot.dispatch import Context
from bot.policies import config_check

router = routing.Router()

# An installation on a huge organisation must not turn into thousands of calls at once;
# the periodic sweep reaches the rest.
MAX_REPOS_PER_INSTALLATION_EVENT = 100


def _touches_config(payload: dict[str, Any]) -> bool:
    for commit in payload.get("commits") or []:
        for kind in ("added", "modified", "removed"):
            if CONFIG_PATH in (commit.get(kind) or []):
                return True
    return False


async def report_config(
    ctx: Context, owner: str, repo: str, default_branch: str, head_sha: str, *, always: bool
) -> None:
    """Validate the repo's config and post `lts/config` on `head_sha` when the policy asks.

    `always` is set when the file changed or the repository was just installed.
    """
    gh = ctx.gh
    result = await ctx.services.configs.load(gh, owner, repo, default_branch)
    if not config_check.should_report(result, file_changed=always):
        return
    decision = config_check.evaluate(result)
    outcome = await gh.upsert_check_run(owner, repo, head_sha, decision, app_id=ctx.services.app_id)
    ctx.log.info(
        "config_reported",
        conclusion=decision.conclusion,
        source=result.source,
        check_run=outcome,
    )


@router.register("push")
async def on_push(event: sansio.Event, ctx: Context) -> None:
    data = event.data
    repository = data["repository"]
    default_branch = repository.get("default_branch") or repository.get("master_branch")
    if data.get("ref") != f"refs/heads/{default_branch}" or data.get("deleted"):
        return
    head = (data.get("head_commit") or {}).get("id") or data.get("after")
    if not head:
        return
    owner, repo = repository["full_name"].split("/", 1)
    await report_config(ctx, owner, repo, default_branch, head, always=_touches_config(data))


async def _report_repos(ctx: Context, repos: list[dict[str, Any]]) -> None:
    gh = ctx.gh
    failed: list[str] = []
    for item in repos[:MAX_REPOS_PER_INSTALLATION_EVENT]:
        full_name = item["full_name"]
        owner, name = full_name.split("/", 1)
        try:
            repo = await gh.get_repo(owner, name)
            branch = repo["default_branch"]
            head = await gh.get(f"/repos/{owner}/{name}/commits/{branch}")
        except gidgethub.HTTPException as exc:
            # An empty repository (409) or one removed meanwhile (404) has no head to
            # report on; its first push to the default branch will be reported instead.
            ctx.log.info("config_report_skipped", repository=full_name, status=exc.status_code)
            continue
        try:
            await report_config(ctx, owner, name, branch, head["sha"], always=True)
        except gidgethub.HTTPException:
            # One repository's failure must not hide the others' reports.
            ctx.log.exception("config_report_failed", repository=full_name)
            failed.append(full_name)
    if failed:
        raise RuntimeError(f"lts/config could not be reported for {', '.join(failed)}")


@router.register("installation", action="created")
async def on_installation_created(event: sansio.Event, ctx: Context) -> None:
    await _report_repos(ctx, list(event.data.get("repositories") or []))


@router.register("installation_repositories", action="added")
async def on_repositories_added(event: sansio.Event, ctx: Context) -> None:
    await _report_repos(ctx, list(event.data.get("repositories_added") or []))
