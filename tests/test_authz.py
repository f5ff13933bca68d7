"""Roles end to end: the Authorizer asking the sandbox GitHub over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import gidgethub
import pytest

from bot.authz import ROLE_NAMES, Authorizer, describe, level_of
from bot.clock import FakeClock
from bot.config import RolesConfig
from bot.github.client import GitHubPort
from bot.sandbox import Sandbox
from bot.service import Bot

pytest_plugins = ["sandbox_fixtures"]

OWNER, NAME = "acme", "widgets"
REPO = f"{OWNER}/{NAME}"
PERMISSION = ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
MEMBERSHIP = ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
EVERY_ROLE = frozenset(ROLE_NAMES)
DEFAULTS = RolesConfig()


def roles(**entries: list[str]) -> RolesConfig:
    """A roles config by YAML names (release_manager -> release-manager)."""
    return RolesConfig.model_validate({k.replace("_", "-"): v for k, v in entries.items()})


# Every role configured, so no lookup falls back to the repository permission.
TEAMS = roles(
    triage=["@acme/triage", "alice"],
    reviewer=["@acme/reviewers"],
    qa=["@acme/qa"],
    release_manager=["@acme/leads"],
    security=["@acme/leads"],
    eng_lead=["@acme/leads"],
)


@pytest.fixture
async def gh(sandbox: Sandbox, bot: Bot) -> GitHubPort:
    """The bot's port for an installation on acme/widgets, with people and teams declared."""
    await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
    for login in ("bob", "carol", "dave"):
        sandbox.add_user(login)
    sandbox.add_team(OWNER, "triage", ["bob"])
    sandbox.add_team(OWNER, "reviewers", ["bob", "carol"])
    sandbox.add_team(OWNER, "qa", ["carol"])
    sandbox.add_team(OWNER, "leads", [])
    installation = sandbox.install([REPO])
    await sandbox.settle(bot)
    return bot.services.github.installation(installation)


@pytest.fixture
def authz(bot: Bot, sandbox_clock: FakeClock) -> Authorizer:
    return Authorizer(metrics=bot.services.metrics, clock=sandbox_clock)


class Calls:
    """Counts the permission and membership requests made since it was created."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._mark = len(sandbox.calls)

    def __call__(self, endpoint: tuple[str, str], status: int | None = None) -> int:
        return self._sandbox.calls.since(self._mark).count(*endpoint, status=status)

    def total(self) -> int:
        return len(self._sandbox.calls.since(self._mark))


async def roles_of(authz: Authorizer, gh: GitHubPort, login: str, config: RolesConfig) -> Any:
    return await authz.roles_of(gh, OWNER, NAME, login, config)


# --- configured entries -------------------------------------------------------------------


async def test_a_listed_login_holds_the_role_in_any_case_without_asking_github(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    calls = Calls(sandbox)
    config = roles(triage=["Alice"], reviewer=["bob"], **{k: ["carol"] for k in ROLE_NAMES[2:]})

    assert await roles_of(authz, gh, "ALICE", config) == {"triage"}
    assert calls(PERMISSION) == calls(MEMBERSHIP) == 0


async def test_active_team_members_hold_their_teams_roles_and_others_do_not(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    assert await roles_of(authz, gh, "bob", TEAMS) == {"triage", "reviewer"}
    assert await roles_of(authz, gh, "carol", TEAMS) == {"reviewer", "qa"}
    # dave is in no team: every membership answers 404.
    calls = Calls(sandbox)
    assert await roles_of(authz, gh, "dave", TEAMS) == frozenset()
    # triage, reviewers, qa, leads: each team asked once, though leads holds three roles.
    assert calls(MEMBERSHIP, status=404) == calls(MEMBERSHIP) == 4
    assert calls(PERMISSION) == 0


async def test_asking_about_some_roles_only_looks_those_up(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    calls = Calls(sandbox)
    held = await authz.roles_of(gh, OWNER, NAME, "dave", TEAMS, only={"triage"})
    assert held == frozenset()
    assert calls(MEMBERSHIP) == 1
    assert await authz.roles_of(gh, OWNER, NAME, "bob", TEAMS, only=set()) == frozenset()
    assert calls.total() == 1


async def test_a_pending_invitation_is_not_membership(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    # carol is an active member of qa; GitHub answers "pending" for an unaccepted invite.
    pending = sandbox.fail_next(
        "GET",
        r"/orgs/acme/teams/qa/memberships/carol$",
        status=200,
        body={"url": "https://api.github.com/x", "role": "member", "state": "pending"},
    )

    assert await roles_of(authz, gh, "carol", TEAMS) == {"reviewer"}
    assert pending.hits == 1


# --- the default: repository permission ----------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "held"),
    [
        ("admin", EVERY_ROLE),
        ("maintain", EVERY_ROLE),
        ("write", {"triage", "reviewer"}),
        ("triage", {"triage"}),
        ("read", set()),
        (None, set()),
    ],
)
async def test_unconfigured_roles_follow_the_repository_permission_with_one_request(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer, permission: Any, held: set[str]
) -> None:
    sandbox.set_permission(REPO, "bob", permission)
    calls = Calls(sandbox)

    assert await roles_of(authz, gh, "bob", DEFAULTS) == held
    assert calls(PERMISSION) == 1


async def test_configured_and_default_roles_mix(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    sandbox.set_permission(REPO, "carol", "write")

    # triage is configured (carol is not listed), reviewer falls back to write.
    assert await roles_of(authz, gh, "carol", roles(triage=["@acme/triage"])) == {"reviewer"}


async def test_an_unknown_user_is_a_404_and_holds_nothing(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    calls = Calls(sandbox)

    assert await roles_of(authz, gh, "ghost", DEFAULTS) == frozenset()
    assert calls(PERMISSION, status=404) == calls(PERMISSION) == 1


@pytest.mark.parametrize(
    ("answer", "level"),
    [
        ({"permission": "write", "role_name": "maintain"}, "maintain"),
        ({"permission": "read", "role_name": "triage"}, "triage"),
        ({"permission": "write", "role_name": "push"}, "write"),
        ({"permission": "read", "role_name": "pull"}, "read"),
        # A custom role: its name is no level, so its base permission counts.
        ({"permission": "write", "role_name": "security-engineer"}, "write"),
        ({"permission": "none", "role_name": "none"}, "none"),
        ({}, "none"),
    ],
)
def test_the_level_comes_from_role_name_then_permission(answer: Any, level: str) -> None:
    assert level_of(answer) == level


async def test_bots_hold_nothing_and_cost_no_request(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    calls = Calls(sandbox)

    assert await roles_of(authz, gh, "lts-bot[bot]", DEFAULTS) == frozenset()
    assert await roles_of(authz, gh, "Dependabot[BOT]", TEAMS) == frozenset()
    assert calls.total() == 0


# --- caching and single flight ---------------------------------------------------------------


async def test_answers_are_cached_for_the_ttl_then_asked_again(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer, sandbox_clock: FakeClock
) -> None:
    sandbox.set_permission(REPO, "carol", "write")
    config = roles(triage=["@acme/triage"])
    assert await roles_of(authz, gh, "carol", config) == {"reviewer"}

    calls = Calls(sandbox)
    sandbox.set_permission(REPO, "carol", "admin")
    sandbox_clock.advance(299)
    assert await roles_of(authz, gh, "carol", config) == {"reviewer"}
    assert calls(PERMISSION) == calls(MEMBERSHIP) == 0

    sandbox_clock.advance(2)
    assert await roles_of(authz, gh, "carol", config) == EVERY_ROLE - {"triage"}
    assert (calls(PERMISSION), calls(MEMBERSHIP)) == (1, 1)


async def test_one_cached_membership_serves_every_role_naming_the_team(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    calls = Calls(sandbox)

    await roles_of(authz, gh, "dave", TEAMS)
    await roles_of(authz, gh, "dave", TEAMS)
    assert calls(MEMBERSHIP) == 4


async def test_concurrent_lookups_of_one_key_share_one_request(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer, bot: Bot
) -> None:
    sandbox.set_permission(REPO, "bob", "write")
    calls = Calls(sandbox)

    answers = await asyncio.gather(*(roles_of(authz, gh, "bob", DEFAULTS) for _ in range(5)))
    teams = await asyncio.gather(*(roles_of(authz, gh, "carol", TEAMS) for _ in range(5)))

    assert answers == [{"triage", "reviewer"}] * 5
    assert teams == [{"reviewer", "qa"}] * 5
    assert calls(PERMISSION) == 1
    assert calls(MEMBERSHIP) == 4  # carol: triage and leads (404), reviewers, qa
    lookups = bot.services.metrics.registry.render()
    assert 'lts_bot_authz_lookups_total{kind="permission",source="shared"} 4' in lookups


async def test_a_caller_giving_up_does_not_cancel_the_shared_request(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    sandbox.set_permission(REPO, "bob", "admin")
    calls = Calls(sandbox)

    first = asyncio.create_task(roles_of(authz, gh, "bob", DEFAULTS))
    second = asyncio.create_task(roles_of(authz, gh, "bob", DEFAULTS))
    await asyncio.sleep(0)
    first.cancel()

    assert await second == EVERY_ROLE
    assert first.cancelled()
    assert calls(PERMISSION) == 1


async def test_errors_propagate_to_every_waiter_and_are_not_cached(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    sandbox.set_permission(REPO, "bob", "write")
    sandbox.fail_next(
        "GET",
        r"/collaborators/bob/permission$",
        status=403,
        body={"message": "Resource not accessible by integration"},
    )
    calls = Calls(sandbox)

    outcomes = await asyncio.gather(
        roles_of(authz, gh, "bob", DEFAULTS),
        roles_of(authz, gh, "bob", DEFAULTS),
        return_exceptions=True,
    )
    assert all(isinstance(o, gidgethub.BadRequest) and o.status_code == 403 for o in outcomes)

    assert await roles_of(authz, gh, "bob", DEFAULTS) == {"triage", "reviewer"}
    assert calls(PERMISSION) == 2


async def test_clear_forgets_answers_including_one_in_flight(
    sandbox: Sandbox, gh: GitHubPort, authz: Authorizer
) -> None:
    sandbox.set_permission(REPO, "bob", "write")
    calls = Calls(sandbox)

    in_flight = asyncio.create_task(roles_of(authz, gh, "bob", DEFAULTS))
    await asyncio.sleep(0)
    authz.clear()
    assert await in_flight == {"triage", "reviewer"}
    sandbox.set_permission(REPO, "bob", "admin")
    assert await roles_of(authz, gh, "bob", DEFAULTS) == EVERY_ROLE
    authz.clear()
    assert await roles_of(authz, gh, "bob", DEFAULTS) == EVERY_ROLE
    assert calls(PERMISSION) == 3


# --- describe ---------------------------------------------------------------------------------


def test_describe_names_who_holds_a_role() -> None:
    config = roles(triage=["@acme/triage", "alice"], qa=["@acme/qa", "bob", "@carol"])

    assert describe("triage", config) == "@acme/triage or alice"
    assert describe("qa", config) == "@acme/qa, bob or carol"
    assert describe("reviewer", config) == "people with write permission or above"
    assert describe("eng-lead", config) == "people with maintain permission or above"
    assert describe("triage", DEFAULTS) == "people with triage permission or above"
    with pytest.raises(ValueError, match="unknown role"):
        describe("janitor", config)
