"""Sandbox.before_next: a scenario step that happens just before a request is handled."""

from __future__ import annotations

import httpx
from sandbox_helpers import REPO

from bot.sandbox import Sandbox
from bot.sandbox.sandbox import Push

pytest_plugins = ["sandbox_fixtures"]


async def test_the_action_runs_once_before_the_matching_request(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    topic = await sandbox.push_commits(REPO, "topic", {"t.txt": "t\n"}, author="bob")
    await sandbox.create_branch(REPO, "other", from_ref="topic", user="bob")
    pushes: list[Push] = []

    async def target_moves() -> None:
        # Takes the repository's lock, as POST /merges's handler does after it.
        pushes.append(await sandbox.push_commits(REPO, "main", {"m.txt": "m\n"}, author="carol"))

    hook = sandbox.before_next("POST", r"/merges$", target_moves)
    unrelated = await gh.get(f"/repos/{REPO}/commits")
    assert (hook.hits, pushes) == (0, [])

    merged = await gh.post(f"/repos/{REPO}/merges", json={"base": "main", "head": "topic"})
    again = await gh.post(f"/repos/{REPO}/merges", json={"base": "other", "head": "main"})

    assert unrelated.status_code == 200
    assert hook.hits == 1
    [moved] = pushes
    # The merge saw the branch as the action left it: its first parent is carol's push.
    assert merged.status_code == 201
    assert [p["sha"] for p in merged.json()["parents"]] == [moved.after, topic.after]
    assert again.status_code == 201
    assert len(pushes) == 1
    assert sandbox.calls.count("POST", "/repos/{owner}/{repo}/merges") == 2


async def test_times_any_method_and_first_declared_first_served(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    seen: list[str] = []

    async def note(label: str) -> None:
        seen.append(label)

    first = sandbox.before_next("*", r"/commits$", lambda: note("first"), times=2)
    second = sandbox.before_next("GET", r"/commits$", lambda: note("second"))

    for _ in range(4):
        assert (await gh.get(f"/repos/{REPO}/commits")).status_code == 200

    assert seen == ["first", "first", "second"]
    assert (first.hits, first.remaining, second.hits) == (2, 0, 1)


async def test_the_action_may_call_the_api_and_faults_apply_after_it(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    inner: list[int] = []

    async def look() -> None:
        # A request the action makes itself does not set the hook off again.
        inner.append((await gh.get(f"/repos/{REPO}/branches/main")).status_code)

    hook = sandbox.before_next("GET", r"/branches/", look)
    fault = sandbox.fail_next("GET", r"/branches/main$", 502)

    outer = await gh.get(f"/repos/{REPO}/branches/main")

    # The action's own request came first and took the fault; the hooked one was then
    # answered as usual.
    assert (hook.hits, fault.hits) == (1, 1)
    assert inner == [502]
    assert outer.status_code == 200


async def test_an_action_that_raises_is_a_sandbox_error_and_a_500(
    sandbox: Sandbox, gh: httpx.AsyncClient
) -> None:
    async def broken() -> None:
        raise RuntimeError("scenario step failed")

    sandbox.before_next("GET", r"^/repos/acme/widgets$", broken)

    answer = await gh.get(f"/repos/{REPO}")
    after = await gh.get(f"/repos/{REPO}")

    assert answer.status_code == 500
    assert after.status_code == 200
    [error] = sandbox.server_errors
    assert str(error) == "scenario step failed"
    sandbox.server_errors.clear()
