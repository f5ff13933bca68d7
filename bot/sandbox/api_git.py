"""REST routes for git data: refs, commits, trees, blobs, branches, tags, comparisons, merges."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from aiohttp import web

from bot.sandbox import shapes
from bot.sandbox.git import SHA, Identity, NewEntry, valid_ref_name
from bot.sandbox.rest import Routes, json_response, no_content, paginate
from bot.sandbox.world import ApiError, Repository, not_found, validation_failed

_DOCS_REFS = "https://docs.github.com/rest/git/refs"
_DOCS_COMMITS = "https://docs.github.com/rest/git/commits"
_DOCS_TREES = "https://docs.github.com/rest/git/trees"
_DOCS_BLOBS = "https://docs.github.com/rest/git/blobs"
_DOCS_BRANCH = "https://docs.github.com/rest/branches/branches#get-a-branch"
_DOCS_COMPARE = "https://docs.github.com/rest/commits/commits#compare-two-commits"
_DOCS_LIST_COMMITS = "https://docs.github.com/rest/commits/commits#list-commits"
_DOCS_MERGES = "https://docs.github.com/rest/branches/branches#merge-a-branch"
_MODES = {
    "100644": "blob",
    "100755": "blob",
    "120000": "blob",
    "040000": "tree",
    "160000": "commit",
}
# A comparison lists at most this many commits (then pages).
MAX_COMPARE_COMMITS = 250


def _qualified(ref: str) -> str:
    """`heads/main` (GitHub's form in paths) as `refs/heads/main`; a full name stays."""
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def _person(value: Any, default: Identity, field: str) -> Identity:
    if value is None:
        return default
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("name"), str)
        or not isinstance(value.get("email"), str)
    ):
        raise validation_failed(
            f"{_DOCS_COMMITS}#create-a-commit",
            {"resource": "Commit", "code": "invalid", "field": field},
        )
    when = default.time
    if isinstance(value.get("date"), str):
        try:
            when = int(dt.datetime.fromisoformat(value["date"].replace("Z", "+00:00")).timestamp())
        except ValueError:
            raise validation_failed(
                f"{_DOCS_COMMITS}#create-a-commit",
                {"resource": "Commit", "code": "invalid", "field": f"{field}.date"},
            ) from None
    return Identity(value["name"], value["email"], when)


class GitApi(Routes):
    """The Git database API and the branch, tag, compare and merge endpoints, on real git."""

    def register(self, router: web.UrlDispatcher) -> None:
        repo = "/repos/{owner}/{repo}"
        r = router
        r.add_get(f"{repo}/git/ref/{{ref:.+}}", self.get_ref)
        r.add_get(f"{repo}/git/matching-refs/{{ref:.*}}", self.matching_refs)
        r.add_post(f"{repo}/git/refs", self.create_ref)
        r.add_patch(f"{repo}/git/refs/{{ref:.+}}", self.update_ref)
        r.add_delete(f"{repo}/git/refs/{{ref:.+}}", self.delete_ref)
        r.add_post(f"{repo}/git/commits", self.create_commit)
        r.add_get(f"{repo}/git/commits/{{commit_sha}}", self.get_git_commit)
        r.add_get(f"{repo}/commits", self.list_commits)
        r.add_post(f"{repo}/git/trees", self.create_tree)
        r.add_get(f"{repo}/git/trees/{{tree_sha:.+}}", self.get_tree)
        r.add_post(f"{repo}/git/blobs", self.create_blob)
        r.add_get(f"{repo}/branches/{{branch:.+}}", self.get_branch)
        r.add_get(f"{repo}/tags", self.list_tags)
        r.add_get(f"{repo}/compare/{{basehead:.+}}", self.compare)
        r.add_post(f"{repo}/merges", self.merge)

    # --- refs ------------------------------------------------------------------------------

    async def get_ref(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        ref = await repo.git.ref(_qualified(request.match_info["ref"]))
        if ref is None:
            raise not_found(f"{_DOCS_REFS}#get-a-reference")
        return json_response(shapes.git_ref(repo, ref, self._urls()))

    async def matching_refs(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        prefix = _qualified(request.match_info["ref"]) if request.match_info["ref"] else "refs/"
        urls = self._urls()
        refs = [r for r in await repo.git.refs() if r.name.startswith(prefix)]
        return json_response([shapes.git_ref(repo, r, urls) for r in refs])

    async def create_ref(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        docs = f"{_DOCS_REFS}#create-a-reference"
        name, sha = body.get("ref"), body.get("sha")
        if not isinstance(name, str) or not isinstance(sha, str):
            raise validation_failed(
                docs,
                {
                    "resource": "Reference",
                    "code": "missing_field",
                    "field": "ref" if not isinstance(name, str) else "sha",
                },
            )
        if not valid_ref_name(name):
            raise ApiError(422, f"{name} is not a valid ref name.", docs)
        if await repo.git.object_type(sha) is None:
            raise ApiError(422, "Object does not exist", docs)
        async with repo.lock:
            if await repo.git.ref(name) is not None:
                raise ApiError(422, "Reference already exists", docs)
            await self.ops.move_ref(repo, name, sha, None, self._actor(request))
        ref = await repo.git.ref(name)
        assert ref is not None
        return json_response(shapes.git_ref(repo, ref, self._urls()), 201)

    async def update_ref(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        docs = f"{_DOCS_REFS}#update-a-reference"
        name = _qualified(request.match_info["ref"])
        sha = body.get("sha")
        if not isinstance(sha, str):
            raise validation_failed(
                docs, {"resource": "Reference", "code": "missing_field", "field": "sha"}
            )
        force = bool(body.get("force", False))
        async with repo.lock:
            current = await repo.git.ref(name)
            if current is None:
                raise ApiError(422, "Reference does not exist", docs)
            if await repo.git.object_type(sha) is None:
                raise ApiError(422, "Object does not exist", docs)
            fast_forward = await repo.git.is_ancestor(current.sha, sha)
            if not fast_forward and not force:
                raise ApiError(422, "Update is not a fast forward", docs)
            if sha != current.sha:
                await self.ops.move_ref(
                    repo, name, sha, current.sha, self._actor(request), forced=not fast_forward
                )
        ref = await repo.git.ref(name)
        assert ref is not None
        return json_response(shapes.git_ref(repo, ref, self._urls()))

    async def delete_ref(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        docs = f"{_DOCS_REFS}#delete-a-reference"
        name = _qualified(request.match_info["ref"])
        async with repo.lock:
            current = await repo.git.ref(name)
            if current is None:
                raise ApiError(422, "Reference does not exist", docs)
            await self.ops.move_ref(repo, name, None, current.sha, self._actor(request))
        return no_content()

    # --- commits, trees, blobs -------------------------------------------------------------

    async def create_commit(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        docs = f"{_DOCS_COMMITS}#create-a-commit"
        message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
        if not isinstance(message, str):
            raise validation_failed(
                docs, {"resource": "Commit", "code": "missing_field", "field": "message"}
            )
        if not isinstance(tree, str):
            raise validation_failed(
                docs, {"resource": "Commit", "code": "missing_field", "field": "tree"}
            )
        if await repo.git.object_type(tree) != "tree":
            raise ApiError(422, "Tree SHA does not exist", docs)
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise validation_failed(
                docs, {"resource": "Commit", "code": "invalid", "field": "parents"}
            )
        for parent in parents:
            if await repo.git.object_type(parent) != "commit":
                raise ApiError(422, "Parent SHA does not exist or is not a commit object", docs)
        actor = self._actor(request)
        me = self.ops.identity(actor)
        author = _person(body.get("author"), me, "author")
        committer = _person(body.get("committer"), author, "committer")
        sha = await repo.git.commit_tree(
            tree, parents, message=message, author=author, committer=committer
        )
        if body.get("author") is None and body.get("committer") is None:
            # Left to GitHub, the commit is the App's and GitHub signs it.
            self.world.verified.add(sha)
        info = await repo.git.commit_info(sha)
        return json_response(shapes.git_commit(repo, info, self.world, self._urls()), 201)

    async def get_git_commit(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = request.match_info["commit_sha"]
        if await repo.git.object_type(sha) != "commit":
            raise not_found(f"{_DOCS_COMMITS}#get-a-commit-object")
        info = await repo.git.commit_info(sha)
        return json_response(shapes.git_commit(repo, info, self.world, self._urls()))

    async def list_commits(self, request: web.Request) -> web.Response:
        """`git log` from `sha` (default: the default branch), newest first, one page of it.

        `path` keeps the commits that touch it (a file, or anything under a directory), with
        git's default history simplification, as GitHub's list does. Items are `commit`s
        without `files` or `stats` (only the single-commit endpoint carries those).
        """
        repo = self._repo(request)
        await self._refuse_if_empty(repo)
        wanted = request.query.get("sha") or repo.default_branch
        start = await repo.git.resolve(wanted)
        if start is None:
            raise ApiError(404, f"No commit found for SHA: {wanted}", _DOCS_LIST_COMMITS)
        args = [start]
        path = request.query.get("path", "").strip("/")
        if path:
            # GitRepo runs git with GIT_LITERAL_PATHSPECS: a path, never globs or magic.
            args += ["--", path]
        shas = await repo.git.rev_list(*args)
        chunk, headers = paginate(request, shas)
        urls = self._urls()
        items = [
            shapes.commit(repo, await repo.git.commit_info(sha), self.world, urls) for sha in chunk
        ]
        return json_response(items, headers=headers)

    async def create_tree(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        docs = f"{_DOCS_TREES}#create-a-tree"
        items, base = body.get("tree"), body.get("base_tree")
        if not isinstance(items, list):
            raise validation_failed(
                docs, {"resource": "Tree", "code": "missing_field", "field": "tree"}
            )
        base_tree = None
        if base is not None:
            base_tree = (
                await repo.git.tree_of(base) if isinstance(base, str) and SHA.match(base) else None
            )
            if base_tree is None:
                raise ApiError(422, "base_tree is not a valid tree oid", docs)
        entries = []
        for n, item in enumerate(items):
            entries.append(await self._tree_entry(repo, item, n, docs))
        if not entries and base_tree is None:
            raise validation_failed(
                docs, {"resource": "Tree", "code": "missing_field", "field": "tree"}
            )
        try:
            sha = await repo.git.write_tree(base_tree, entries)
        except ValueError as exc:
            raise ApiError(422, str(exc), docs) from None
        listed = await repo.git.tree_entries(sha)
        return json_response(shapes.git_tree(repo, sha, listed, self._urls()), 201)

    async def _tree_entry(self, repo: Repository, item: Any, n: int, docs: str) -> NewEntry:
        def bad(field: str) -> ApiError:
            return validation_failed(
                docs, {"resource": "Tree", "code": "invalid", "field": f"tree.{field}", "index": n}
            )

        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise bad("path")
        mode = item.get("mode")
        if mode not in _MODES:
            raise bad("mode")
        kind = item.get("type", _MODES[mode])
        if kind != _MODES[mode]:
            raise bad("type")
        if "content" in item and item.get("sha") is not None:
            raise ApiError(422, "Only one of sha or content may be given", docs)
        if "content" in item:
            if kind != "blob" or not isinstance(item["content"], str):
                raise bad("content")
            sha: str | None = await repo.git.write_blob(item["content"].encode())
        else:
            sha = item.get("sha")
            if sha is not None and (
                not isinstance(sha, str)
                or (kind != "commit" and await repo.git.object_type(sha) != kind)
            ):
                raise ApiError(422, f"tree.sha {sha} is not a valid {kind}", docs)
        return NewEntry(item["path"], mode, kind, sha)

    async def get_tree(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        wanted = request.match_info["tree_sha"]
        tree = await repo.git.tree_of(wanted) if SHA.match(wanted) else None
        if tree is None:
            commit = await repo.git.resolve(wanted)
            tree = await repo.git.tree_of(commit) if commit is not None else None
        if tree is None:
            raise not_found(f"{_DOCS_TREES}#get-a-tree")
        recursive = request.query.get("recursive") not in (None, "", "0", "false")
        entries = await repo.git.tree_entries(tree, recursive=recursive)
        return json_response(shapes.git_tree(repo, tree, entries, self._urls()))

    async def create_blob(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        docs = f"{_DOCS_BLOBS}#create-a-blob"
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str):
            raise validation_failed(
                docs, {"resource": "Blob", "code": "missing_field", "field": "content"}
            )
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except (binascii.Error, ValueError):
                raise validation_failed(
                    docs, {"resource": "Blob", "code": "invalid", "field": "content"}
                ) from None
        elif encoding in ("utf-8", "utf8"):
            data = content.encode()
        else:
            raise validation_failed(
                docs, {"resource": "Blob", "code": "invalid", "field": "encoding"}
            )
        sha = await repo.git.write_blob(data)
        return json_response({"url": f"{self._urls().repo(repo)}/git/blobs/{sha}", "sha": sha}, 201)

    # --- branches and tags -------------------------------------------------------------------

    async def get_branch(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        name = request.match_info["branch"]
        head = await repo.git.branch_head(name)
        if head is None:
            raise ApiError(404, "Branch not found", _DOCS_BRANCH)
        urls = self._urls()
        info = await repo.git.commit_info(head)
        return json_response(
            shapes.branch(repo, name, shapes.commit(repo, info, self.world, urls), urls)
        )

    async def list_tags(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        tags = []
        for ref in await repo.git.refs("refs/tags/"):
            sha = await repo.git.resolve(ref.name) or ref.sha
            tags.append((ref.name.removeprefix("refs/tags/"), sha))
        tags.sort(reverse=True)
        urls = self._urls()
        chunk, headers = paginate(request, tags)
        return json_response([shapes.tag(repo, n, s, urls) for n, s in chunk], headers=headers)

    # --- comparing and merging -----------------------------------------------------------------

    async def _end(self, repo: Repository, spec: str) -> str:
        owner, sep, ref = spec.partition(":")
        if sep and owner.lower() != repo.owner.login.lower():
            raise not_found(_DOCS_COMPARE)
        sha = await repo.git.resolve(ref if sep else spec)
        if sha is None:
            raise not_found(_DOCS_COMPARE)
        return sha

    async def compare(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        basehead = request.match_info["basehead"]
        base_spec, sep, head_spec = basehead.partition("...")
        if not sep:
            base_spec, sep, head_spec = basehead.partition("..")
        if not sep or not base_spec or not head_spec:
            raise not_found(_DOCS_COMPARE)
        git = repo.git
        base, head = await self._end(repo, base_spec), await self._end(repo, head_spec)
        merge_base = await git.merge_base(base, head)
        if merge_base is None:
            raise ApiError(
                404, f"No common ancestor between {base_spec} and {head_spec}.", _DOCS_COMPARE
            )
        ahead = await git.rev_list("--reverse", f"{base}..{head}")
        behind = await git.rev_list(f"{head}..{base}")
        if base == head:
            status = "identical"
        elif not ahead:
            status = "behind"
        elif not behind:
            status = "ahead"
        else:
            status = "diverged"
        urls = self._urls()
        api = urls.repo(repo)
        chunk, headers = paginate(request, ahead[:MAX_COMPARE_COMMITS])
        commits = [
            shapes.commit(repo, await git.commit_info(sha), self.world, urls) for sha in chunk
        ]
        files = await self.ops.diff(repo, merge_base, head)
        html = f"{urls.html}/{repo.full_name}/compare/{basehead}"
        body = {
            "url": f"{api}/compare/{basehead}",
            "html_url": html,
            "permalink_url": f"{urls.html}/{repo.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": shapes.commit(repo, await git.commit_info(base), self.world, urls),
            "merge_base_commit": shapes.commit(
                repo, await git.commit_info(merge_base), self.world, urls
            ),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": commits,
            "files": [shapes.diff_entry(repo, f, head, urls) for f in files],
        }
        return json_response(body, headers=headers)

    async def merge(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        base, head = body.get("base"), body.get("head")
        for field, value in (("base", base), ("head", head)):
            if not isinstance(value, str) or not value:
                raise validation_failed(
                    _DOCS_MERGES, {"resource": "Merge", "code": "missing_field", "field": field}
                )
        assert isinstance(base, str)
        assert isinstance(head, str)
        message = body.get("commit_message")
        sha = await self.ops.merge_branches(
            repo, base, head, message if isinstance(message, str) else None, self._actor(request)
        )
        if sha is None:
            return no_content()
        info = await repo.git.commit_info(sha)
        return json_response(shapes.commit(repo, info, self.world, self._urls()), 201)
