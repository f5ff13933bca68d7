"""The sandbox's REST API over aiohttp: GitHub's routes, auth, ETags, rate limits and faults."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web

from bot.sandbox import shapes
from bot.sandbox.api_apps import AppsApi
from bot.sandbox.api_git import GitApi
from bot.sandbox.api_issues import IssuesApi
from bot.sandbox.api_pulls import PullsApi
from bot.sandbox.api_repos import ReposApi
from bot.sandbox.git import SHA, GitError
from bot.sandbox.ops import Ops
from bot.sandbox.rest import (
    CALLER_KEY,
    INSTALLATION_KEY,
    Caller,
    Routes,
    int_param,
    json_response,
    paginate,
)
from bot.sandbox.shapes import Urls
from bot.sandbox.traffic import Call, CallLog, Exchange, Faults, Hooks, RateLimits
from bot.sandbox.webhooks import Events, Outbox
from bot.sandbox.world import ApiError, App, CheckRun, Repository, World, iso

# GitHub refuses an App JWT that expires more than 10 minutes from now.
MAX_JWT_LIFETIME = 600
# Limits GitHub enforces on check runs (characters; annotations per request).
CHECK_TEXT_LIMIT = 65_535
MAX_ANNOTATIONS = 50

CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)

_DOCS_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"
_DOCS_CHECKS = "https://docs.github.com/rest/checks/runs"
_DOCS_TOKENS = (
    "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
)
_DOCS_JWT = (
    "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/"
    "generating-a-json-web-token-jwt-for-a-github-app"
)


def verify_app_jwt(token: str, app: App, now: float) -> None:
    """Check an App JWT as GitHub does: RS256 by the App's key, iat past, exp soon."""
    try:
        claims = jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            # Times are checked below against the sandbox's clock, not the machine's.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_iss": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError:
        raise ApiError(401, "A JSON web token could not be decoded", _DOCS_JWT) from None
    iat, exp, iss = claims.get("iat"), claims.get("exp"), claims.get("iss")
    if str(iss) != str(app.id):
        # GitHub finds the key by `iss`; another App's id means another key, so no match.
        raise ApiError(401, "A JSON web token could not be decoded", _DOCS_JWT)
    if not isinstance(iat, int) or iat > now:
        raise ApiError(
            401,
            "'Issued at' claim ('iat') must be an Integer representing a time in the past.",
            _DOCS_JWT,
        )
    if not isinstance(exp, int) or exp <= now:
        raise ApiError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires.",
            _DOCS_JWT,
        )
    if exp > now + MAX_JWT_LIFETIME:
        raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future", _DOCS_JWT)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RestApi(Routes):
    """GitHub's REST API over the sandbox's World: the request pipeline (auth, rate limits,
    faults, ETags, the call log), the App and check-run routes, and the other route groups.
    """

    def __init__(
        self,
        world: World,
        ops: Ops,
        outbox: Outbox,
        urls: Callable[[], Urls],
        calls: CallLog,
        faults: Faults,
        limits: RateLimits,
        hooks: Hooks | None = None,
    ) -> None:
        super().__init__(world, ops, urls)
        self.events: Events = ops.events
        self.outbox = outbox
        self.calls = calls
        self.faults = faults
        self.limits = limits
        self.hooks = hooks if hooks is not None else Hooks()
        # Exceptions the sandbox itself raised while answering (its bugs, not GitHub's).
        self.errors: list[Exception] = []
        # Called with every request and answer, e.g. by the contract check in tests.
        self.observers: list[Callable[[Exchange], None]] = []

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        groups: list[Routes] = [
            AppsApi(self.world, self.ops, self._urls),
            GitApi(self.world, self.ops, self._urls),
            IssuesApi(self.world, self.ops, self._urls),
            PullsApi(self.world, self.ops, self._urls),
            ReposApi(self.world, self.ops, self._urls, self.outbox, self.limits),
        ]
        # Groups first: their `/commits/{ref}/...` routes must win over `/commits/{ref}`.
        for group in groups:
            group.register(r)
        # Route templates are GitHub's (its OpenAPI names): they label the call log.
        repo = "/repos/{owner}/{repo}"
        r.add_post("/app/installations/{installation_id}/access_tokens", self.create_token)
        r.add_get(repo, self.get_repo)
        r.add_get(f"{repo}/contents", self.get_contents)
        r.add_get(f"{repo}/contents/{{path:.+}}", self.get_contents)
        r.add_get(f"{repo}/git/blobs/{{file_sha}}", self.get_blob)
        r.add_get(f"{repo}/commits/{{ref:.+}}/check-runs", self.list_check_runs)
        r.add_get(f"{repo}/commits/{{ref:.+}}", self.get_commit)
        r.add_post(f"{repo}/check-runs", self.create_check_run)
        r.add_get(f"{repo}/check-runs/{{check_run_id}}", self.get_check_run)
        r.add_patch(f"{repo}/check-runs/{{check_run_id}}", self.update_check_run)
        return app

    def register(self, router: web.UrlDispatcher) -> None:
        """The routes are added in make_app."""

    # --- the pipeline every request goes through ----------------------------------------

    def _caller(self, request: web.Request) -> Caller:
        """Authenticate; wrong credentials are a 401 on every route, as on GitHub."""
        header = request.headers.get("Authorization", "")
        if not header:
            return Caller("anonymous")
        scheme, _, credential = header.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() not in ("token", "bearer") or not credential:
            raise ApiError(401, "Bad credentials")
        if credential.count(".") == 2:
            verify_app_jwt(credential, self.world.app, self.world.now())
            return Caller("app")
        token = self.world.token(credential)
        if token is None:
            raise ApiError(401, "Bad credentials")
        return Caller("installation", self.world.installations[token.installation_id])

    async def _before(self, request: web.Request) -> bool:
        """Await the action of the test hook waiting for this request, if any.

        A test's "meanwhile" (a push while the bot is half-way through): it runs before
        anything else, the handler's locks included, so it may take a repository's lock.
        False if the action raised (kept in `errors`, as a sandbox bug would be).
        """
        hook = self.hooks.take(request.method, request.path)
        if hook is None:
            return True
        try:
            await hook.action()
        except Exception as exc:
            self.errors.append(exc)
            return False
        return True

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        endpoint = resource.canonical if resource is not None else request.path
        matched = resource is not None
        caller = Caller("anonymous")
        kind = "search" if request.path.startswith("/search/") else "core"
        hook_failed = not await self._before(request)
        fault = None if hook_failed else self.faults.take(request.method, request.path)
        if hook_failed:
            # The test's scenario step failed: answered as a sandbox bug, kept for the test.
            with contextlib.suppress(ApiError):
                caller = self._caller(request)
            response: web.StreamResponse = json_response(ApiError(500, "Server Error").body(), 500)
            spend = False
        elif fault is not None:
            # Faults answer before anything else, as a failing proxy or a limiter would;
            # the budget shown is still the caller's, as GitHub's limiter knows who asks.
            with contextlib.suppress(ApiError):
                caller = self._caller(request)
            if fault.delay:
                # A slow or hung upstream: a client with a shorter timeout gives up first.
                await asyncio.sleep(fault.delay)
            response = json_response(fault.answer_body(), fault.status)
            spend = False
        else:
            try:
                caller = self._caller(request)
                request[CALLER_KEY] = caller
                if self.limits.exhausted(caller.budget, kind):
                    raise self._rate_limited(caller)
                response = await handler(request)
            except ApiError as exc:
                response = json_response(exc.body(), exc.status, exc.headers)
            except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
                # GitHub answers an unknown route or method with a plain 404.
                response = json_response(ApiError(404, "Not Found").body(), 404)
            except web.HTTPException as exc:
                response = json_response(ApiError(exc.status, exc.reason).body(), exc.status)
            except Exception as exc:
                # A sandbox bug: answer like GitHub's 500 and keep it for the test to see.
                self.errors.append(exc)
                response = json_response(ApiError(500, "Server Error").body(), 500)
            response = self._conditional(request, response)
            # A 304 does not count against the primary rate limit, nor does asking for
            # the rate limit; everything else does.
            spend = response.status != 304 and request.path != "/rate_limit"
        if spend:
            self.limits.spend(caller.budget, kind)
        response.headers.update(self.limits.headers(caller.budget, kind))
        response.headers["x-github-request-id"] = uuid.uuid4().hex[:20].upper()
        response.headers["x-github-api-version-selected"] = "2022-11-28"
        if fault is not None:
            response.headers.update(fault.headers)
        installation = request.get(INSTALLATION_KEY)
        if caller.installation is not None:
            installation = caller.installation.id
        self.calls.append(
            Call(
                method=request.method,
                endpoint=endpoint,
                path=request.path,
                query=request.query_string,
                status=response.status,
                installation=installation,
                actor=caller.actor,
                injected=fault is not None,
            )
        )
        if self.observers:
            await self._notify(request, response, endpoint, matched, injected=fault is not None)
        return response

    async def _notify(
        self,
        request: web.Request,
        response: web.StreamResponse,
        endpoint: str,
        matched: bool,
        *,
        injected: bool,
    ) -> None:
        body = response.body if isinstance(response, web.Response) else None
        exchange = Exchange(
            method=request.method,
            endpoint=endpoint,
            path=request.path,
            query=request.query_string,
            request_body=await request.read() if request.body_exists else b"",
            status=response.status,
            response_body=body if isinstance(body, bytes) else b"",
            matched=matched,
            injected=injected,
        )
        for observe in self.observers:
            observe(exchange)

    def _rate_limited(self, caller: Caller) -> ApiError:
        if caller.installation is not None:
            who = f"installation ID {caller.installation.id}"
        else:
            who = "this client" if caller.actor == "anonymous" else "the App"
        return ApiError(
            403,
            f"API rate limit exceeded for {who}.",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        )

    @staticmethod
    def _conditional(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        """Give GET answers an ETag, and answer 304 when the client already has this one."""
        if request.method != "GET" or response.status != 200:
            return response
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response
        # Derived from the body, so the tag changes exactly when the answer does.
        etag = f'W/"{hashlib.sha256(response.body).hexdigest()[:40]}"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60"}
        wanted = request.headers.get("If-None-Match", "")
        if etag in (tag.strip() for tag in wanted.split(",")):
            return web.Response(status=304, headers=headers)
        response.headers.update(headers)
        return response

    # --- apps ---------------------------------------------------------------------------

    async def create_token(self, request: web.Request) -> web.Response:
        caller = self._who(request)
        if caller.actor != "app":
            raise ApiError(401, "A JSON web token could not be decoded", _DOCS_JWT)
        inst_id = int_param(request.match_info["installation_id"], -1)
        request[INSTALLATION_KEY] = inst_id
        inst = self.world.installations.get(inst_id)
        if inst is None:
            raise ApiError(404, "Not Found", _DOCS_TOKENS)
        if inst.suspended:
            raise ApiError(403, "This installation has been suspended", _DOCS_TOKENS)
        token = self.world.issue_token(inst)
        return json_response(
            {
                "token": token.value,
                "expires_at": iso(token.expires_at),
                "permissions": shapes.APP_PERMISSIONS,
                "repository_selection": "selected",
            },
            201,
        )

    # --- repositories and contents --------------------------------------------------------

    async def get_repo(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(shapes.repository(repo, self._urls()))

    async def get_contents(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        path = request.match_info.get("path", "").strip("/")
        ref = request.query.get("ref") or repo.default_branch
        sha = await repo.git.resolve(ref)
        if sha is None:
            await self._refuse_if_empty(repo)
            raise ApiError(404, f"No commit found for the ref {ref}", _DOCS_CONTENTS)
        entry = await repo.git.entry(sha, path)
        if entry is None:
            raise ApiError(404, "Not Found", _DOCS_CONTENTS)
        urls = self._urls()
        if entry.kind == "tree":
            listing = await repo.git.list_tree(sha, path)
            return json_response([shapes.contents_entry(repo, e, ref, urls) for e in listing])
        if entry.kind != "blob":
            return json_response(shapes.contents_entry(repo, entry, ref, urls))
        data = await repo.git.blob(entry.sha)
        return json_response(shapes.contents_file(repo, entry, data, ref, urls))

    async def get_blob(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = request.match_info["file_sha"]
        if not SHA.match(sha):
            raise ApiError(404, "Not Found")
        try:
            data = await repo.git.blob(sha)
        except GitError:
            raise ApiError(404, "Not Found") from None
        return json_response(shapes.blob(repo, sha, data, self._urls()))

    async def get_commit(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = await self._commit_sha(repo, request.match_info["ref"])
        info = await repo.git.commit_info(sha)
        files = await self.ops.diff(repo, info.parents[0] if info.parents else None, sha)
        return json_response(shapes.commit(repo, info, self.world, self._urls(), files))

    # --- check runs ---------------------------------------------------------------------

    @staticmethod
    async def _branch_at(repo: Repository, sha: str) -> str | None:
        """The branch a suite is for: one whose head is the commit, as GitHub records it."""
        heads = await repo.git.branches()
        if heads.get(repo.default_branch) == sha:
            return repo.default_branch
        return next((name for name, head in heads.items() if head == sha), None)

    def _run_json(self, run: CheckRun, repo: Repository) -> dict[str, Any]:
        return shapes.check_run(run, repo, self.world, self._urls())

    async def list_check_runs(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        sha = await self._commit_sha(repo, request.match_info["ref"])
        q = request.query
        runs = self.world.runs_for(repo, sha)
        if "check_name" in q:
            runs = [r for r in runs if r.name == q["check_name"]]
        if "status" in q:
            runs = [r for r in runs if r.status == q["status"]]
        if "app_id" in q:
            runs = [r for r in runs if str(r.app_id) == q["app_id"]]
        if q.get("filter", "latest") == "latest":
            # Only the most recent run of each name from each App.
            latest: dict[tuple[int, str], CheckRun] = {}
            for run in runs:
                latest[(run.app_id, run.name)] = run
            runs = list(latest.values())
        runs.sort(key=lambda r: r.id, reverse=True)
        page, headers = paginate(request, runs)
        body = {
            "total_count": len(runs),
            "check_runs": [self._run_json(r, repo) for r in page],
        }
        return json_response(body, headers=headers)

    def _find_run(self, request: web.Request, repo: Repository) -> CheckRun:
        run = self.world.check_runs.get(int_param(request.match_info["check_run_id"], -1))
        if run is None or run.repository_id != repo.id:
            raise ApiError(404, "Not Found", _DOCS_CHECKS)
        return run

    async def get_check_run(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(self._run_json(self._find_run(request, repo), repo))

    async def create_check_run(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        app = self.world.app
        for required in ("name", "head_sha"):
            if not isinstance(body.get(required), str) or not body[required]:
                raise _invalid(f'"{required}" wasn\'t supplied.')
        head_sha = body["head_sha"]
        if not SHA.match(head_sha) or await repo.git.resolve(head_sha) is None:
            raise ApiError(422, f"No commit found for SHA: {head_sha}", _DOCS_CHECKS)
        now = self.world.now()
        run = CheckRun(
            id=self.world.next_id(),
            repository_id=repo.id,
            head_sha=head_sha,
            name=body["name"],
            app_id=app.id,
            check_suite_id=self.world.check_suite(
                repo, app.id, head_sha, await self._branch_at(repo, head_sha)
            ).id,
            status="queued",
            conclusion=None,
            started_at=now,
            completed_at=None,
            output={},
        )
        _apply_check_fields(run, body, now, creating=True)
        self.world.check_runs[run.id] = run
        await self.ops.check_run_changed(run, "created")
        if run.status == "completed":
            # GitHub announces completion on its own, even for a run created complete.
            await self.ops.check_run_changed(run, "completed")
        return json_response(self._run_json(run, repo), 201)

    async def update_check_run(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        run = self._find_run(request, repo)
        body = await self._body(request)
        if "name" in body and (not isinstance(body["name"], str) or not body["name"]):
            raise _invalid('"name" must be a non-empty string.')
        completing = "conclusion" in body or body.get("status") == "completed"
        _apply_check_fields(run, body, self.world.now(), creating=False)
        if completing:
            await self.ops.check_run_changed(run, "completed")
        return json_response(self._run_json(run, repo))


def _invalid(detail: str) -> ApiError:
    return ApiError(422, f"Invalid request.\n\n{detail}", _DOCS_CHECKS)


def _apply_check_fields(run: CheckRun, body: dict[str, Any], now: float, *, creating: bool) -> None:
    """Validate a check-run body completely, then apply it: a 422 changes nothing."""
    status = body.get("status", run.status)
    conclusion = body.get("conclusion", run.conclusion)
    if status not in CHECK_STATUSES:
        raise _invalid(f'"{status}" is not a valid status.')
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise _invalid(f'"{conclusion}" is not a valid conclusion.')
    if "conclusion" in body and conclusion is not None:
        # Giving a conclusion completes the run, whatever the status says.
        status = "completed"
    if status == "completed" and conclusion is None:
        raise _invalid('"conclusion" wasn\'t supplied.')
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            raise _invalid("output must be an object.")
        needed = ("title", "summary") if creating else ("summary",)
        for key in needed:
            if not isinstance(output.get(key), str):
                raise _invalid(f'"{key}" wasn\'t supplied.')
        for key in ("title", "summary", "text"):
            value = output.get(key)
            if value is not None and not isinstance(value, str):
                raise _invalid(f'"{key}" must be a string.')
            if isinstance(value, str) and len(value) > CHECK_TEXT_LIMIT:
                raise _invalid(
                    f"Only {CHECK_TEXT_LIMIT} characters are allowed; {len(value)} were supplied."
                )
        annotations = output.get("annotations") or []
        if not isinstance(annotations, list) or len(annotations) > MAX_ANNOTATIONS:
            raise _invalid(f"Only {MAX_ANNOTATIONS} annotations are allowed per request.")
    if output is not None:
        # An update replaces title (when given), summary and text; annotations accumulate.
        run.output = {
            "title": output.get("title", run.output.get("title")),
            "summary": output["summary"],
            "text": output.get("text"),
        }
        run.annotations_count += len(output.get("annotations") or [])
    for key in ("name", "details_url", "external_id"):
        if key in body:
            setattr(run, key, body[key])
    was_completed = run.status == "completed"
    run.status = status
    run.conclusion = conclusion if status == "completed" else None
    if status == "completed" and (not was_completed or "conclusion" in body):
        run.completed_at = now
    elif status != "completed":
        run.completed_at = None
