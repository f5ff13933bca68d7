"""GitHub's JSON shapes for issues, pull requests, reviews, comments, labels, releases, statuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.sandbox.shapes import Urls, account, app, node_id, repository
from bot.sandbox.world import (
    Account,
    Comment,
    Issue,
    IssueEvent,
    Label,
    Reaction,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Status,
    Team,
    World,
    iso,
)

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


@dataclass(frozen=True)
class PullView:
    """What a pull request's full shape needs from git, computed by the caller."""

    base_sha: str
    commits: int
    additions: int
    deletions: int
    changed_files: int
    mergeable: bool | None
    rebaseable: bool | None


def _performed_via(world: World, who: Account, urls: Urls) -> dict[str, Any] | None:
    """The App behind a bot account's action (GitHub shows it as performed_via_github_app)."""
    for a in world.apps.values():
        if a.bot is who:
            return app(a, urls)
    return None


def label(repo: Repository, lab: Label, urls: Urls) -> dict[str, Any]:
    return {
        "id": lab.id,
        "node_id": node_id("LA", lab.id),
        "url": f"{urls.repo(repo)}/labels/{quote(lab.name, safe='')}",
        "name": lab.name,
        "color": lab.color,
        "default": lab.default,
        "description": lab.description,
    }


def reaction(r: Reaction, urls: Urls) -> dict[str, Any]:
    return {
        "id": r.id,
        "node_id": node_id("REA", r.id),
        "user": account(r.user, urls),
        "content": r.content,
        "created_at": iso(r.created_at),
    }


def reaction_rollup(url: str, reactions: list[Reaction]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": url, "total_count": len(reactions)}
    for content in REACTIONS:
        out[content] = sum(1 for r in reactions if r.content == content)
    return out


def issue(
    repo: Repository, it: Issue, world: World, urls: Urls, *, closed_by: bool = False
) -> dict[str, Any]:
    """An `issue`; a pull request's issue carries `pull_request` links, as GitHub lists it."""
    api = f"{urls.repo(repo)}/issues/{it.number}"
    html_kind = "pull" if it.pull is not None else "issues"
    out: dict[str, Any] = {
        "id": it.id,
        "node_id": node_id("I" if it.pull is None else "PR", it.id),
        "url": api,
        "repository_url": urls.repo(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.html}/{repo.full_name}/{html_kind}/{it.number}",
        "number": it.number,
        "state": it.state,
        "state_reason": it.state_reason,
        "title": it.title,
        "body": it.body,
        "user": account(it.user, urls),
        "labels": [label(repo, lab, urls) for lab in it.labels],
        "assignee": account(it.assignees[0], urls) if it.assignees else None,
        "assignees": [account(a, urls) for a in it.assignees],
        "milestone": None,
        "locked": it.locked,
        "active_lock_reason": None,
        "comments": len(it.comment_ids),
        "closed_at": iso(it.closed_at) if it.closed_at is not None else None,
        "created_at": iso(it.created_at),
        "updated_at": iso(it.updated_at),
        "author_association": world.author_association(repo, it.user),
        "reactions": reaction_rollup(f"{api}/reactions", it.reactions),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": _performed_via(world, it.user, urls),
    }
    # Webhooks show `draft` on every issue, false for a plain one.
    out["draft"] = it.pull.draft if it.pull is not None else False
    if it.pull is not None:
        pr_api = f"{urls.repo(repo)}/pulls/{it.number}"
        html = f"{urls.html}/{repo.full_name}/pull/{it.number}"
        out["pull_request"] = {
            "url": pr_api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": iso(it.pull.merged_at) if it.pull.merged_at is not None else None,
        }
    if closed_by:
        out["closed_by"] = account(it.closed_by, urls) if it.closed_by is not None else None
    return out


def comment(repo: Repository, c: Comment, world: World, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    it = repo.issues[c.issue_number]
    kind = "pull" if it.pull is not None else "issues"
    return {
        "id": c.id,
        "node_id": node_id("IC", c.id),
        "url": f"{api}/issues/comments/{c.id}",
        "html_url": f"{urls.html}/{repo.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}",
        "issue_url": f"{api}/issues/{c.issue_number}",
        "body": c.body,
        "user": account(c.user, urls),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "author_association": world.author_association(repo, c.user),
        "performed_via_github_app": _performed_via(world, c.user, urls),
        "reactions": reaction_rollup(f"{api}/issues/comments/{c.id}/reactions", c.reactions),
    }


def team(t: Team, urls: Urls) -> dict[str, Any]:
    """A `team-simple`."""
    api = f"{urls.api}/organizations/{t.org.id}/team/{t.id}"
    return {
        "id": t.id,
        "node_id": node_id("T", t.id),
        "url": api,
        "members_url": f"{api}/members{{/member}}",
        "name": t.name,
        "description": None,
        "permission": "pull",
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "html_url": f"{urls.html}/orgs/{t.org.login}/teams/{t.slug}",
        "repositories_url": f"{api}/repos",
        "slug": t.slug,
        "type": "organization",
        "organization_id": t.org.id,
        "parent": None,
    }


def _branch_end(repo: Repository, ref: str, sha: str, urls: Urls) -> dict[str, Any]:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": account(repo.owner, urls),
        "repo": repository(repo, urls),
    }


def pull_request(
    repo: Repository,
    it: Issue,
    world: World,
    urls: Urls,
    view: PullView | None = None,
) -> dict[str, Any]:
    """A `pull-request` (with `view`) or a `pull-request-simple` (without)."""
    pr = it.pull
    assert pr is not None
    api = urls.repo(repo)
    self_url = f"{api}/pulls/{it.number}"
    html = f"{urls.html}/{repo.full_name}/pull/{it.number}"
    base_sha = view.base_sha if view is not None else pr.base_sha
    out: dict[str, Any] = {
        "url": self_url,
        "id": pr.id,
        "node_id": node_id("PR", pr.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{it.number}",
        "commits_url": f"{self_url}/commits",
        "review_comments_url": f"{self_url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{it.number}/comments",
        "statuses_url": f"{api}/statuses/{pr.head_sha}",
        "number": it.number,
        "state": it.state,
        "locked": it.locked,
        "title": it.title,
        "user": account(it.user, urls),
        "body": it.body,
        # GitHub's description of this shape has a label's description as a string, never
        # null (unlike an issue's labels): an empty string keeps to it.
        "labels": [
            {**label(repo, lab, urls), "description": lab.description or ""} for lab in it.labels
        ],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(it.created_at),
        "updated_at": iso(it.updated_at),
        "closed_at": iso(it.closed_at) if it.closed_at is not None else None,
        "merged_at": iso(pr.merged_at) if pr.merged_at is not None else None,
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": account(it.assignees[0], urls) if it.assignees else None,
        "assignees": [account(a, urls) for a in it.assignees],
        "requested_reviewers": [account(a, urls) for a in pr.requested_reviewers],
        "requested_teams": [team(t, urls) for t in pr.requested_teams],
        "head": _branch_end(repo, pr.head_ref, pr.head_sha, urls),
        "base": _branch_end(repo, pr.base_ref, base_sha, urls),
        "_links": {
            "self": {"href": self_url},
            "html": {"href": html},
            "issue": {"href": f"{api}/issues/{it.number}"},
            "comments": {"href": f"{api}/issues/{it.number}/comments"},
            "review_comments": {"href": f"{self_url}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{self_url}/commits"},
            "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
        },
        "author_association": world.author_association(repo, it.user),
        "auto_merge": None,
        "draft": pr.draft,
    }
    if view is not None:
        merged = pr.merged_at is not None
        if merged or it.state == "closed":
            state = "unknown"
        elif view.mergeable is False:
            state = "dirty"
        elif pr.draft:
            state = "draft"
        else:
            state = "clean"
        out.update(
            {
                "merged": merged,
                "mergeable": view.mergeable,
                "rebaseable": view.rebaseable,
                "mergeable_state": state,
                "merged_by": account(pr.merged_by, urls) if pr.merged_by is not None else None,
                "comments": len(it.comment_ids),
                "review_comments": 0,
                "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": view.commits,
                "additions": view.additions,
                "deletions": view.deletions,
                "changed_files": view.changed_files,
            }
        )
    return out


def review(
    repo: Repository, number: int, r: Review, world: World, urls: Urls, *, webhook: bool = False
) -> dict[str, Any]:
    """A `pull-request-review`; webhooks spell the state in lower case, REST in upper case."""
    api = urls.repo(repo)
    html = f"{urls.html}/{repo.full_name}/pull/{number}#pullrequestreview-{r.id}"
    return {
        "id": r.id,
        "node_id": node_id("PRR", r.id),
        "user": account(r.user, urls),
        "body": r.body,
        "state": r.state.lower() if webhook else r.state,
        "html_url": html,
        "pull_request_url": f"{api}/pulls/{number}",
        "author_association": world.author_association(repo, r.user),
        "_links": {
            "html": {"href": html},
            "pull_request": {"href": f"{api}/pulls/{number}"},
        },
        "submitted_at": iso(r.submitted_at) if r.submitted_at is not None else None,
        "commit_id": r.commit_id,
    }


def timeline_event(
    repo: Repository, it: Issue, ev: IssueEvent, world: World, urls: Urls
) -> dict[str, Any]:
    """One issue event as the timeline (and the events API) shows it."""
    out: dict[str, Any] = {
        "id": ev.id,
        "node_id": node_id("E", ev.id),
        "url": f"{urls.repo(repo)}/issues/events/{ev.id}",
        "actor": account(ev.actor, urls),
        "event": ev.event,
        "commit_id": ev.data.get("commit_id"),
        "commit_url": (
            f"{urls.repo(repo)}/commits/{ev.data['commit_id']}"
            if ev.data.get("commit_id")
            else None
        ),
        "created_at": iso(ev.created_at),
        "performed_via_github_app": _performed_via(world, ev.actor, urls),
    }
    lab = ev.data.get("label")
    if isinstance(lab, Label):
        out["label"] = {"name": lab.name, "color": lab.color}
    for key in ("assignee", "requested_reviewer", "review_requester"):
        who = ev.data.get(key)
        if isinstance(who, Account):
            out[key] = account(who, urls)
    if "rename" in ev.data:
        out["rename"] = ev.data["rename"]
    if "state_reason" in ev.data:
        out["state_reason"] = ev.data["state_reason"]
    return out


def timeline_comment(repo: Repository, c: Comment, world: World, urls: Urls) -> dict[str, Any]:
    return {**comment(repo, c, world, urls), "event": "commented", "actor": account(c.user, urls)}


def timeline_review(
    repo: Repository, number: int, r: Review, world: World, urls: Urls
) -> dict[str, Any]:
    out = review(repo, number, r, world, urls)
    # The timeline spells review states in lower case, like webhooks.
    out.update(event="reviewed", state=r.state.lower())
    return out


def _html_tag(rel: Release) -> str:
    """The tag a release's web URLs name: a draft has none yet, GitHub says `untagged-...`."""
    return rel.tag_name if not rel.draft else f"untagged-{rel.id}"


def release_asset(
    repo: Repository, rel: Release, asset: ReleaseAsset, urls: Urls
) -> dict[str, Any]:
    download = f"{urls.html}/{repo.full_name}/releases/download/{_html_tag(rel)}/{asset.name}"
    return {
        "url": f"{urls.repo(repo)}/releases/assets/{asset.id}",
        "browser_download_url": download,
        "id": asset.id,
        "node_id": node_id("RA", asset.id),
        "name": asset.name,
        "label": asset.label,
        "state": "uploaded",
        "content_type": asset.content_type,
        "size": asset.size,
        "digest": asset.digest,
        "download_count": 0,
        "created_at": iso(asset.created_at),
        "updated_at": iso(asset.updated_at),
        "uploader": account(asset.uploader, urls),
    }


def release(repo: Repository, rel: Release, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    html_tag = _html_tag(rel)
    return {
        "url": f"{api}/releases/{rel.id}",
        "html_url": f"{urls.html}/{repo.full_name}/releases/tag/{html_tag}",
        "assets_url": f"{api}/releases/{rel.id}/assets",
        "upload_url": (
            f"{urls.api}/uploads/{repo.full_name}/releases/{rel.id}/assets{{?name,label}}"
        ),
        "tarball_url": f"{api}/tarball/{rel.tag_name}" if not rel.draft else None,
        "zipball_url": f"{api}/zipball/{rel.tag_name}" if not rel.draft else None,
        "id": rel.id,
        "node_id": node_id("RE", rel.id),
        "tag_name": rel.tag_name,
        "target_commitish": rel.target_commitish,
        "name": rel.name,
        "body": rel.body,
        "draft": rel.draft,
        "prerelease": rel.prerelease,
        "immutable": False,
        "created_at": iso(rel.created_at),
        "published_at": iso(rel.published_at) if rel.published_at is not None else None,
        "updated_at": iso(rel.updated_at),
        "author": account(rel.author, urls),
        "assets": [release_asset(repo, rel, a, urls) for a in rel.assets],
    }


def status(repo: Repository, st: Status, urls: Urls) -> dict[str, Any]:
    return {
        "url": f"{urls.repo(repo)}/statuses/{st.sha}",
        "avatar_url": f"{urls.html}/avatars/{st.creator.login}",
        "id": st.id,
        "node_id": node_id("SC", st.id),
        "state": st.state,
        "description": st.description,
        "target_url": st.target_url,
        "context": st.context,
        "created_at": iso(st.created_at),
        "updated_at": iso(st.updated_at),
        "creator": account(st.creator, urls),
    }


def combined_state(statuses: list[Status]) -> str:
    """failure if any failed or errored, pending if any is pending (or there are none)."""
    states = {s.state for s in statuses}
    if states & {"failure", "error"}:
        return "failure"
    if not statuses or "pending" in states:
        return "pending"
    return "success"


def latest_statuses(statuses: list[Status]) -> list[Status]:
    """The newest status of each context, newest first."""
    latest: dict[str, Status] = {}
    for st in statuses:
        latest[st.context] = st
    return sorted(latest.values(), key=lambda s: s.id, reverse=True)
