"""GitHub's JSON shapes for the sandbox's objects, in REST answers and webhook payloads."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from bot.sandbox.git import CommitInfo, Identity, TreeEntry
from bot.sandbox.world import Account, App, CheckRun, Installation, Repository, World, iso

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
    return {
        "login": a.login,
        "id": a.id,
        "node_id": node_id({"User": "U", "Organization": "O", "Bot": "BOT"}[a.type], a.id),
        "avatar_url": f"{urls.html}/avatars/{a.login}",
        "url": f"{urls.api}/users/{a.login}",
        "html_url": f"{urls.html}/{a.login}",
        "type": a.type,
        "site_admin": False,
    }


def repository(repo: Repository, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
    return {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "owner": account(repo.owner, urls),
        "html_url": f"{urls.html}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": api,
        "contents_url": f"{api}/contents/{{+path}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.pushed_at),
        "pushed_at": iso(repo.pushed_at),
        "default_branch": repo.default_branch,
        "archived": False,
        "disabled": False,
    }


def repository_in_push(repo: Repository, urls: Urls) -> dict[str, Any]:
    """The push event's repository: epoch-second timestamps and a `master_branch` alias."""
    out = repository(repo, urls)
    out["created_at"] = int(repo.created_at)
    out["pushed_at"] = int(repo.pushed_at)
    out["master_branch"] = repo.default_branch
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
        "updated_at": iso(inst.created_at),
        "single_file_name": None,
        "suspended_at": None,
        "suspended_by": None,
    }


def installation_ref(inst: Installation) -> dict[str, Any]:
    """The `installation` object every App webhook for a repository carries."""
    return {"id": inst.id, "node_id": node_id("I", inst.id)}


def check_run(run: CheckRun, repo: Repository, a: App, urls: Urls) -> dict[str, Any]:
    api = urls.repo(repo)
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
        "check_suite": {"id": run.check_suite_id},
        "app": app(a, urls),
        "pull_requests": [],
    }


def _git_person(who: Identity) -> dict[str, Any]:
    return {"name": who.name, "email": who.email, "date": iso(who.time)}


def commit(repo: Repository, info: CommitInfo, world: World, urls: Urls) -> dict[str, Any]:
    """`GET /repos/{owner}/{repo}/commits/{ref}` (without `files` and `stats` for now)."""
    api = urls.repo(repo)
    author = world.by_email(info.author.email)
    committer = world.by_email(info.committer.email)
    return {
        "sha": info.sha,
        "node_id": node_id("C", int(info.sha[:12], 16)),
        "commit": {
            "author": _git_person(info.author),
            "committer": _git_person(info.committer),
            "message": info.message,
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "url": f"{api}/git/commits/{info.sha}",
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None},
        },
        "url": f"{api}/commits/{info.sha}",
        "html_url": f"{urls.html}/{repo.full_name}/commit/{info.sha}",
        "author": account(author, urls) if author else None,
        "committer": account(committer, urls) if committer else None,
        "parents": [
            {
                "sha": p,
                "url": f"{api}/commits/{p}",
                "html_url": f"{urls.html}/{repo.full_name}/commit/{p}",
            }
            for p in info.parents
        ],
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
