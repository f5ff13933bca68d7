"""What every REST route of the sandbox shares: the caller, JSON in and out, pages, lookups."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.ops import Ops
from bot.sandbox.shapes import Urls
from bot.sandbox.traffic import Actor
from bot.sandbox.world import Account, ApiError, Installation, Issue, Repository, World

_DOCS_COMMIT = "https://docs.github.com/rest/commits/commits#get-a-commit"


@dataclass(frozen=True)
class Caller:
    """Who made a request: an installation (token), the App (JWT) or nobody."""

    actor: Actor
    installation: Installation | None = None

    @property
    def budget(self) -> str:
        if self.installation is not None:
            return f"installation:{self.installation.id}"
        return self.actor


CALLER_KEY = web.RequestKey("sandbox_caller", Caller)
# The installation a token request was for (the caller is then the App, not it).
INSTALLATION_KEY = web.RequestKey("sandbox_installation", int)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def since_param(request: web.Request, documentation_url: str) -> float | None:
    """The `since` query parameter as epoch seconds (None: not given).

    GitHub documents `YYYY-MM-DDTHH:MM:SSZ` and also takes other ISO 8601 forms (a date, an
    offset, fractions); a time without an offset is UTC. Anything else is a 422.
    """
    raw = request.query.get("since", "").strip()
    if not raw:
        return None
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            422,
            "The since parameter needs to be in ISO 8601 format: YYYY-MM-DDTHH:MM:SSZ",
            documentation_url,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def paginate(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and the `Link` header GitHub would send with it."""
    per_page = min(max(int_param(request.query.get("per_page"), 30), 1), 100)
    page = max(int_param(request.query.get("page"), 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def link(n: int, rel: str) -> str:
        return f'<{request.url.update_query(page=n)}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    return chunk, ({"Link": ", ".join(links)} if links else {})


def page_response(
    request: web.Request, items: list[Any], render: Callable[[Any], Any]
) -> web.Response:
    chunk, headers = paginate(request, items)
    return json_response([render(item) for item in chunk], headers=headers)


class Routes:
    """A group of routes over the sandbox's World, with GitHub's lookups and their 404s."""

    def __init__(self, world: World, ops: Ops, urls: Callable[[], Urls]) -> None:
        self.world = world
        self.ops = ops
        self._urls = urls

    def register(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    @staticmethod
    def _who(request: web.Request) -> Caller:
        return request[CALLER_KEY]

    def _actor(self, request: web.Request) -> Account:
        """Who a write is attributed to: an installation token acts as the App's bot."""
        return self.world.app.bot

    def _repo(self, request: web.Request) -> Repository:
        """The repository in the path, if this installation may see it (else 404, as GitHub)."""
        caller = self._who(request)
        if caller.actor == "anonymous":
            # Sandbox repositories are all treated as private to the installation.
            raise ApiError(401, "Requires authentication")
        if caller.installation is None:
            raise ApiError(403, "Resource not accessible by integration")
        repo = self.world.repo(request.match_info["owner"], request.match_info["repo"])
        if repo.id not in caller.installation.repository_ids:
            raise ApiError(404, "Not Found")
        return repo

    def _issue(self, request: web.Request, repo: Repository, key: str = "issue_number") -> Issue:
        found = repo.issues.get(int_param(request.match_info[key], -1))
        if found is None:
            raise ApiError(
                404, "Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue"
            )
        return found

    def _pull(self, request: web.Request, repo: Repository) -> Issue:
        found = repo.issues.get(int_param(request.match_info["pull_number"], -1))
        if found is None or found.pull is None:
            raise ApiError(
                404, "Not Found", "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
            )
        return found

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        return data

    @staticmethod
    async def _refuse_if_empty(repo: Repository) -> None:
        if not await repo.git.branches():
            raise ApiError(409, "Git Repository is empty.")

    async def _commit_sha(self, repo: Repository, ref: str) -> str:
        sha = await repo.git.resolve(ref)
        if sha is None:
            await self._refuse_if_empty(repo)
            raise ApiError(422, f"No commit found for SHA: {ref}", _DOCS_COMMIT)
        return sha
