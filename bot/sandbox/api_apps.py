"""REST routes about the App's installations: the App's list (JWT), an installation's repos."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox import shapes
from bot.sandbox.rest import Routes, json_response, page_response, paginate, since_param
from bot.sandbox.world import ApiError

_DOCS_APPS = "https://docs.github.com/rest/apps/apps"
_DOCS_INSTALLATIONS = "https://docs.github.com/rest/apps/installations"
_DOCS_JWT = (
    "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/"
    "generating-a-json-web-token-jwt-for-a-github-app"
)


class AppsApi(Routes):
    """What the App (JWT) and an installation (token) may ask about installations."""

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/app/installations", self.list_installations)
        router.add_get("/installation/repositories", self.installation_repositories)

    async def list_installations(self, request: web.Request) -> web.Response:
        """The App's installations, oldest first; an App JWT only, as on GitHub."""
        if self._who(request).actor != "app":
            # An installation token or no credentials at all: GitHub wants the JWT here.
            raise ApiError(401, "A JSON web token could not be decoded", _DOCS_JWT)
        since = since_param(request, f"{_DOCS_APPS}#list-installations-for-the-authenticated-app")
        app = self.world.app
        found = sorted(self.world.installations.values(), key=lambda inst: inst.id)
        if since is not None:
            found = [inst for inst in found if int(inst.updated_at) >= since]
        # `outdated` (GitHub's flag for installations on old permissions) changes nothing:
        # the sandbox's installations always have the App's current permissions.
        urls = self._urls()
        return page_response(request, found, lambda inst: shapes.installation(inst, app, urls))

    async def installation_repositories(self, request: web.Request) -> web.Response:
        """The repositories the calling installation may use; an installation token only."""
        caller = self._who(request)
        if caller.actor == "anonymous":
            raise ApiError(401, "Requires authentication", _DOCS_INSTALLATIONS)
        if caller.installation is None:
            # The App's JWT is not an installation: GitHub refuses it here.
            raise ApiError(
                403,
                "Resource not accessible by integration",
                f"{_DOCS_INSTALLATIONS}#list-repositories-accessible-to-the-app-installation",
            )
        repos = sorted(
            (self.world.repo_by_id(rid) for rid in caller.installation.repository_ids),
            key=lambda repo: repo.id,
        )
        page, headers = paginate(request, repos)
        urls = self._urls()
        body = {
            "total_count": len(repos),
            "repository_selection": "selected",
            "repositories": [shapes.repository(repo, urls) for repo in page],
        }
        return json_response(body, headers=headers)
