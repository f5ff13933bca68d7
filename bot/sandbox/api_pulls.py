"""REST routes for pull requests: pulls, commits and files, reviews, review requests, merging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox import shapes
from bot.sandbox import shapes_issues as si
from bot.sandbox.ops import DOCS_PULLS, DOCS_REVIEWS
from bot.sandbox.rest import Routes, int_param, json_response, page_response, paginate
from bot.sandbox.world import ApiError, Issue, Repository, Review, validation_failed

# GitHub lists at most this many commits and files of a pull request.
MAX_PULL_COMMITS = 250
MAX_PULL_FILES = 3000
# What `sort=long-running` counts as a month (open longer, active within).
MONTH = 30 * 24 * 3600.0
_PULL_SORTS: dict[str, Callable[[Issue], Any]] = {
    "created": lambda it: (it.created_at, it.number),
    "updated": lambda it: (it.updated_at, it.number),
    "popularity": lambda it: (len(it.comment_ids), it.number),
    "long-running": lambda it: (it.created_at, it.number),
}


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation_failed(
            DOCS_PULLS, {"resource": "PullRequest", "code": "invalid", "field": field}
        )
    return list(value)


class PullsApi(Routes):
    """Pull requests between two branches of one repository (the sandbox has no forks)."""

    def register(self, router: web.UrlDispatcher) -> None:
        pulls = "/repos/{owner}/{repo}/pulls"
        pull = f"{pulls}/{{pull_number}}"
        r = router
        r.add_get(pulls, self.list_pulls)
        r.add_post(pulls, self.create_pull)
        r.add_get(pull, self.get_pull)
        r.add_patch(pull, self.update_pull)
        r.add_get(f"{pull}/commits", self.list_commits)
        r.add_get(f"{pull}/files", self.list_files)
        r.add_get(f"{pull}/reviews", self.list_reviews)
        r.add_post(f"{pull}/reviews", self.create_review)
        r.add_get(f"{pull}/reviews/{{review_id}}", self.get_review)
        r.add_put(f"{pull}/reviews/{{review_id}}/dismissals", self.dismiss_review)
        r.add_get(f"{pull}/requested_reviewers", self.list_requested)
        r.add_post(f"{pull}/requested_reviewers", self.request_reviewers)
        r.add_delete(f"{pull}/requested_reviewers", self.remove_requested)
        r.add_put(f"{pull}/merge", self.merge)
        r.add_get(f"{pull}/merge", self.is_merged)

    async def _full(self, repo: Repository, it: Issue) -> dict[str, Any]:
        return await self.ops.pull_json(repo, it)

    def _simple(self, repo: Repository, it: Issue) -> dict[str, Any]:
        return si.pull_request(repo, it, self.world, self._urls())

    async def list_pulls(self, request: web.Request) -> web.Response:
        """GitHub's pull request list: open, newest first, filtered and sorted as asked.

        `head` must be `owner:branch`: GitHub ignores a bare branch name (and so lists
        every pull request), and no other owner has a fork here. `sort=long-running` keeps
        pull requests open for over a month and active within the last one. `direction`
        defaults to desc for `created` and asc for the other sorts. Unknown values of
        `state`, `sort` and `direction` fall back to the defaults.
        """
        repo = self._repo(request)
        q = request.query
        items = [it for it in repo.issues.values() if it.pull is not None]
        state = q.get("state", "open")
        if state != "all":
            wanted_state = "closed" if state == "closed" else "open"
            items = [it for it in items if it.state == wanted_state]
        owner, colon, branch = q.get("head", "").partition(":")
        if colon:
            if owner.lower() != repo.owner.login.lower():
                items = []
            items = [it for it in items if it.pull is not None and it.pull.head_ref == branch]
        if "base" in q:
            items = [it for it in items if it.pull is not None and it.pull.base_ref == q["base"]]
        sort = q.get("sort", "created")
        if sort not in _PULL_SORTS:
            sort = "created"
        if sort == "long-running":
            now = self.world.now()
            items = [
                it
                for it in items
                if (it.closed_at if it.closed_at is not None else now) - it.created_at > MONTH
                and it.updated_at >= now - MONTH
            ]
        direction = q.get("direction")
        if direction not in ("asc", "desc"):
            direction = "desc" if sort == "created" else "asc"
        items.sort(key=_PULL_SORTS[sort], reverse=direction == "desc")
        chunk, headers = paginate(request, items)
        for it in chunk:
            # Listed pull requests show their base branch's current head, as GitHub does.
            await self.ops.pull_view(repo, it)
        return json_response([self._simple(repo, it) for it in chunk], headers=headers)

    async def create_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        if "issue" in body:
            raise ApiError(422, "Converting an issue into a pull request is not supported here")
        it = await self.ops.open_pr(
            repo,
            self._actor(request),
            head=body.get("head"),
            base=body.get("base"),
            title=body.get("title"),
            body=body.get("body") if isinstance(body.get("body"), str) else None,
            draft=bool(body.get("draft", False)),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
        )
        return json_response(await self._full(repo, it), 201)

    async def get_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(await self._full(repo, self._pull(request, repo)))

    async def update_pull(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        body = await self._body(request)
        title = body.get("title")
        await self.ops.edit_pr(
            repo,
            it,
            self._actor(request),
            title=title if isinstance(title, str) else None,
            body=body.get("body"),
            body_given="body" in body,
            state=body.get("state"),
            base=body.get("base") if isinstance(body.get("base"), str) else None,
        )
        return json_response(await self._full(repo, it))

    async def list_commits(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        assert it.pull is not None
        view = await self.ops.pull_view(repo, it)
        shas = await repo.git.rev_list("--reverse", f"{view.base_sha}..{it.pull.head_sha}")
        infos = [await repo.git.commit_info(sha) for sha in shas[:MAX_PULL_COMMITS]]
        urls = self._urls()
        return page_response(
            request, infos, lambda info: shapes.commit(repo, info, self.world, urls)
        )

    async def list_files(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        assert it.pull is not None
        view = await self.ops.pull_view(repo, it)
        base = await repo.git.merge_base(view.base_sha, it.pull.head_sha)
        files = await self.ops.diff(repo, base, it.pull.head_sha)
        urls = self._urls()
        head = it.pull.head_sha
        return page_response(
            request, files[:MAX_PULL_FILES], lambda f: shapes.diff_entry(repo, f, head, urls)
        )

    # --- reviews ---------------------------------------------------------------------------

    def _review(self, request: web.Request, it: Issue) -> Review:
        assert it.pull is not None
        wanted = int_param(request.match_info["review_id"], -1)
        found = next((r for r in it.pull.reviews if r.id == wanted), None)
        if found is None:
            raise ApiError(404, "Not Found", f"{DOCS_REVIEWS}#get-a-review-for-a-pull-request")
        return found

    def _review_json(self, repo: Repository, it: Issue, r: Review) -> dict[str, Any]:
        return si.review(repo, it.number, r, self.world, self._urls())

    async def list_reviews(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        assert it.pull is not None
        # A pending review is visible only to its author; the App sees its own.
        actor = self._actor(request)
        reviews = [r for r in it.pull.reviews if r.state != "PENDING" or r.user is actor]
        return page_response(request, reviews, lambda r: self._review_json(repo, it, r))

    async def get_review(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        return json_response(self._review_json(repo, it, self._review(request, it)))

    async def create_review(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        body = await self._body(request)
        if body.get("comments"):
            raise ApiError(422, "Review comments on lines are not supported by the sandbox")
        r = await self.ops.submit_review(
            repo,
            it,
            self._actor(request),
            event=body.get("event"),
            body=body.get("body", ""),
            commit_id=body.get("commit_id"),
        )
        return json_response(self._review_json(repo, it, r))

    async def dismiss_review(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        r = self._review(request, it)
        body = await self._body(request)
        await self.ops.dismiss_review(repo, it, r, self._actor(request), body.get("message"))
        return json_response(self._review_json(repo, it, r))

    # --- review requests ---------------------------------------------------------------------

    async def list_requested(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        assert it.pull is not None
        urls = self._urls()
        return json_response(
            {
                "users": [shapes.account(a, urls) for a in it.pull.requested_reviewers],
                "teams": [si.team(t, urls) for t in it.pull.requested_teams],
            }
        )

    async def request_reviewers(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        body = await self._body(request)
        await self.ops.request_reviewers(
            repo,
            it,
            self._actor(request),
            _strings(body.get("reviewers"), "reviewers"),
            _strings(body.get("team_reviewers"), "team_reviewers"),
        )
        return json_response(self._simple(repo, it), 201)

    async def remove_requested(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        body = await self._body(request)
        await self.ops.remove_review_requests(
            repo,
            it,
            self._actor(request),
            _strings(body.get("reviewers"), "reviewers"),
            _strings(body.get("team_reviewers"), "team_reviewers"),
        )
        return json_response(self._simple(repo, it))

    # --- merging -----------------------------------------------------------------------------

    async def merge(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        body = await self._body(request)
        sha = await self.ops.merge_pr(
            repo,
            it,
            self._actor(request),
            method=body.get("merge_method", "merge"),
            sha=body.get("sha"),
            title=body.get("commit_title"),
            message=body.get("commit_message"),
        )
        return json_response(
            {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        )

    async def is_merged(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._pull(request, repo)
        assert it.pull is not None
        if it.pull.merged_at is None:
            raise ApiError(
                404, "Not Found", f"{DOCS_PULLS}#check-if-a-pull-request-has-been-merged"
            )
        return web.Response(status=204)
