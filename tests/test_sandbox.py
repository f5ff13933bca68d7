"""The sandbox GitHub over real HTTP: App auth, contents, commits, check runs, pushes, faults."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import signature_matches
from bot.clock import FakeClock
from bot.sandbox import Sandbox
from tests.contract.checker import ContractChecker

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
README = "# widgets\n"


def git(bare: Path, *args: str) -> str:
    # The bare repository is what a `git clone` would see: ask git itself, not the sandbox.
    return subprocess.run(
        ["git", "-C", str(bare), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


class Receiver:
    """A webhook endpoint on a free port that records what arrives and answers 202."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/webhook"

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.json_response({"status": "accepted"}, status=202)

    def payloads(self, event: str) -> list[dict[str, Any]]:
        return [json.loads(body) for h, body in self.requests if h["X-GitHub-Event"] == event]


@pytest.fixture
async def receiver(sandbox: Sandbox) -> AsyncIterator[Receiver]:
    rec = Receiver()
    await rec.start()
    sandbox.webhook_url = rec.url
    yield rec
    assert rec.runner is not None
    await rec.runner.cleanup()


@pytest.fixture
async def installed(sandbox: Sandbox) -> int:
    """acme/widgets with a README on main, and the App installed on it."""
    await sandbox.create_repo(REPO, files={"README.md": README})
    return sandbox.install([REPO])


async def access_token(api: httpx.AsyncClient, installation: int, jwt: str) -> httpx.Response:
    return await api.post(
        f"/app/installations/{installation}/access_tokens",
        headers={"Authorization": f"Bearer {jwt}"},
    )


@pytest.fixture
async def auth(
    api: httpx.AsyncClient, installed: int, mint_jwt: Callable[..., str]
) -> dict[str, str]:
    """Headers carrying a fresh installation token for acme/widgets."""
    response = await access_token(api, installed, mint_jwt())
    return {"Authorization": f"token {response.json()['token']}"}


# --- App authentication ------------------------------------------------------------------


async def test_a_valid_app_jwt_gets_an_installation_token_that_lasts_an_hour(
    api: httpx.AsyncClient, installed: int, mint_jwt: Callable[..., str]
) -> None:
    response = await access_token(api, installed, mint_jwt())

    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("ghs_")
    assert body["expires_at"] == "2027-01-15T09:00:00Z"  # FakeClock starts 08:00:00 UTC
    repo = await api.get(f"/repos/{REPO}", headers={"Authorization": f"token {body['token']}"})
    assert repo.status_code == 200
    assert repo.json()["full_name"] == REPO


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (-3600.0, "'Expiration time' claim ('exp') must be a numeric value"),
        (600.0, "'Issued at' claim ('iat') must be an Integer representing a time in the past"),
    ],
    ids=["expired", "issued-in-the-future"],
)
async def test_an_app_jwt_outside_its_lifetime_is_refused(
    api: httpx.AsyncClient,
    installed: int,
    mint_jwt: Callable[..., str],
    shift: float,
    message: str,
) -> None:
    response = await access_token(api, installed, mint_jwt(shift))

    assert response.status_code == 401
    assert response.json()["message"].startswith(message)
    assert response.json()["documentation_url"].startswith("https://docs.github.com/")


async def test_an_app_jwt_signed_with_another_key_is_refused(
    api: httpx.AsyncClient, installed: int, mint_jwt: Callable[..., str]
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()

    response = await access_token(api, installed, mint_jwt(pem=pem))

    assert response.status_code == 401
    assert response.json()["message"] == "A JSON web token could not be decoded"


async def test_an_installation_token_cannot_mint_tokens(
    api: httpx.AsyncClient, installed: int, auth: dict[str, str]
) -> None:
    response = await api.post(f"/app/installations/{installed}/access_tokens", headers=auth)

    assert response.status_code == 401


async def test_unknown_and_expired_tokens_are_bad_credentials(
    api: httpx.AsyncClient, auth: dict[str, str], sandbox_clock: FakeClock
) -> None:
    unknown = await api.get(f"/repos/{REPO}", headers={"Authorization": "token ghs_nope"})
    sandbox_clock.advance(3600)
    expired = await api.get(f"/repos/{REPO}", headers=auth)

    for response in (unknown, expired):
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"


async def test_a_token_sees_only_its_installations_repositories(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await sandbox.create_repo("acme/private-gadgets", files={"a": "b"})

    assert (await api.get("/repos/acme/private-gadgets", headers=auth)).status_code == 404
    assert (await api.get(f"/repos/{REPO}")).status_code == 401


# --- contents and commits ----------------------------------------------------------------


async def test_contents_answer_base64_with_the_blob_sha_and_honour_etags(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    bare = sandbox.git_dir(REPO)

    first = await api.get(f"/repos/{REPO}/contents/README.md", headers=auth)
    again = await api.get(
        f"/repos/{REPO}/contents/README.md",
        headers={**auth, "If-None-Match": first.headers["ETag"]},
    )

    assert first.status_code == 200
    body = first.json()
    assert (body["type"], body["path"], body["encoding"]) == ("file", "README.md", "base64")
    assert base64.b64decode(body["content"]).decode() == README
    assert body["sha"] == git(bare, "rev-parse", "main:README.md")
    assert again.status_code == 304
    # A 304 is free: the budget GitHub reports does not move.
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]

    await sandbox.push_commits(REPO, "main", {"README.md": "changed\n"}, author="alice")
    changed = await api.get(
        f"/repos/{REPO}/contents/README.md",
        headers={**auth, "If-None-Match": first.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert base64.b64decode(changed.json()["content"]) == b"changed\n"


async def test_contents_of_a_missing_file_or_ref_are_not_found(
    api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    missing = await api.get(f"/repos/{REPO}/contents/.github/lts.yml", headers=auth)
    no_ref = await api.get(f"/repos/{REPO}/contents/README.md?ref=nope", headers=auth)

    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert missing.json()["documentation_url"].startswith("https://docs.github.com/rest/repos")
    assert no_ref.status_code == 404
    assert no_ref.json()["message"] == "No commit found for the ref nope"


async def test_an_empty_repository_answers_409_for_commits_and_contents(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str], installed: int
) -> None:
    await sandbox.create_repo("acme/empty")
    sandbox.install(["acme/empty"])

    commit = await api.get("/repos/acme/empty/commits/main", headers=auth)
    contents = await api.get("/repos/acme/empty/contents/README.md", headers=auth)

    assert (commit.status_code, contents.status_code) == (409, 409)
    assert commit.json()["message"] == "Git Repository is empty."


async def test_contents_of_a_directory_list_its_entries_at_a_ref(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    push = await sandbox.push_commits(
        REPO, "topic", {"docs/a.md": "a", "docs/sub/b.md": "b"}, author="alice"
    )

    listing = await api.get(f"/repos/{REPO}/contents/docs?ref={push.after}", headers=auth)

    assert [(e["type"], e["path"]) for e in listing.json()] == [
        ("file", "docs/a.md"),
        ("dir", "docs/sub"),
    ]
    on_main = await api.get(f"/repos/{REPO}/contents/docs", headers=auth)
    assert on_main.status_code == 404


async def test_a_commit_answers_its_sha_message_author_and_parents(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    before = await sandbox.branch_head(REPO, "main")
    push = await sandbox.push_commits(
        REPO, "main", {"x.txt": "x"}, message="Add x\n\nBecause.", author="alice"
    )

    by_branch = await api.get(f"/repos/{REPO}/commits/main", headers=auth)
    unknown = await api.get(f"/repos/{REPO}/commits/no-such-branch", headers=auth)

    commit = by_branch.json()
    assert commit["sha"] == push.after
    assert commit["commit"]["message"] == "Add x\n\nBecause."
    assert commit["commit"]["author"]["name"] == "alice"
    assert commit["author"]["login"] == "alice"
    assert [p["sha"] for p in commit["parents"]] == [before]
    assert unknown.status_code == 422
    assert unknown.json()["message"] == "No commit found for SHA: no-such-branch"


# --- check runs --------------------------------------------------------------------------


async def test_check_runs_are_created_updated_in_place_and_listed(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    assert head is not None
    created = await api.post(
        f"/repos/{REPO}/check-runs",
        headers=auth,
        json={"name": "lts/config", "head_sha": head, "status": "in_progress"},
    )
    run_id = created.json()["id"]
    patched = await api.patch(
        f"/repos/{REPO}/check-runs/{run_id}",
        headers=auth,
        json={"conclusion": "failure", "output": {"title": "Bad", "summary": "Very bad"}},
    )
    listed = await api.get(
        f"/repos/{REPO}/commits/{head}/check-runs",
        params={"check_name": "lts/config"},
        headers=auth,
    )
    await sandbox.settle()

    assert created.status_code == 201
    assert (created.json()["status"], created.json()["conclusion"]) == ("in_progress", None)
    assert patched.status_code == 200
    run = patched.json()
    assert (run["id"], run["status"], run["conclusion"]) == (run_id, "completed", "failure")
    assert run["output"]["title"] == "Bad"
    assert run["output"]["summary"] == "Very bad"
    assert run["app"]["id"] == sandbox.app.id
    assert run["app"]["slug"] == "lts-bot"
    assert run["head_sha"] == head
    assert listed.json()["total_count"] == 1
    assert listed.json()["check_runs"][0] == run
    events = receiver.payloads("check_run")
    assert [e["action"] for e in events] == ["created", "completed"]
    assert {(e["sender"]["login"], e["sender"]["type"]) for e in events} == {
        ("lts-bot[bot]", "Bot")
    }


async def test_check_run_requests_github_refuses_are_422(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str], contract: ContractChecker
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    # These requests break GitHub's published schema on purpose; the answers are still
    # checked against it.
    with contract.expect_invalid_requests():
        no_conclusion = await api.post(
            f"/repos/{REPO}/check-runs",
            headers=auth,
            json={"name": "c", "head_sha": head, "status": "completed"},
        )
        no_commit = await api.post(
            f"/repos/{REPO}/check-runs", headers=auth, json={"name": "c", "head_sha": "f" * 40}
        )
        too_long = await api.post(
            f"/repos/{REPO}/check-runs",
            headers=auth,
            json={
                "name": "c",
                "head_sha": head,
                "output": {"title": "t", "summary": "s" * 65_536},
            },
        )

    assert [r.status_code for r in (no_conclusion, no_commit, too_long)] == [422] * 3
    assert "conclusion" in no_conclusion.json()["message"]
    assert no_commit.json()["message"] == f"No commit found for SHA: {'f' * 40}"
    assert sandbox.check_runs(REPO) == []


async def test_check_run_lists_are_paginated_with_link_headers(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    head = await sandbox.branch_head(REPO, "main")
    for name in ("a", "b", "c"):
        await api.post(
            f"/repos/{REPO}/check-runs", headers=auth, json={"name": name, "head_sha": head}
        )

    first = await api.get(f"/repos/{REPO}/commits/main/check-runs?per_page=2", headers=auth)
    second = await api.get(first.links["next"]["url"], headers=auth)

    assert first.json()["total_count"] == 3
    assert [r["name"] for r in first.json()["check_runs"]] == ["c", "b"]
    assert [r["name"] for r in second.json()["check_runs"]] == ["a"]
    assert set(first.links) == {"next", "last"}
    assert set(second.links) == {"prev", "first"}


# --- pushes and webhooks -----------------------------------------------------------------


async def test_push_commits_makes_a_real_commit_and_a_signed_push_delivery(
    sandbox: Sandbox, installed: int, receiver: Receiver, env: dict[str, str]
) -> None:
    bare = sandbox.git_dir(REPO)
    before = git(bare, "rev-parse", "main")

    push = await sandbox.push_commits(
        REPO,
        "main",
        {"src/app.py": "print('hi')\n", "README.md": "new\n"},
        message="Add the app",
        author="alice",
    )
    await sandbox.settle()

    assert git(bare, "log", "--format=%H %P %an <%ae> %s", "-1", "main") == (
        f"{push.after} {before} alice <{sandbox.world.account('alice').email}> Add the app"
    )
    assert git(bare, "show", "main:src/app.py") == "print('hi')"
    assert git(bare, "fsck", "--strict") == ""
    [(headers, body)] = [(h, b) for h, b in receiver.requests if h["X-GitHub-Event"] == "push"]
    assert push.delivery is not None
    assert headers["X-GitHub-Delivery"] == push.delivery.guid
    assert signature_matches(
        env["GITHUB_WEBHOOK_SECRET"].encode(), body, headers["X-Hub-Signature-256"]
    )
    event = json.loads(body)
    assert (event["ref"], event["before"], event["after"]) == (
        "refs/heads/main",
        before,
        push.after,
    )
    assert (event["created"], event["deleted"], event["forced"]) == (False, False, False)
    [commit] = event["commits"]
    assert commit == event["head_commit"]
    assert commit["id"] == push.after
    assert commit["message"] == "Add the app"
    assert (commit["added"], commit["removed"], commit["modified"]) == (
        ["src/app.py"],
        [],
        ["README.md"],
    )
    assert commit["author"]["username"] == "alice"
    assert event["repository"]["full_name"] == REPO
    assert event["repository"]["default_branch"] == "main"
    assert event["repository"]["owner"]["login"] == "acme"
    assert event["installation"]["id"] == installed
    assert (event["sender"]["login"], event["sender"]["type"]) == ("alice", "User")
    assert [(d.event, d.status) for d in sandbox.deliveries if d.event == "push"] == [("push", 202)]


async def test_a_push_that_creates_a_branch_and_deletes_a_file(
    sandbox: Sandbox, installed: int, receiver: Receiver
) -> None:
    main = await sandbox.branch_head(REPO, "main")

    push = await sandbox.push_commits(REPO, "topic", {"README.md": None}, author="alice")
    await sandbox.settle()

    [event] = receiver.payloads("push")
    assert (event["created"], event["before"]) == (True, "0" * 40)
    assert event["head_commit"]["removed"] == ["README.md"]
    assert git(sandbox.git_dir(REPO), "rev-parse", "topic^") == main
    assert push.before is None
    with pytest.raises(ValueError, match="cannot delete missing files"):
        await sandbox.push_commits(REPO, "topic", {"README.md": None}, author="alice")


async def test_repositories_without_the_app_send_no_webhooks(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    await sandbox.create_repo("acme/elsewhere", files={"a": "b"})

    push = await sandbox.push_commits("acme/elsewhere", "main", {"a": "c"}, author="alice")
    await sandbox.settle()

    assert push.delivery is None
    assert receiver.requests == []


async def test_a_redelivery_keeps_the_delivery_id(
    sandbox: Sandbox, installed: int, receiver: Receiver
) -> None:
    push = await sandbox.push_commits(REPO, "main", {"a": "b"}, author="alice")
    assert push.delivery is not None

    again = sandbox.redeliver(push.delivery.guid)
    await sandbox.settle()

    ids = [h["X-GitHub-Delivery"] for h, _ in receiver.requests if h["X-GitHub-Event"] == "push"]
    assert ids == [push.delivery.guid, push.delivery.guid]
    assert again.redelivery
    assert again.status == 202


# --- faults and accounting ---------------------------------------------------------------


async def test_injected_faults_answer_as_told_then_stop(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    bad_gateway = sandbox.fail_next("GET", r"/contents/", 502)
    limited = sandbox.fail_next("*", r"^/repos/acme/widgets$", 403, headers={"retry-after": "7"})

    contents = [await api.get(f"/repos/{REPO}/contents/README.md", headers=auth) for _ in range(2)]
    repo = [await api.get(f"/repos/{REPO}", headers=auth) for _ in range(2)]

    assert [r.status_code for r in contents] == [502, 200]
    assert contents[0].json()["message"] == "Server Error"
    assert [r.status_code for r in repo] == [403, 200]
    assert repo[0].headers["retry-after"] == "7"
    assert "secondary rate limit" in repo[0].json()["message"]
    assert (bad_gateway.hits, limited.hits) == (1, 1)
    assert [c.injected for c in sandbox.calls[-4:]] == [True, False, True, False]
    # Every answer, failures included, tells the client where its budget stands.
    assert all("x-ratelimit-remaining" in r.headers for r in (*contents, *repo))


async def test_calls_are_counted_by_endpoint_and_installation(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str], installed: int
) -> None:
    mark = len(sandbox.calls)

    await api.get(f"/repos/{REPO}", headers=auth)
    await api.get(f"/repos/{REPO}/contents/README.md", headers=auth)
    await api.get(f"/repos/{REPO}/contents/nope.md", headers=auth)

    calls = sandbox.calls.since(mark)
    assert calls.by_endpoint() == {
        ("GET", "/repos/{owner}/{repo}"): 1,
        ("GET", "/repos/{owner}/{repo}/contents/{path}"): 2,
    }
    assert calls.by_installation() == {installed: 3}
    assert calls.count("GET", "/repos/{owner}/{repo}/contents/{path}", status=404) == 1
    # The token request is the App's own call, made for that installation.
    assert sandbox.calls.count("POST", "/app/installations/{installation_id}/access_tokens") == 1
    assert sandbox.calls[mark - 1].actor == "app"


async def test_an_installation_out_of_budget_gets_the_primary_rate_limit_403(
    sandbox: Sandbox, api: httpx.AsyncClient, auth: dict[str, str], installed: int
) -> None:
    sandbox.set_rate_limit_remaining(installed, 1)

    last = await api.get(f"/repos/{REPO}", headers=auth)
    refused = await api.get(f"/repos/{REPO}", headers=auth)

    assert last.status_code == 200
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert refused.status_code == 403
    assert refused.json()["message"] == f"API rate limit exceeded for installation ID {installed}."
    assert int(refused.headers["x-ratelimit-reset"]) > 0


async def test_settle_waits_for_every_delivery_to_be_answered(
    sandbox: Sandbox, receiver: Receiver, installed: int
) -> None:
    for n in range(5):
        await sandbox.push_commits(REPO, "main", {"n": str(n)}, author="alice")

    await sandbox.settle()

    assert sandbox.outbox.pending == 0
    assert len(receiver.requests) == 6  # the installation, then five pushes
    assert all(d.status == 202 for d in sandbox.deliveries)
