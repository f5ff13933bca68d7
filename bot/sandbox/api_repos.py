"""REST routes: suites, statuses, permissions, teams, releases, advisories, limits, deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox import advisories, shapes
from bot.sandbox import shapes_issues as si
from bot.sandbox.ops import DOCS_RELEASES, Ops
from bot.sandbox.rest import Routes, int_param, json_response, paginate
from bot.sandbox.shapes import Urls
from bot.sandbox.traffic import RateLimits
from bot.sandbox.webhooks import Delivery, Outbox
from bot.sandbox.world import ApiError, Release, Repository, World, iso, not_found

_DOCS_PERMISSION = (
    "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"
)
_DOCS_TEAMS = "https://docs.github.com/rest/teams/members"
_DOCS_DELIVERIES = "https://docs.github.com/rest/apps/webhooks"
# What `permission` shows for each role: GitHub folds maintain into write, triage into read.
_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}
_RIGHTS = {
    "admin": ("admin", "maintain", "push", "triage", "pull"),
    "maintain": ("maintain", "push", "triage", "pull"),
    "write": ("push", "triage", "pull"),
    "triage": ("triage", "pull"),
    "read": ("pull",),
}


class ReposApi(Routes):
    """Check suites, commit statuses, who may do what, releases, advisories, the App's own."""

    def __init__(
        self,
        world: World,
        ops: Ops,
        urls: Callable[[], Urls],
        outbox: Outbox,
        limits: RateLimits,
    ) -> None:
        super().__init__(world, ops, urls)
        self.outbox = outbox
        self.limits = limits

    def register(self, router: web.UrlDispatcher) -> None:
        repo = "/repos/{owner}/{repo}"
        r = router
        r.add_get(f"{repo}/commits/{{ref:.+}}/check-suites", self.list_suites)
        r.add_get(f"{repo}/commits/{{ref:.+}}/status", self.combined_status)
        r.add_get(f"{repo}/commits/{{ref:.+}}/statuses", self.list_statuses)
        r.add_post(f"{repo}/statuses/{{sha}}", self.create_status)
        r.add_get(f"{repo}/collaborators/{{username}}/permission", self.permission)
        r.add_get("/orgs/{org}/teams/{team_slug}/memberships/{username}", self.membership)
        r.add_get("/orgs/{org}/teams/{team_slug}/members", self.team_members)
        r.add_get(f"{repo}/releases", self.list_releases)
        r.add_post(f"{repo}/releases", self.create_release)
        r.add_get(f"{repo}/releases/latest", self.latest_release)
        r.add_get(f"{repo}/releases/tags/{{tag:.+}}", self.release_by_tag)
        r.add_get(f"{repo}/releases/{{release_id}}", self.get_release)
        r.add_patch(f"{repo}/releases/{{release_id}}", self.update_release)
        r.add_post(f"{repo}/security-advisories", self.create_advisory)
        r.add_get("/rate_limit", self.rate_limit)
        r.add_get("/app/hook/deliveries", self.list_deliveries)
        r.add_post("/app/hook/deliveries/{delivery_id}/attempts", self.redeliver)

    # --- check suites and statuses ---------------------------------------------------------

    async def list_suites(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = await self._commit_sha(repo, request.match_info["ref"])
        suites = [
            s
            for s in self.world.suites.values()
            if s.repository_id == repo.id and s.head_sha == sha
        ]
        if "app_id" in request.query:
            suites = [s for s in suites if str(s.app_id) == request.query["app_id"]]
        if "check_name" in request.query:
            name = request.query["check_name"]
            suites = [s for s in suites if any(r.name == name for r in self.world.suite_runs(s))]
        head = await repo.git.commit_info(sha)
        urls = self._urls()
        page, headers = paginate(request, suites)
        body = {
            "total_count": len(suites),
            "check_suites": [
                shapes.check_suite(
                    s, repo, self.world.apps[s.app_id], self.world.suite_runs(s), head, urls
                )
                for s in page
            ],
        }
        return json_response(body, headers=headers)

    async def combined_status(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = await self._commit_sha(repo, request.match_info["ref"])
        latest = si.latest_statuses([s for s in repo.statuses if s.sha == sha])
        urls = self._urls()
        page, headers = paginate(request, latest)
        statuses = []
        for st in page:
            full = si.status(repo, st, urls)
            del full["creator"]  # the combined view lists `simple-commit-status`
            statuses.append(full)
        api = urls.repo(repo)
        body = {
            "state": si.combined_state(latest),
            "statuses": statuses,
            "sha": sha,
            "total_count": len(latest),
            "repository": shapes.minimal_repository(repo, urls),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }
        return json_response(body, headers=headers)

    async def list_statuses(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = await self._commit_sha(repo, request.match_info["ref"])
        found = sorted((s for s in repo.statuses if s.sha == sha), key=lambda s: s.id, reverse=True)
        urls = self._urls()
        page, headers = paginate(request, found)
        return json_response([si.status(repo, st, urls) for st in page], headers=headers)

    async def create_status(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        st = await self.ops.create_status(
            repo,
            request.match_info["sha"],
            self._actor(request),
            state=body.get("state"),
            context=body.get("context"),
            description=body.get("description"),
            target_url=body.get("target_url"),
        )
        return json_response(si.status(repo, st, self._urls()), 201)

    # --- who may do what ---------------------------------------------------------------------

    async def permission(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        who = self.world.accounts.get(request.match_info["username"].lower())
        if who is None or who.type == "Organization":
            raise not_found(_DOCS_PERMISSION)
        role = self.world.role(repo, who)
        if role is None and not repo.private:
            role = "read"
        urls = self._urls()
        user = shapes.account(who, urls)
        rights = _RIGHTS.get(role or "", ())
        user["permissions"] = {
            key: key in rights for key in ("admin", "maintain", "push", "triage", "pull")
        }
        user["role_name"] = role or "none"
        return json_response(
            {
                "permission": _PERMISSION.get(role or "", "none"),
                "role_name": role or "none",
                "user": user,
            }
        )

    def _team(self, request: web.Request) -> tuple[Any, Any]:
        caller = self._who(request)
        if caller.installation is None:
            raise ApiError(401, "Requires authentication")
        org = request.match_info["org"]
        # An installation sees its own organization's teams only.
        if caller.installation.account.login.lower() != org.lower():
            raise not_found(_DOCS_TEAMS)
        team = self.world.team(org, request.match_info["team_slug"])
        if team is None:
            raise not_found(_DOCS_TEAMS)
        return caller, team

    async def membership(self, request: web.Request) -> web.Response:
        _, team = self._team(request)
        login = request.match_info["username"]
        member = team.members.get(login.lower())
        if member is None:
            raise not_found(f"{_DOCS_TEAMS}#get-team-membership-for-a-user")
        account, role = member
        api = self._urls().api
        url = f"{api}/organizations/{team.org.id}/team/{team.id}/memberships/{account.login}"
        return json_response({"url": url, "role": role, "state": "active"})

    async def team_members(self, request: web.Request) -> web.Response:
        _, team = self._team(request)
        role = request.query.get("role", "all")
        members = [a for a, r in team.members.values() if role == "all" or r == role]
        urls = self._urls()
        page, headers = paginate(request, members)
        return json_response([shapes.account(a, urls) for a in page], headers=headers)

    # --- releases ------------------------------------------------------------------------------

    def _release_json(self, repo: Repository, rel: Release) -> dict[str, Any]:
        return si.release(repo, rel, self._urls())

    def _release(self, request: web.Request, repo: Repository) -> Release:
        found = repo.releases.get(int_param(request.match_info["release_id"], -1))
        if found is None:
            raise not_found(f"{DOCS_RELEASES}#get-a-release")
        return found

    async def list_releases(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        releases = sorted(repo.releases.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        page, headers = paginate(request, releases)
        return json_response([self._release_json(repo, r) for r in page], headers=headers)

    async def create_release(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        rel = await self.ops.create_release(
            repo,
            self._actor(request),
            tag_name=body.get("tag_name"),
            target_commitish=body.get("target_commitish"),
            name=body.get("name"),
            body=body.get("body"),
            draft=bool(body.get("draft", False)),
            prerelease=bool(body.get("prerelease", False)),
        )
        return json_response(self._release_json(repo, rel), 201)

    async def get_release(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(self._release_json(repo, self._release(request, repo)))

    async def update_release(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        rel = self._release(request, repo)
        body = await self._body(request)
        await self.ops.edit_release(repo, rel, self._actor(request), body)
        return json_response(self._release_json(repo, rel))

    async def latest_release(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        published = [r for r in repo.releases.values() if not r.draft and not r.prerelease]
        if not published:
            raise not_found(f"{DOCS_RELEASES}#get-the-latest-release")
        latest = max(published, key=lambda r: (r.created_at, r.id))
        return json_response(self._release_json(repo, latest))

    async def release_by_tag(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        tag = request.match_info["tag"]
        found = next((r for r in repo.releases.values() if r.tag_name == tag and not r.draft), None)
        if found is None:
            raise not_found(f"{DOCS_RELEASES}#get-a-release-by-tag-name")
        return json_response(self._release_json(repo, found))

    # --- security advisories ------------------------------------------------------------------

    async def create_advisory(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        adv = advisories.create_advisory(self.world, repo, self._actor(request), body)
        return json_response(advisories.advisory_json(repo, adv, self._urls()), 201)

    # --- the caller's own budget and the App's webhook deliveries --------------------------------

    async def rate_limit(self, request: web.Request) -> web.Response:
        caller = self._who(request)
        limits = self.limits
        core = limits.snapshot(caller.budget)
        search = limits.snapshot(caller.budget, "search")
        return json_response(
            {
                "resources": {"core": core, "search": search},
                "rate": core,
            }
        )

    def _deliveries(self) -> list[Delivery]:
        return [d for d in self.outbox.deliveries if d.delivered_at is not None]

    def _require_app(self, request: web.Request) -> None:
        if self._who(request).actor != "app":
            raise ApiError(
                401,
                "A JSON web token could not be decoded",
                "https://docs.github.com/rest/apps/webhooks",
            )

    async def list_deliveries(self, request: web.Request) -> web.Response:
        self._require_app(request)
        per_page = min(max(int_param(request.query.get("per_page"), 30), 1), 100)
        newest_first = sorted(self._deliveries(), key=lambda d: d.id, reverse=True)
        cursor = request.query.get("cursor")
        if cursor:
            newest_first = [d for d in newest_first if d.id < int_param(cursor, 0)]
        wanted = request.query.get("status")
        if wanted in ("success", "failure"):
            newest_first = [d for d in newest_first if _ok(d) == (wanted == "success")]
        page = newest_first[:per_page]
        headers = {}
        if len(newest_first) > per_page:
            # GitHub pages deliveries with a cursor, not page numbers.
            nxt = request.url.update_query(per_page=per_page, cursor=page[-1].id)
            headers["Link"] = f'<{nxt}>; rel="next"'
        return json_response([_delivery_item(d) for d in page], headers=headers)

    async def redeliver(self, request: web.Request) -> web.Response:
        self._require_app(request)
        wanted = int_param(request.match_info["delivery_id"], -1)
        found = next((d for d in self.outbox.deliveries if d.id == wanted), None)
        if found is None:
            raise not_found(f"{_DOCS_DELIVERIES}#redeliver-a-delivery-for-an-app-webhook")
        self.outbox.redeliver(found.guid)
        return json_response({}, 202)


def _ok(d: Delivery) -> bool:
    return d.status is not None and 200 <= d.status < 300


def _delivery_item(d: Delivery) -> dict[str, Any]:
    if d.status is None:
        status = d.error or "Connection failed"
    elif _ok(d):
        status = "OK"
    else:
        status = f"Invalid HTTP Response: {d.status}"
    return {
        "id": d.id,
        "guid": d.guid,
        "delivered_at": iso(d.delivered_at or 0),
        "redelivery": d.redelivery,
        "duration": round(d.duration, 3),
        "status": status,
        "status_code": d.status or 0,
        "event": d.event,
        "action": d.action,
        "installation_id": d.installation_id,
        "repository_id": d.repository_id,
        "throttled_at": None,
    }
