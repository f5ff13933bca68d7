"""Who holds which LTS role: configured logins and teams, else repository permission, cached."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Collection, Hashable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, get_args
from urllib.parse import quote

import gidgethub
from cachetools import TTLCache

from bot.clock import Clock
from bot.config import ROLE_DEFAULT_PERMISSION, RoleName, RolesConfig
from bot.metrics import Counter, Metrics

if TYPE_CHECKING:
    from bot.github.client import GitHubPort

V = TypeVar("V")

Level = Literal["none", "read", "triage", "write", "maintain", "admin"]

ROLE_NAMES: Final[tuple[RoleName, ...]] = get_args(RoleName)

# Repository roles from least to most; "push" and "pull" are GitHub's older names.
_ORDER: Final[tuple[Level, ...]] = ("none", "read", "triage", "write", "maintain", "admin")
_RANK: Final[dict[str, int]] = {level: rank for rank, level in enumerate(_ORDER)}
_ALIASES: Final[dict[str, Level]] = {"push": "write", "pull": "read"}

# One counter per Metrics, however many Authorizers record into it.
_COUNTERS: weakref.WeakKeyDictionary[Metrics, Counter] = weakref.WeakKeyDictionary()


def _counter(metrics: Metrics) -> Counter:
    counter = _COUNTERS.get(metrics)
    if counter is None:
        counter = _COUNTERS[metrics] = metrics.registry.counter(
            "lts_bot_authz_lookups_total",
            "Permission and team-membership lookups, by kind and how they were answered "
            "(cache, shared with a request in flight, or a new request).",
            ("kind", "source"),
        )
    return counter


def _level(name: Any) -> Level | None:
    if not isinstance(name, str):
        return None
    name = _ALIASES.get(name.lower(), name.lower())
    return next((level for level in _ORDER if level == name), None)


def level_of(answer: Any) -> Level:
    """The repository role in a collaborator-permission answer.

    `role_name` tells triage from read and maintain from write; a custom role's name is
    not a level, so its base `permission` (admin, write, read, none) is used instead.
    """
    if not isinstance(answer, dict):
        return "none"
    return _level(answer.get("role_name")) or _level(answer.get("permission")) or "none"


def is_bot(login: str) -> bool:
    """Whether `login` is an App's bot account ("name[bot]"): bots never hold roles."""
    return login.lower().endswith("[bot]")


def _role_name(role: str) -> RoleName:
    for name in ROLE_NAMES:
        if name == role:
            return name
    raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLE_NAMES)})")


def describe(role: str, roles: RolesConfig) -> str:
    """Who holds `role`, for refusals: "@acme/triage or alice", or the default permission."""
    entries = [str(entry) for entry in roles.members(_role_name(role))]
    if not entries:
        return f"people with {ROLE_DEFAULT_PERMISSION[_role_name(role)]} permission or above"
    if len(entries) == 1:
        return entries[0]
    return f"{', '.join(entries[:-1])} or {entries[-1]}"


def _seg(value: str) -> str:
    return quote(value, safe="")


class Authorizer:
    """Answers which roles a user holds in a repository, from GitHub, cached per key.

    A permission answer is cached per (installation, repository, login) and a team
    membership per (installation, org, team, login) for `ttl` seconds of the clock's
    monotonic time. Concurrent lookups of one key share one request. Errors other than
    the 404s that mean "no" propagate and are not cached.
    """

    def __init__(
        self,
        *,
        metrics: Metrics | None = None,
        ttl: float = 300,
        maxsize: int = 10_000,
        clock: Clock,
    ) -> None:
        self._permissions: TTLCache[Hashable, Level] = TTLCache(maxsize, ttl, timer=clock.monotonic)
        self._memberships: TTLCache[Hashable, bool] = TTLCache(maxsize, ttl, timer=clock.monotonic)
        self._inflight: dict[Hashable, asyncio.Task[Any]] = {}
        self._counter = _counter(metrics) if metrics is not None else None
        self._generation = 0

    def clear(self) -> None:
        """Forget every cached answer (lookups in flight are not cached when they finish)."""
        self._generation += 1
        self._permissions.clear()
        self._memberships.clear()

    async def roles_of(
        self,
        gh: GitHubPort,
        owner: str,
        repo: str,
        login: str,
        roles: RolesConfig,
        *,
        only: Collection[str] | None = None,
    ) -> frozenset[str]:
        """The roles `login` holds in `owner/repo` under `roles` (the repository's config).

        A role with entries is held by the logins listed and active members of the teams
        listed; a role without is held from ROLE_DEFAULT_PERMISSION's level up. `only`
        limits the question to the roles the caller will look at: each role can cost a
        team-membership request, so asking about all six for every comment wastes calls.
        """
        if is_bot(login):
            return frozenset()
        held: set[str] = set()
        level: Level | None = None
        for role in ROLE_NAMES:
            if only is not None and role not in only:
                continue
            entries = roles.members(role)
            if not entries:
                if level is None:
                    level = await self.permission(gh, owner, repo, login)
                if _RANK[level] >= _RANK[ROLE_DEFAULT_PERMISSION[role]]:
                    held.add(role)
                continue
            if any(e.login is not None and e.login.lower() == login.lower() for e in entries):
                held.add(role)
                continue
            for entry in entries:
                if (
                    entry.org is not None
                    and entry.team is not None
                    and await self.is_member(gh, entry.org, entry.team, login)
                ):
                    held.add(role)
                    break
        return frozenset(held)

    async def permission(self, gh: GitHubPort, owner: str, repo: str, login: str) -> Level:
        """`login`'s repository role on `owner/repo`; "none" if not a collaborator."""
        key = ("permission", gh.raw.installation, owner.lower(), repo.lower(), login.lower())
        url = f"/repos/{_seg(owner)}/{_seg(repo)}/collaborators/{_seg(login)}/permission"

        async def fetch() -> Level:
            try:
                return level_of(await gh.get(url))
            except gidgethub.BadRequest as exc:
                if exc.status_code == 404:
                    return "none"
                raise

        return await self._cached(self._permissions, key, fetch)

    async def is_member(self, gh: GitHubPort, org: str, team: str, login: str) -> bool:
        """Whether `login` is an active member of `@org/team` (pending or absent is not)."""
        key = ("membership", gh.raw.installation, org.lower(), team.lower(), login.lower())
        url = f"/orgs/{_seg(org)}/teams/{_seg(team)}/memberships/{_seg(login)}"

        async def fetch() -> bool:
            try:
                answer = await gh.get(url)
            except gidgethub.BadRequest as exc:
                if exc.status_code == 404:
                    return False
                raise
            return isinstance(answer, dict) and answer.get("state") == "active"

        return await self._cached(self._memberships, key, fetch)

    async def _cached(
        self,
        cache: TTLCache[Hashable, V],
        key: tuple[str, ...],
        fetch: Callable[[], Awaitable[V]],
    ) -> V:
        kind = key[0]
        try:
            value = cache[key]
        except KeyError:
            pass
        else:
            self._count(kind, "cache")
            return value
        task = self._inflight.get(key)
        if task is None:
            self._count(kind, "request")
            task = asyncio.ensure_future(self._fill(cache, key, fetch, self._generation))
            self._inflight[key] = task
            # Retrieved here so a failure nobody waits for any more is not reported as lost.
            task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
        else:
            self._count(kind, "shared")
        # Shielded: one caller giving up must not cancel the request the others await.
        result: V = await asyncio.shield(task)
        return result

    async def _fill(
        self,
        cache: TTLCache[Hashable, V],
        key: tuple[str, ...],
        fetch: Callable[[], Awaitable[V]],
        generation: int,
    ) -> V:
        try:
            value = await fetch()
            if generation == self._generation:
                cache[key] = value
            return value
        finally:
            self._inflight.pop(key, None)

    def _count(self, kind: str, source: str) -> None:
        if self._counter is not None:
            self._counter.inc(kind, source)
