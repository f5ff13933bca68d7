"""The GitHub client and port: retries, rate limits, auth, ETags, paging, check runs, metrics."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import gidgethub
import httpx
import pytest
import respx
from structlog.testing import capture_logs

from bot.clock import FakeClock
from bot.decisions import CheckRunDecision
from bot.github.client import GitHubApp, RetryPolicy, endpoint_template
from bot.metrics import Metrics

if TYPE_CHECKING:
    from github_fixtures import TokenIssuer

# Loaded as a plugin, not imported, so pytest registers its fixtures and rewrites its asserts.
pytest_plugins = ["github_fixtures"]

API = "https://api.github.com"
APP_ID = 4242
SHA = "a" * 40


def make_app(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    clock: FakeClock,
    **kw: Any,
) -> GitHubApp:
    kw.setdefault("write_interval", 0)
    kw.setdefault("api_url", API)
    return GitHubApp(
        app_id=APP_ID,
        private_key_pem=private_key_pem,
        metrics=metrics,
        clock=clock,
        http=http_client,
        **kw,
    )


@pytest.fixture
def app(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    github_api: respx.MockRouter,
) -> GitHubApp:
    return make_app(private_key_pem, http_client, metrics, fake_clock)


def ok(body: Any = None, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


# --- endpoint templates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "template"),
    [
        ("https://api.github.com/repos/acme/widgets", "/repos/{owner}/{repo}"),
        (
            "https://api.github.com/repos/acme/widgets/issues/12/comments?per_page=100",
            "/repos/{owner}/{repo}/issues/{number}/comments",
        ),
        (
            "https://api.github.com/repos/acme/widgets/issues/comments/998877",
            "/repos/{owner}/{repo}/issues/comments/{id}",
        ),
        (
            "https://api.github.com/repos/acme/widgets/contents/.github/lts.yml?ref=main",
            "/repos/{owner}/{repo}/contents/{path}",
        ),
        (
            "https://api.github.com/app/installations/42/access_tokens",
            "/app/installations/{id}/access_tokens",
        ),
        (
            f"https://api.github.com/repos/a/b/commits/{SHA}/check-runs?check_name=x",
            "/repos/{owner}/{repo}/commits/{sha}/check-runs",
        ),
        ("https://api.github.com/repos/a/b/check-runs/7", "/repos/{owner}/{repo}/check-runs/{id}"),
        (
            "https://api.github.com/repos/a/b/git/refs/heads/release/1.x",
            "/repos/{owner}/{repo}/git/refs/{ref}",
        ),
        (
            "https://api.github.com/repos/a/b/branches/main/protection",
            "/repos/{owner}/{repo}/branches/{branch}/protection",
        ),
        (
            "https://api.github.com/repos/a/b/issues/3/labels/needs%20triage",
            "/repos/{owner}/{repo}/issues/{number}/labels/{name}",
        ),
        (
            "https://api.github.com/orgs/acme/teams/core/memberships/alice",
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
        ),
        (
            "https://api.github.com/repos/a/b/collaborators/alice/permission",
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
        ),
        (
            "https://api.github.com/repos/a/b/compare/main...dev",
            "/repos/{owner}/{repo}/compare/{basehead}",
        ),
        (
            "https://api.github.com/repos/a/b/pulls/5/reviews",
            "/repos/{owner}/{repo}/pulls/{number}/reviews",
        ),
        (
            f"https://api.github.com/repos/a/b/git/commits/{SHA}",
            "/repos/{owner}/{repo}/git/commits/{sha}",
        ),
        ("https://api.github.com/search/issues?q=repo:a/b", "/search/issues"),
        ("https://api.github.com/installation/repositories", "/installation/repositories"),
        ("https://ghe.example/api/v3/repos/a/b/pulls/1", "/repos/{owner}/{repo}/pulls/{number}"),
        ("http://127.0.0.1:8123/repos/a/b/issues/1", "/repos/{owner}/{repo}/issues/{number}"),
        ("https://api.github.com/weird/Some%20Value/9", "/weird/{param}/{id}"),
    ],
)
def test_endpoint_template_names_the_route_not_the_values(url: str, template: str) -> None:
    assert endpoint_template(url) == template


def test_endpoint_template_strips_a_custom_base_path() -> None:
    assert endpoint_template("http://h/gh/repos/a/b", "/gh") == "/repos/{owner}/{repo}"


# --- retries -------------------------------------------------------------------------


async def test_a_502_is_retried_and_the_retry_recorded(
    app: GitHubApp, github_api: respx.MockRouter, metrics: Metrics, fake_clock: FakeClock
) -> None:
    route = github_api.get("/repos/acme/widgets").mock(
        side_effect=[httpx.Response(502), ok({"full_name": "acme/widgets"})]
    )
    repo = await app.installation(1).get_repo("acme", "widgets")
    assert repo["full_name"] == "acme/widgets"
    assert route.call_count == 2
    assert metrics.github_retries.value("status_502") == 1
    assert len(fake_clock.sleeps) == 1
    assert 0 <= fake_clock.sleeps[0] <= 1.0


async def test_a_timed_out_get_is_retried(
    app: GitHubApp, github_api: respx.MockRouter, metrics: Metrics
) -> None:
    route = github_api.get("/repos/acme/widgets").mock(
        side_effect=[httpx.ReadTimeout("slow"), ok({"id": 1})]
    )
    assert (await app.installation(1).get_repo("acme", "widgets"))["id"] == 1
    assert route.call_count == 2
    assert metrics.github_retries.value("ReadTimeout") == 1
    assert metrics.github_calls.value("GET", "/repos/{owner}/{repo}", "transport_error") == 1


async def test_when_retries_run_out_gidgethub_raises_github_broken(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = github_api.get("/repos/acme/widgets").mock(return_value=httpx.Response(503))
    with pytest.raises(gidgethub.GitHubBroken):
        await app.installation(1).get_repo("acme", "widgets")
    assert route.call_count == 5
    assert len(fake_clock.sleeps) == 4
    for attempt, wait in enumerate(fake_clock.sleeps):
        assert 0 <= wait <= min(30.0, 2.0**attempt)


async def test_backoff_is_capped(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    github_api: respx.MockRouter,
) -> None:
    app = make_app(
        private_key_pem,
        http_client,
        metrics,
        fake_clock,
        retry=RetryPolicy(max_retries=8, backoff_base=1.0, backoff_cap=5.0),
    )
    github_api.get("/repos/acme/widgets").mock(return_value=httpx.Response(500))
    with pytest.raises(gidgethub.GitHubBroken):
        await app.installation(1).get_repo("acme", "widgets")
    assert len(fake_clock.sleeps) == 8
    assert max(fake_clock.sleeps) <= 5.0


async def test_a_patch_is_retried_after_a_502(app: GitHubApp, github_api: respx.MockRouter) -> None:
    route = github_api.patch("/repos/a/b/issues/comments/5").mock(
        side_effect=[httpx.Response(502), ok({"id": 5})]
    )
    assert (await app.installation(1).patch("/repos/a/b/issues/comments/5", {"body": "x"}))[
        "id"
    ] == 5
    assert route.call_count == 2


async def test_a_post_answered_502_is_not_repeated(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = github_api.post("/repos/a/b/issues/1/comments").mock(return_value=httpx.Response(502))
    with pytest.raises(gidgethub.GitHubBroken):
        await app.installation(1).post("/repos/a/b/issues/1/comments", {"body": "hi"})
    assert route.call_count == 1
    assert fake_clock.sleeps == []


async def test_a_post_that_timed_out_reading_is_not_repeated(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    route = github_api.post("/repos/a/b/issues/1/comments").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(httpx.ReadTimeout):
        await app.installation(1).post("/repos/a/b/issues/1/comments", {"body": "hi"})
    assert route.call_count == 1


async def test_a_post_that_never_connected_is_repeated(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    route = github_api.post("/repos/a/b/issues/1/comments").mock(
        side_effect=[httpx.ConnectError("refused"), ok({"id": 9}, 201)]
    )
    assert (await app.installation(1).post("/repos/a/b/issues/1/comments", {"body": "hi"}))[
        "id"
    ] == 9
    assert route.call_count == 2


async def test_a_post_declared_idempotent_is_repeated_after_a_502(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    route = github_api.post("/repos/a/b/git/refs").mock(
        side_effect=[httpx.Response(502), ok({"ref": "refs/heads/x"}, 201)]
    )
    data = {"ref": "refs/heads/x", "sha": SHA}
    assert (await app.installation(1).post("/repos/a/b/git/refs", data, idempotent=True))[
        "ref"
    ] == "refs/heads/x"
    assert route.call_count == 2


# --- rate limits ---------------------------------------------------------------------


async def test_a_403_with_retry_after_waits_that_long(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock, metrics: Metrics
) -> None:
    github_api.get("/repos/a/b").mock(
        side_effect=[
            ok(
                {"message": "You have exceeded a secondary rate limit."},
                403,
                **{"retry-after": "7"},
            ),
            ok({"id": 1}),
        ]
    )
    assert (await app.installation(1).get_repo("a", "b"))["id"] == 1
    assert fake_clock.sleeps == [7.0]
    assert metrics.github_retries.value("retry_after") == 1


async def test_a_429_without_headers_waits_at_least_a_minute_and_doubles(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    github_api.get("/repos/a/b").mock(
        side_effect=[httpx.Response(429), httpx.Response(429), ok({"id": 1})]
    )
    assert (await app.installation(1).get_repo("a", "b"))["id"] == 1
    assert fake_clock.sleeps[0] >= 60
    assert fake_clock.sleeps[1] >= 2 * fake_clock.sleeps[0]


async def test_a_403_mentioning_a_secondary_rate_limit_backs_off(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    github_api.get("/repos/a/b").mock(
        side_effect=[
            ok({"message": "You have exceeded a secondary rate limit."}, 403),
            ok({"id": 1}),
        ]
    )
    await app.installation(1).get_repo("a", "b")
    assert fake_clock.sleeps[0] >= 60


async def test_a_plain_403_is_not_retried(app: GitHubApp, github_api: respx.MockRouter) -> None:
    route = github_api.get("/repos/a/b").mock(
        return_value=ok({"message": "Resource not accessible by integration"}, 403)
    )
    with pytest.raises(gidgethub.BadRequest):
        await app.installation(1).get_repo("a", "b")
    assert route.call_count == 1


async def test_an_exhausted_primary_limit_waits_until_the_reset(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    reset = str(int(fake_clock.time()) + 120)
    github_api.get("/repos/a/b").mock(
        side_effect=[
            ok(
                {"message": "API rate limit exceeded"},
                403,
                **{
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": reset,
                },
            ),
            ok({"id": 1}),
        ]
    )
    await app.installation(1).get_repo("a", "b")
    assert len(fake_clock.sleeps) == 1
    assert 120 <= fake_clock.sleeps[0] <= 122


async def test_a_wait_longer_than_the_cap_raises_at_once(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    reset = str(int(fake_clock.time()) + 3600)
    route = github_api.get("/repos/a/b").mock(
        return_value=ok(
            {"message": "API rate limit exceeded"},
            403,
            **{
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": reset,
            },
        )
    )
    with pytest.raises(gidgethub.RateLimitExceeded):
        await app.installation(1).get_repo("a", "b")
    assert route.call_count == 1
    assert fake_clock.sleeps == []


async def test_a_retry_after_beyond_the_configured_cap_raises_at_once(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    github_api: respx.MockRouter,
) -> None:
    app = make_app(
        private_key_pem, http_client, metrics, fake_clock, retry=RetryPolicy(max_rate_limit_wait=5)
    )
    github_api.get("/repos/a/b").mock(return_value=ok({}, 429, **{"retry-after": "6"}))
    with pytest.raises(gidgethub.BadRequest) as err:
        await app.installation(1).get_repo("a", "b")
    assert err.value.status_code == 429
    assert fake_clock.sleeps == []


async def test_rate_limit_retries_are_capped(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = github_api.get("/repos/a/b").mock(return_value=ok({}, 429, **{"retry-after": "1"}))
    with pytest.raises(gidgethub.BadRequest):
        await app.installation(1).get_repo("a", "b")
    assert route.call_count == 5
    assert fake_clock.sleeps == [1.0] * 4


async def test_a_post_refused_by_a_rate_limit_is_repeated(
    app: GitHubApp, github_api: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = github_api.post("/repos/a/b/issues/1/comments").mock(
        side_effect=[httpx.Response(429), ok({"id": 3}, 201)]
    )
    assert (await app.installation(1).post("/repos/a/b/issues/1/comments", {"body": "hi"}))[
        "id"
    ] == 3
    assert route.call_count == 2
    assert fake_clock.sleeps[0] >= 60


async def test_writes_are_spaced_by_the_write_interval(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    github_api: respx.MockRouter,
) -> None:
    app = make_app(private_key_pem, http_client, metrics, fake_clock, write_interval=1.0)
    github_api.post("/repos/a/b/issues/1/labels").mock(return_value=ok([], 200))
    github_api.get("/repos/a/b").mock(return_value=ok({"id": 1}))
    port = app.installation(1)
    await port.post("/repos/a/b/issues/1/labels", {"labels": ["x"]})
    await port.get_repo("a", "b")
    await port.post("/repos/a/b/issues/1/labels", {"labels": ["y"]})
    assert fake_clock.sleeps == [1.0]


# --- auth ----------------------------------------------------------------------------


async def test_requests_carry_the_installation_token_and_api_version(
    app: GitHubApp, github_api: respx.MockRouter, token_issuer: TokenIssuer
) -> None:
    route = github_api.get("/repos/a/b").mock(return_value=ok({"id": 1}))
    await app.installation(7).get_repo("a", "b")
    request = route.calls.last.request
    assert request.headers["authorization"] == f"token {token_issuer.latest()}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == "lts-bot"


async def test_a_401_drops_the_token_and_retries_once_with_a_new_one(
    app: GitHubApp, github_api: respx.MockRouter, token_issuer: TokenIssuer
) -> None:
    route = github_api.get("/repos/a/b").mock(
        side_effect=[ok({"message": "Bad credentials"}, 401), ok({"id": 1})]
    )
    assert (await app.installation(1).get_repo("a", "b"))["id"] == 1
    first, second = (call.request.headers["authorization"] for call in route.calls)
    assert first != second
    assert second == f"token {token_issuer.latest()}"
    assert len(token_issuer.issued) == 2


async def test_a_second_401_is_raised(
    app: GitHubApp, github_api: respx.MockRouter, token_issuer: TokenIssuer
) -> None:
    route = github_api.get("/repos/a/b").mock(return_value=ok({"message": "Bad credentials"}, 401))
    with pytest.raises(gidgethub.BadRequest) as err:
        await app.installation(1).get_repo("a", "b")
    assert err.value.status_code == 401
    assert route.call_count == 2


async def test_the_app_port_authenticates_with_the_jwt(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    route = github_api.get("/app").mock(return_value=ok({"id": APP_ID}))
    assert (await app.app().get("/app"))["id"] == APP_ID
    assert route.calls.last.request.headers["authorization"].startswith("bearer eyJ")


async def test_ghes_base_urls_keep_their_path(
    private_key_pem: str,
    http_client: httpx.AsyncClient,
    metrics: Metrics,
    fake_clock: FakeClock,
    token_issuer: TokenIssuer,
) -> None:
    base = "https://ghe.example/api/v3"
    with respx.mock(base_url=base) as ghe:
        ghe.post(path__regex=r"/app/installations/(?P<installation_id>\d+)/access_tokens").mock(
            side_effect=token_issuer
        )
        route = ghe.get("/repos/a/b").mock(return_value=ok({"id": 1}))
        app = make_app(private_key_pem, http_client, metrics, fake_clock, api_url=base)
        await app.installation(1).get_repo("a", "b")
    assert route.calls.last.request.url == f"{base}/repos/a/b"
    assert metrics.github_calls.value("GET", "/repos/{owner}/{repo}", "200") == 1


async def test_retry_logs_never_carry_the_token(
    app: GitHubApp, github_api: respx.MockRouter, token_issuer: TokenIssuer
) -> None:
    github_api.get("/repos/a/b").mock(side_effect=[httpx.Response(502), ok({"id": 1})])
    with capture_logs() as logs:
        await app.installation(1).get_repo("a", "b")
    retries = [entry for entry in logs if entry["event"] == "github_retry"]
    assert retries
    assert retries[0]["reason"] == "status_502"
    assert retries[0]["endpoint"] == "/repos/{owner}/{repo}"
    assert token_issuer.latest() not in repr(logs)


# --- ETags, files, pagination ----------------------------------------------------------


def contents_route(github_api: respx.MockRouter, text: bytes, etag: str) -> respx.Route:
    body = {
        "type": "file",
        "path": ".github/lts.yml",
        "sha": "b" * 40,
        "size": len(text),
        "encoding": "base64",
        "content": base64.b64encode(text).decode(),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return ok(body, etag=etag)

    return github_api.get("/repos/a/b/contents/.github/lts.yml").mock(side_effect=answer)


async def test_a_304_is_answered_from_the_etag_cache(
    app: GitHubApp, github_api: respx.MockRouter, metrics: Metrics
) -> None:
    route = contents_route(github_api, b"branches: []\n", '"v1"')
    port = app.installation(1)
    first = await port.get_file("a", "b", ".github/lts.yml", ref="main")
    second = await port.get_file("a", "b", ".github/lts.yml", ref="main")
    assert first is not None
    assert second == first
    assert first.text == "branches: []\n"
    assert first.content == b"branches: []\n"
    assert "if-none-match" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["if-none-match"] == '"v1"'
    assert route.calls[0].request.url.params["ref"] == "main"
    template = "/repos/{owner}/{repo}/contents/{path}"
    assert metrics.github_calls.value("GET", template, "304") == 1


async def test_etag_caches_are_not_shared_between_installations(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    route = contents_route(github_api, b"x: 1\n", '"v1"')
    await app.installation(1).get_file("a", "b", ".github/lts.yml", ref="main")
    await app.installation(2).get_file("a", "b", ".github/lts.yml", ref="main")
    assert "if-none-match" not in route.calls[1].request.headers
    assert app.installation(1) is app.installation(1)


async def test_a_missing_file_is_none(app: GitHubApp, github_api: respx.MockRouter) -> None:
    github_api.get("/repos/a/b/contents/.github/lts.yml").mock(
        return_value=ok({"message": "Not Found"}, 404)
    )
    assert await app.installation(1).get_file("a", "b", ".github/lts.yml", ref="main") is None


async def test_a_large_file_is_read_through_the_blob_api(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    github_api.get("/repos/a/b/contents/big.txt").mock(
        return_value=ok(
            {
                "type": "file",
                "path": "big.txt",
                "sha": SHA,
                "size": 3,
                "encoding": "none",
                "content": "",
            }
        )
    )
    github_api.get(f"/repos/a/b/git/blobs/{SHA}").mock(
        return_value=ok({"encoding": "base64", "content": base64.b64encode(b"big").decode()})
    )
    file = await app.installation(1).get_file("a", "b", "big.txt")
    assert file is not None
    assert file.content == b"big"


async def test_iterate_follows_link_headers_100_at_a_time(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    page2 = f"{API}/repositories/1/issues?per_page=100&page=2"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return ok([{"number": 3}])
        return ok(
            [{"number": 1}, {"number": 2}], link=f'<{page2}>; rel="next", <{page2}>; rel="last"'
        )

    github_api.get("/repos/a/b/issues").mock(side_effect=answer)
    github_api.get("/repositories/1/issues").mock(side_effect=answer)
    port = app.installation(1)
    numbers = [
        item["number"] async for item in port.iterate("/repos/a/b/issues", params={"state": "open"})
    ]
    assert numbers == [1, 2, 3]
    first = github_api.calls[1].request
    assert first.url.params["per_page"] == "100"
    assert first.url.params["state"] == "open"


# --- check runs ----------------------------------------------------------------------


class FakeCheckRuns:
    """Just enough of the check-runs API to watch upsert_check_run's requests."""

    def __init__(self, github_api: respx.MockRouter) -> None:
        self.runs: list[dict[str, Any]] = []
        self.patches = 0
        self.posts = 0
        github_api.get(f"/repos/a/b/commits/{SHA}/check-runs").mock(side_effect=self.list)
        github_api.post("/repos/a/b/check-runs").mock(side_effect=self.create)
        github_api.patch(path__regex=r"/repos/a/b/check-runs/(?P<run_id>\d+)").mock(
            side_effect=self.update
        )

    def list(self, request: httpx.Request) -> httpx.Response:
        name = request.url.params["check_name"]
        runs = [r for r in self.runs if r["name"] == name]
        return ok({"total_count": len(runs), "check_runs": runs})

    def create(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        body = json.loads(request.content)
        run = {**body, "id": 100 + len(self.runs), "app": {"id": APP_ID}}
        self.runs.append(run)
        return ok(run, 201)

    def update(self, request: httpx.Request, run_id: str) -> httpx.Response:
        self.patches += 1
        run = next(r for r in self.runs if r["id"] == int(run_id))
        run.update(json.loads(request.content))
        return ok(run)


async def test_upsert_check_run_creates_then_leaves_it_alone_then_updates(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    fake = FakeCheckRuns(github_api)
    port = app.installation(1)
    decision = CheckRunDecision("lts/config", "success", "Config OK", "All good.")
    run_id, outcome = await port.upsert_check_run("a", "b", SHA, decision, app_id=APP_ID)
    assert outcome == "created"
    assert fake.runs[0]["status"] == "completed"
    assert fake.runs[0]["head_sha"] == SHA
    assert fake.runs[0]["output"] == {"title": "Config OK", "summary": "All good."}

    assert await port.upsert_check_run("a", "b", SHA, decision, app_id=APP_ID) == (
        run_id,
        "unchanged",
    )
    assert fake.patches == 0

    failing = CheckRunDecision("lts/config", "failure", "Config broken", "Line 3.", text="x")
    assert await port.upsert_check_run("a", "b", SHA, failing, app_id=APP_ID) == (run_id, "updated")
    assert fake.patches == 1
    assert fake.posts == 1
    assert fake.runs[0]["conclusion"] == "failure"
    assert fake.runs[0]["output"]["text"] == "x"


async def test_upsert_check_run_ignores_runs_of_other_apps(
    app: GitHubApp, github_api: respx.MockRouter
) -> None:
    fake = FakeCheckRuns(github_api)
    decision = CheckRunDecision("lts/config", "success", "Config OK", "All good.")
    fake.runs.append(
        {
            "id": 1,
            "name": "lts/config",
            "app": {"id": 1},
            "status": "completed",
            "conclusion": "success",
            "output": decision.output(),
        }
    )
    _, outcome = await app.installation(1).upsert_check_run("a", "b", SHA, decision, app_id=APP_ID)
    assert outcome == "created"


# --- metrics -------------------------------------------------------------------------


async def test_calls_and_rate_limit_remaining_are_recorded(
    app: GitHubApp, github_api: respx.MockRouter, metrics: Metrics
) -> None:
    github_api.get("/repos/a/b/issues/3").mock(
        return_value=ok(
            {"number": 3},
            200,
            **{
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4321",
                "x-ratelimit-reset": "1800000000",
                "x-ratelimit-resource": "core",
            },
        )
    )
    await app.installation(9).get("/repos/a/b/issues/3")
    assert metrics.github_calls.value("GET", "/repos/{owner}/{repo}/issues/{number}", "200") == 1
    assert metrics.rate_limit_remaining.value("9", "core") == 4321
    assert metrics.token_requests.value() == 1
