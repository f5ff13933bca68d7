"""`lts/config` end to end: the real service against the sandbox GitHub, over real HTTP."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.sandbox import CheckRun, Sandbox
from bot.service import Bot
from bot.settings import load_settings

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
CONFIG = ".github/lts.yml"
CHECK = "lts/config"
VALID = 'lines:\n  - version: "1.4"\n    eol: 2027-06-30\n'
# Line 4 holds the bad value: the report must point there.
INVALID = VALID + "    phase: retired\n"
PROBLEM = (
    '.github/lts.yml:4: lines[0].phase: expected one of "maintenance", "security-only", '
    'got "retired"'
)

TOKEN = ("POST", "/app/installations/{installation_id}/access_tokens")
GET_REPO = ("GET", "/repos/{owner}/{repo}")
GET_COMMIT = ("GET", "/repos/{owner}/{repo}/commits/{ref}")
GET_CONTENTS = ("GET", "/repos/{owner}/{repo}/contents/{path}")
LIST_RUNS = ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
CREATE_RUN = ("POST", "/repos/{owner}/{repo}/check-runs")
UPDATE_RUN = ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")


@pytest.fixture
async def widgets(sandbox: Sandbox, bot: Bot) -> int:
    """acme/widgets without a config, the App installed on it and that install handled."""
    await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
    installation = sandbox.install([REPO])
    await sandbox.settle(bot)
    return installation


def only_run(sandbox: Sandbox, head: str) -> CheckRun:
    runs = sandbox.check_runs(REPO, head, name=CHECK)
    assert len(runs) == 1, runs
    return runs[0]


async def push(
    sandbox: Sandbox, bot: Bot, files: dict[str, str | None], branch: str = "main"
) -> str:
    pushed = await sandbox.push_commits(REPO, branch, files, message="Change", author="alice")
    await sandbox.settle(bot)
    return pushed.after


async def test_a_push_adding_a_valid_config_reports_success_on_the_pushed_head(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    head = await push(sandbox, bot, {CONFIG: VALID})

    run = only_run(sandbox, head)
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.output["title"] == "LTS configuration is valid"
    assert run.app_id == sandbox.app.id


async def test_a_push_breaking_the_config_reports_failure_naming_file_line_and_key(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    await push(sandbox, bot, {CONFIG: VALID})

    head = await push(sandbox, bot, {CONFIG: INVALID})

    run = only_run(sandbox, head)
    assert run.conclusion == "failure"
    assert run.output["title"] == "1 problem in .github/lts.yml"
    assert PROBLEM in run.output["summary"]


async def test_an_unrelated_push_keeps_reporting_the_invalid_config_on_the_new_head(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    broken = await push(sandbox, bot, {CONFIG: INVALID})

    head = await push(sandbox, bot, {"README.md": "unrelated\n"})

    assert only_run(sandbox, broken).conclusion == "failure"
    run = only_run(sandbox, head)
    assert run.conclusion == "failure"
    assert PROBLEM in run.output["summary"]


async def test_a_redelivered_push_is_processed_once(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    pushed = await sandbox.push_commits(REPO, "main", {CONFIG: VALID}, author="alice")
    await sandbox.settle(bot)
    assert pushed.delivery is not None
    mark = len(sandbox.calls)

    again = sandbox.redeliver(pushed.delivery.guid)
    await sandbox.settle(bot)

    assert again.status == 202
    assert '"duplicate"' in again.response
    assert len(sandbox.calls.since(mark)) == 0
    only_run(sandbox, pushed.after)


async def test_the_same_head_pushed_twice_updates_its_check_run_in_place(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    first = await sandbox.push_commits(REPO, "main", {CONFIG: VALID}, author="alice")
    await sandbox.settle(bot)
    assert first.delivery is not None
    original = only_run(sandbox, first.after)
    await push(sandbox, bot, {CONFIG: INVALID})
    mark = len(sandbox.calls)

    # The first push arrives again under a new delivery id (a retry, a second hook): by
    # now the default branch's config is broken, so its head's run turns to failure.
    sandbox.resend(first.delivery.guid)
    await sandbox.settle(bot)
    sandbox.resend(first.delivery.guid)
    await sandbox.settle(bot)

    run = only_run(sandbox, first.after)
    assert run.id == original.id
    assert run.conclusion == "failure"
    writes = sandbox.calls.since(mark).by_endpoint()
    # One edit in place; the second arrival finds the run already right and writes nothing.
    assert (writes[UPDATE_RUN], writes[CREATE_RUN]) == (1, 0)


async def test_a_push_to_another_branch_never_changes_the_policy(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    main = await push(sandbox, bot, {CONFIG: VALID})
    mark = len(sandbox.calls)

    head = await push(sandbox, bot, {CONFIG: INVALID}, branch="feature")

    assert sandbox.check_runs(REPO, head) == []
    assert only_run(sandbox, main).conclusion == "success"
    assert len(sandbox.calls.since(mark)) == 0


async def test_installing_on_a_repository_with_an_invalid_config_reports_failure(
    sandbox: Sandbox, bot: Bot
) -> None:
    await sandbox.create_repo(REPO, files={CONFIG: INVALID})

    sandbox.install([REPO])
    await sandbox.settle(bot)

    [delivery] = sandbox.deliveries_of("installation", "created")
    assert delivery.status == 202
    head = await sandbox.branch_head(REPO, "main")
    assert head is not None
    run = only_run(sandbox, head)
    assert run.conclusion == "failure"
    assert PROBLEM in run.output["summary"]


async def test_a_502_on_the_contents_call_is_retried_and_the_check_still_appears(
    sandbox: Sandbox, bot: Bot, widgets: int, sandbox_clock: FakeClock
) -> None:
    fault = sandbox.fail_next("GET", r"/contents/\.github/lts\.yml$", 502)
    mark = len(sandbox.calls)

    head = await push(sandbox, bot, {CONFIG: VALID})

    assert fault.hits == 1
    assert only_run(sandbox, head).conclusion == "success"
    contents = [
        c.status for c in sandbox.calls.since(mark) if (c.method, c.endpoint) == GET_CONTENTS
    ]
    assert contents == [502, 200]
    # The back-off was slept on the shared FakeClock, so it cost no real time.
    assert sandbox_clock.sleeps


async def test_what_one_config_report_costs_in_api_calls(sandbox: Sandbox, bot: Bot) -> None:
    await sandbox.create_repo(REPO, files={CONFIG: VALID})
    installation = sandbox.install([REPO])
    await sandbox.settle(bot)

    # Installing, from cold: one token for the installation (cached for the hour after),
    # the repository (for its default branch), that branch's head commit, the config file,
    # the head's existing lts/config runs (to edit rather than duplicate), and the create.
    assert sandbox.calls.by_endpoint() == {
        TOKEN: 1,
        GET_REPO: 1,
        GET_COMMIT: 1,
        GET_CONTENTS: 1,
        LIST_RUNS: 1,
        CREATE_RUN: 1,
    }
    assert sandbox.calls.by_installation() == {installation: 6}

    # A push that changes the file: the event names the head, and the token is cached, so
    # only the file, the lookup and the create remain.
    mark = len(sandbox.calls)
    await push(sandbox, bot, {CONFIG: VALID + "# tweaked\n"})
    assert sandbox.calls.since(mark).by_endpoint() == {GET_CONTENTS: 1, LIST_RUNS: 1, CREATE_RUN: 1}

    # An unrelated push while the file is valid costs one conditional read: the ETag
    # matches, GitHub answers 304 (free of rate limit) and nothing is reported.
    mark = len(sandbox.calls)
    await push(sandbox, bot, {"README.md": "unrelated\n"})
    calls = sandbox.calls.since(mark)
    assert [(c.method, c.endpoint, c.status) for c in calls] == [(*GET_CONTENTS, 304)]


async def test_a_timed_out_read_is_retried_and_the_check_still_appears(
    sandbox: Sandbox, env: dict[str, str], sandbox_clock: FakeClock
) -> None:
    settings = load_settings(
        {
            **env,
            "GITHUB_API_URL": sandbox.url,
            "LTS_BOT_WRITE_INTERVAL": "0",
            "LTS_BOT_HTTP_TIMEOUT": "0.3",
        }
    )
    service = Bot.build(settings, clock=sandbox_clock)
    port = await service.start("127.0.0.1", 0)
    sandbox.webhook_url = f"http://127.0.0.1:{port}/webhook"
    try:
        await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
        sandbox.install([REPO])
        await sandbox.settle(service)
        hung = sandbox.fail_next("GET", r"/contents/\.github/lts\.yml$", 200, delay=2.0)

        head = await push(sandbox, service, {CONFIG: VALID})

        assert hung.hits == 1
        assert only_run(sandbox, head).conclusion == "success"
        assert service.services.metrics.github_retries.value("ReadTimeout") == 1
    finally:
        await service.stop(grace=1)


async def test_a_failed_create_is_not_repeated_blindly_and_a_redelivery_finishes_it(
    sandbox: Sandbox, bot: Bot, widgets: int
) -> None:
    fault = sandbox.fail_next("POST", r"/check-runs$", 502)

    pushed = await sandbox.push_commits(REPO, "main", {CONFIG: VALID}, message="x", author="alice")
    await sandbox.settle(bot)

    # A 502 on a create may hide a run GitHub did make: the client does not resend it,
    # and the delivery is reported failed rather than guessed at.
    assert fault.hits == 1
    assert sandbox.check_runs(REPO, pushed.after, name=CHECK) == []
    assert bot.services.metrics.deliveries.value("push", "failed") == 1

    sandbox.redeliver(pushed.delivery.guid)
    await sandbox.settle(bot)

    assert only_run(sandbox, pushed.after).conclusion == "success"
