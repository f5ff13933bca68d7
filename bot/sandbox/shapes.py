"""GitHub's JSON shapes for the sandbox's objects, in REST answers and webhook payloads."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from bot.sandbox.git import CommitInfo, FileDiff, Identity, Ref, TreeEntry
from bot.sandbox.world import (
    Account,
    App,
    CheckRun,
    CheckSuite,
    Installation,
    PullRequest,
    Repository,
    World,
    iso,
)

# Permissions and events the sandbox's App is treated as having; later slices can make
# them configurable and enforce them.
APP_PERMISSIONS = {
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = ["check_run", "issue_comment", "issues", "pull_request", "push"]
# Above this GitHub's contents API leaves `content` empty and points at the blob API.
CONTENTS_INLINE_LIMIT = 1024 * 1024


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_{base64.b64encode(str(number).encode()).decode().rstrip('=')}"


def b64_wrapped(data: bytes) -> str:
    """Base64 with a newline every 60 characters, as the contents and blob APIs send it."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


@dataclass(frozen=True)
class Urls:
    """Where the sandbox serves its API and (nominally) its web pages."""

    api: str
    html: str

    def repo(self, repo: Repository) -> str:
        return f"{self.api}/repos/{repo.full_name}"


def account(a: Account, urls: Urls) -> dict[str, Any]:
    """A `simple-user`: every account (user, organization, bot) is shown this way."""
    user = f"{urls.api}/users/{a.login}"
    return {
        "login": a.login,
        "id": a.id,
        "node_id": node_id({"User": "U", "Organization": "O", "Bot": "BOT"}[a.type], a.id),
        "avatar_url": f"{urls.html}/avatars/{a.login}",
        "gravatar_id": "",
        "url": user,
        "html_url": f"{urls.html}/{a.login}",
        "followers_url": f"{user}/followers",
        "following_url": f"{user}/following{{/other_user}}",
        "gists_url": f"{user}/gists{{/gist_id}}",
        "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user}/subscriptions",
        "organizations_url": f"{user}/orgs",
        "repos_url": f"{user}/repos",
        "events_url": f"{user}/events{{/privacy}}",
        "received_events_url": f"{user}/received_events",
        "type": a.type,
        "user_view_type": "public",
        "site_admin": False,
    }


_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def minimal_repository(repo: Repository, urls: Urls) -> dict[str, Any]:
    """A `minimal-repository`: identity and the URL templates, as nested objects carry it."""
    api = urls.repo(repo)
    out: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": account(repo.owner, urls),
        "html_url": f"{urls.html}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": api,
    }
    out.update({key: api + suffix for key, suffix in _REPO_URLS.items()})
    return out


def repository(repo: Repository, urls: Urls) -> dict[str, Any]:
    """A `full-repository`, as `GET /repos/{owner}/{repo}` and webhooks show it."""
    out = minimal_repository(repo, urls)
    open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
    out.update(
        {
            "git_url": f"git://sandbox/{repo.full_name}.git",
            "ssh_url": f"git@sandbox:{repo.full_name}.git",
            "clone_url": f"{urls.html}/{repo.full_name}.git",
            "svn_url": f"{urls.html}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "size": 0,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "open_issues": open_issues,
            "open_issues_count": open_issues,
            "network_count": 0,
            "subscribers_count": 0,
            "license": None,
            "topics": [],
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "has_discussions": False,
            "is_template": False,
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "visibility": "private" if repo.private else "public",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at),
            "pushed_at": iso(repo.pushed_at),
            "default_branch": repo.default_branch,
            "archived": False,
            "disabled": False,
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "allow_auto_merge": False,
            "allow_update_branch": False,
            "delete_branch_on_merge": False,
            "custom_properties": {},
        }
    )
    return out


def organization(org: Account, urls: Urls) -> dict[str, Any]:
    """An `organization-simple`, as webhooks about an organization's repository carry it."""
    api = f"{urls.api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("O", org.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{urls.html}/avatars/{org.login}",
        "description": None,
    }


def repository_in_push(repo: Repository, urls: Urls) -> dict[str, Any]:
    """The push event's repository: epoch-second timestamps and a `master_branch` alias."""
    out = repository(repo, urls)
    out["created_at"] = int(repo.created_at)
    out["pushed_at"] = int(repo.pushed_at)
    out["master_branch"] = repo.default_branch
    out["stargazers"] = 0
    out["owner"] = {**out["owner"], "name": repo.owner.login, "email": None}
    return out


def repository_brief(repo: Repository) -> dict[str, Any]:
    """The short form used in installation events."""
    return {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
    }


def app(a: App, urls: Urls) -> dict[str, Any]:
    return {
        "id": a.id,
        "slug": a.slug,
        "node_id": node_id("A", a.id),
        "client_id": f"Iv1.{a.id:016x}",
        "owner": account(a.owner, urls),
        "name": a.name,
        "description": "",
        "external_url": f"{urls.html}/apps/{a.slug}",
        "html_url": f"{urls.html}/apps/{a.slug}",
        "created_at": iso(a.created_at),
        "updated_at": iso(a.created_at),
        "permissions": APP_PERMISSIONS,
        "events": APP_EVENTS,
    }


def installation(inst: Installation, a: App, urls: Urls) -> dict[str, Any]:
    return {
        "id": inst.id,
        "node_id": node_id("I", inst.id),
        "account": account(inst.account, urls),
        "repository_selection": "selected",
        "access_tokens_url": f"{urls.api}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.html}/settings/installations/{inst.id}",
        "app_id": a.id,
        "app_slug": a.slug,
        "target_id": inst.account.id,
        "target_type": inst.account.type,
        "permissions": APP_PERMISSIONS,
        "events": APP_EVENTS,
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.updated_at),
        "single_file_name": None,
        "suspended_at": None,
        "suspended_by": None,
    }


def installation_ref(inst: Installation) -> dict[str, Any]:
    """The `installation` object every App webhook for a repository carries."""
    return {"id": inst.id, "node_id": node_id("I", inst.id)}


def pull_minimal(repo: Repository, number: int, pr: PullRequest, urls: Urls) -> dict[str, Any]:
    """A `pull-request-minimal`, as check runs and suites list the pull requests of a commit."""
    api = urls.repo(repo)
    brief = {"id": repo.id, "url": api, "name": repo.name}
    return {
        "id": pr.id,
        "number": number,
        "url": f"{api}/pulls/{number}",
        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": brief},
        "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": brief},
    }


def pulls_at(repo: Repository, sha: str, urls: Urls) -> list[dict[str, Any]]:
    """The open pull requests whose head is `sha` (GitHub leaves fork pull requests out)."""
    return [
        pull_minimal(repo, it.number, it.pull, urls)
        for it in repo.issues.values()
        if it.pull is not None and it.state == "open" and it.pull.head_sha == sha
    ]


def check_run(run: CheckRun, repo: Repository, world: World, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    a = world.apps[run.app_id]
    suite = world.suites[run.check_suite_id]
    status, conclusion = suite_outcome(world.suite_runs(suite))
    return {
        "id": run.id,
        "node_id": node_id("CR", run.id),
        "head_sha": run.head_sha,
        "external_id": run.external_id or "",
        "url": f"{api}/check-runs/{run.id}",
        "html_url": f"{urls.html}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url or f"{urls.html}/apps/{a.slug}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at) if run.completed_at is not None else None,
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": run.annotations_count,
            "annotations_url": f"{api}/check-runs/{run.id}/annotations",
        },
        "name": run.name,
        "check_suite": {
            "id": suite.id,
            "node_id": node_id("CS", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": f"{api}/check-suites/{suite.id}",
            "before": None,
            "after": suite.head_sha,
            "pull_requests": pulls_at(repo, suite.head_sha, urls),
            "app": app(a, urls),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
        },
        "app": app(a, urls),
        "pull_requests": pulls_at(repo, run.head_sha, urls),
    }


def check_suite(
    suite: CheckSuite,
    repo: Repository,
    a: App,
    runs: list[CheckRun],
    head: CommitInfo,
    urls: Urls,
) -> dict[str, Any]:
    """A `check-suite`: its status and conclusion follow from its runs."""
    api = urls.repo(repo)
    status, conclusion = suite_outcome(runs)
    return {
        "id": suite.id,
        "node_id": node_id("CS", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": status,
        "conclusion": conclusion,
        "url": f"{api}/check-suites/{suite.id}",
        "before": None,
        "after": suite.head_sha,
        "pull_requests": pulls_at(repo, suite.head_sha, urls),
        "app": app(a, urls),
        "repository": minimal_repository(repo, urls),
        "created_at": iso(suite.created_at),
        "updated_at": iso(suite.updated_at),
        "head_commit": {
            "id": head.sha,
            "tree_id": head.tree,
            "message": head.message,
            "timestamp": iso(head.committer.time),
            "author": {"name": head.author.name, "email": head.author.email},
            "committer": {"name": head.committer.name, "email": head.committer.email},
        },
        "latest_check_runs_count": len(runs),
        "check_runs_url": f"{api}/check-suites/{suite.id}/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


# The worst conclusion among a suite's runs becomes the suite's, in this order.
_SUITE_PRECEDENCE = (
    "action_required",
    "cancelled",
    "timed_out",
    "failure",
    "stale",
    "neutral",
    "success",
    "skipped",
)


def suite_outcome(runs: list[CheckRun]) -> tuple[str, str | None]:
    """A suite's (status, conclusion): completed only once every run has completed."""
    if not runs:
        return "queued", None
    if any(r.status != "completed" for r in runs):
        started = any(r.status == "in_progress" or r.status == "completed" for r in runs)
        return ("in_progress" if started else "queued"), None
    found = {r.conclusion for r in runs}
    for conclusion in _SUITE_PRECEDENCE:
        if conclusion in found:
            if conclusion == "neutral" and "success" in found:
                return "completed", "success"
            return "completed", conclusion
    return "completed", "success"


def _git_person(who: Identity) -> dict[str, Any]:
    return {"name": who.name, "email": who.email, "date": iso(who.time)}


def verification(sha: str, world: World) -> dict[str, Any]:
    """GitHub signs what it commits itself (web merges, API commits without an author)."""
    if sha in world.verified:
        return {
            "verified": True,
            "reason": "valid",
            "signature": "-----BEGIN PGP SIGNATURE-----\n\nsandbox\n-----END PGP SIGNATURE-----\n",
            "payload": None,
            "verified_at": None,
        }
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def _parent_links(repo: Repository, parents: tuple[str, ...], urls: Urls) -> list[dict[str, Any]]:
    api = urls.repo(repo)
    return [
        {
            "sha": p,
            "url": f"{api}/commits/{p}",
            "html_url": f"{urls.html}/{repo.full_name}/commit/{p}",
        }
        for p in parents
    ]


def commit(
    repo: Repository,
    info: CommitInfo,
    world: World,
    urls: Urls,
    files: list[FileDiff] | None = None,
) -> dict[str, Any]:
    """A `commit` (`GET /repos/{owner}/{repo}/commits/{ref}`); with `files`, its diff too."""
    api = urls.repo(repo)
    author = world.by_email(info.author.email)
    committer = world.by_email(info.committer.email)
    out: dict[str, Any] = {
        "sha": info.sha,
        "node_id": node_id("C", int(info.sha[:12], 16)),
        "commit": {
            "author": _git_person(info.author),
            "committer": _git_person(info.committer),
            "message": info.message,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "url": f"{api}/git/commits/{info.sha}",
            "comment_count": 0,
            "verification": verification(info.sha, world),
        },
        "url": f"{api}/commits/{info.sha}",
        "html_url": f"{urls.html}/{repo.full_name}/commit/{info.sha}",
        "comments_url": f"{api}/commits/{info.sha}/comments",
        "author": account(author, urls) if author else None,
        "committer": account(committer, urls) if committer else None,
        "parents": _parent_links(repo, info.parents, urls),
    }
    if files is not None:
        adds = sum(f.additions for f in files)
        dels = sum(f.deletions for f in files)
        out["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
        out["files"] = [diff_entry(repo, f, info.sha, urls) for f in files]
    return out


def diff_entry(repo: Repository, f: FileDiff, ref: str, urls: Urls) -> dict[str, Any]:
    """One file of a commit, comparison or pull request (`diff-entry`)."""
    api = urls.repo(repo)
    out: dict[str, Any] = {
        "sha": f.sha,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": f"{urls.html}/{repo.full_name}/blob/{ref}/{f.filename}",
        "raw_url": f"{urls.html}/{repo.full_name}/raw/{ref}/{f.filename}",
        "contents_url": f"{api}/contents/{f.filename}?ref={ref}",
    }
    if f.patch is not None:
        out["patch"] = f.patch
    if f.previous_filename is not None:
        out["previous_filename"] = f.previous_filename
    return out


def git_commit(repo: Repository, info: CommitInfo, world: World, urls: Urls) -> dict[str, Any]:
    """A `git-commit` (the Git database API's view of a commit object)."""
    api = urls.repo(repo)
    return {
        "sha": info.sha,
        "node_id": node_id("C", int(info.sha[:12], 16)),
        "url": f"{api}/git/commits/{info.sha}",
        "html_url": f"{urls.html}/{repo.full_name}/commit/{info.sha}",
        "author": _git_person(info.author),
        "committer": _git_person(info.committer),
        "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
        "message": info.message,
        "parents": _parent_links(repo, info.parents, urls),
        "verification": verification(info.sha, world),
    }


def git_ref(repo: Repository, ref: Ref, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    kinds = {"commit": "commits", "tag": "tags", "tree": "trees", "blob": "blobs"}
    return {
        "ref": ref.name,
        "node_id": node_id("REF", int(ref.sha[:12], 16)),
        "url": f"{api}/git/{ref.name}",
        "object": {
            "type": ref.kind,
            "sha": ref.sha,
            "url": f"{api}/git/{kinds.get(ref.kind, 'commits')}/{ref.sha}",
        },
    }


def git_tree(repo: Repository, sha: str, entries: list[TreeEntry], urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    items = []
    for e in entries:
        item: dict[str, Any] = {"path": e.path, "mode": e.mode, "type": e.kind, "sha": e.sha}
        if e.kind == "blob":
            item["size"] = e.size or 0
            item["url"] = f"{api}/git/blobs/{e.sha}"
        elif e.kind == "tree":
            item["url"] = f"{api}/git/trees/{e.sha}"
        items.append(item)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": items, "truncated": False}


def short_commit(repo: Repository, sha: str, urls: Urls) -> dict[str, Any]:
    return {"sha": sha, "url": f"{urls.repo(repo)}/commits/{sha}"}


def branch(repo: Repository, name: str, head: dict[str, Any], urls: Urls) -> dict[str, Any]:
    """A `branch-with-protection` (the sandbox has no branch protection)."""
    api = urls.repo(repo)
    return {
        "name": name,
        "commit": head,
        "_links": {
            "self": f"{api}/branches/{name}",
            "html": f"{urls.html}/{repo.full_name}/tree/{name}",
        },
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {
                "enforcement_level": "off",
                "contexts": [],
                "checks": [],
            },
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


def tag(repo: Repository, name: str, sha: str, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    return {
        "name": name,
        "commit": short_commit(repo, sha, urls),
        "zipball_url": f"{api}/zipball/refs/tags/{name}",
        "tarball_url": f"{api}/tarball/refs/tags/{name}",
        "node_id": node_id("TAG", int(sha[:12], 16)),
    }


def push_commit(
    repo: Repository,
    info: CommitInfo,
    world: World,
    urls: Urls,
    changes: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]],
) -> dict[str, Any]:
    """One entry of a push event's `commits` (and its `head_commit`)."""
    added, removed, modified = changes

    def person(who: Identity) -> dict[str, Any]:
        found = world.by_email(who.email)
        out: dict[str, Any] = {"name": who.name, "email": who.email}
        if found is not None:
            out["username"] = found.login
        return out

    return {
        "id": info.sha,
        "tree_id": info.tree,
        "distinct": True,
        "message": info.message,
        "timestamp": iso(info.author.time).replace("Z", "+00:00"),
        "url": f"{urls.html}/{repo.full_name}/commit/{info.sha}",
        "author": person(info.author),
        "committer": person(info.committer),
        "added": list(added),
        "removed": list(removed),
        "modified": list(modified),
    }


def _contents_links(repo: Repository, path: str, sha: str, ref: str, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    kind = "tree" if not path else "blob"
    return {
        "url": f"{api}/contents/{path}?ref={ref}",
        "git_url": f"{api}/git/{'trees' if kind == 'tree' else 'blobs'}/{sha}",
        "html_url": f"{urls.html}/{repo.full_name}/{kind}/{ref}/{path}",
    }


def contents_entry(repo: Repository, entry: TreeEntry, ref: str, urls: Urls) -> dict[str, Any]:
    """A file or directory as listed in a directory (no content)."""
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.kind]
    links = _contents_links(repo, entry.path, entry.sha, ref, urls)
    if kind == "dir":
        links["git_url"] = f"{urls.repo(repo)}/git/trees/{entry.sha}"
        links["html_url"] = f"{urls.html}/{repo.full_name}/tree/{ref}/{entry.path}"
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        **links,
        "download_url": (
            f"{urls.html}/raw/{repo.full_name}/{ref}/{entry.path}" if kind == "file" else None
        ),
        "_links": {"self": links["url"], "git": links["git_url"], "html": links["html_url"]},
    }


def contents_file(
    repo: Repository, entry: TreeEntry, data: bytes, ref: str, urls: Urls
) -> dict[str, Any]:
    """A file with its content; files over 1 MB come without, as GitHub sends them."""
    out = contents_entry(repo, entry, ref, urls)
    if len(data) > CONTENTS_INLINE_LIMIT:
        out.update(content="", encoding="none")
    else:
        out.update(content=b64_wrapped(data), encoding="base64")
    return out


def blob(repo: Repository, sha: str, data: bytes, urls: Urls) -> dict[str, Any]:
    return {
        "sha": sha,
        "node_id": node_id("B", int(sha[:12], 16)),
        "size": len(data),
        "url": f"{urls.repo(repo)}/git/blobs/{sha}",
        "content": b64_wrapped(data),
        "encoding": "base64",
    }
