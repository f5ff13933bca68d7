"""The sandbox's state: accounts, repositories, the App, its installations, tokens, check runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.clock import Clock
from bot.sandbox.git import GitRepo

DOCS = "https://docs.github.com/rest"
TOKEN_LIFETIME = 3600.0

AccountType = Literal["User", "Organization", "Bot"]


class ApiError(Exception):
    """An answer GitHub gives instead of what was asked: status, message, documentation."""

    def __init__(
        self,
        status: int,
        message: str,
        documentation_url: str = DOCS,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.headers = headers or {}
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors is not None:
            out["errors"] = self.errors
        # GitHub added the status (as a string) to its error bodies in 2024.
        out["status"] = str(self.status)
        return out


def not_found(documentation_url: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", documentation_url)


def iso(epoch: float) -> str:
    """GitHub's timestamp format: UTC, whole seconds, `Z`."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    """A user, an organization, or a bot account."""

    login: str
    id: int
    type: AccountType
    name: str | None = None

    @property
    def email(self) -> str:
        # GitHub's private commit address: commits made with it map back to the account.
        return f"{self.id}+{self.login}@users.noreply.github.com"


@dataclass
class App:
    """The one GitHub App the sandbox hosts (the bot under test)."""

    id: int
    slug: str
    name: str
    owner: Account
    public_key_pem: str
    bot: Account
    created_at: float


@dataclass
class Repository:
    """A repository: metadata here, contents in a real bare git repository."""

    id: int
    owner: Account
    name: str
    default_branch: str
    private: bool
    git: GitRepo
    created_at: float
    pushed_at: float
    # Serializes ref updates, so two scenario steps never race on one branch.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class Installation:
    """The App installed on one account, for a selection of its repositories."""

    id: int
    account: Account
    repository_ids: list[int]
    created_at: float
    suspended: bool = False


@dataclass
class Token:
    """An installation access token."""

    value: str = field(repr=False)
    installation_id: int
    expires_at: float


@dataclass
class CheckRun:
    """A check run as the App last wrote it."""

    id: int
    repository_id: int
    head_sha: str
    name: str
    app_id: int
    check_suite_id: int
    status: str
    conclusion: str | None
    started_at: float
    completed_at: float | None
    output: dict[str, Any]
    details_url: str | None = None
    external_id: str | None = None
    annotations_count: int = 0


class World:
    """Everything the sandbox knows, with GitHub's lookups and their 404s.

    Ids come from one counter shared by every kind of object, so a check-run id passed
    where a repository id belongs never finds anything by accident.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._ids = itertools.count(1001)
        self.accounts: dict[str, Account] = {}
        self.repos: dict[str, Repository] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self._suites: dict[tuple[int, int, str], int] = {}
        self._app: App | None = None

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> float:
        return self.clock.time()

    # --- accounts -----------------------------------------------------------------------

    def add_account(self, login: str, kind: AccountType, name: str | None = None) -> Account:
        key = login.lower()
        if key in self.accounts:
            raise ValueError(f"account {login!r} exists already")
        account = Account(login=login, id=self.next_id(), type=kind, name=name)
        self.accounts[key] = account
        return account

    def account(self, login: str) -> Account:
        """An account declared up front; a typo in a scenario fails loudly here."""
        found = self.accounts.get(login.lower())
        if found is None:
            raise KeyError(f"no account {login!r}: declare it with add_user() first")
        return found

    def by_email(self, email: str) -> Account | None:
        for account in self.accounts.values():
            if account.email == email:
                return account
        return None

    # --- repositories -------------------------------------------------------------------

    def repo(self, owner: str, name: str) -> Repository:
        found = self.repos.get(f"{owner}/{name}".lower())
        if found is None:
            raise not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
        return found

    def repo_by_name(self, full_name: str) -> Repository:
        """A repository by `owner/name` for scenario code (KeyError, not a 404)."""
        found = self.repos.get(full_name.lower())
        if found is None:
            raise KeyError(f"no repository {full_name!r}: create it with create_repo() first")
        return found

    def repo_by_id(self, repo_id: int) -> Repository:
        return next(r for r in self.repos.values() if r.id == repo_id)

    # --- the App and its installations ----------------------------------------------------

    def create_app(self, app_id: int, slug: str, public_key_pem: str) -> App:
        """Register the App: its owner, its `<slug>[bot]` account and its public key."""
        self._app = App(
            id=app_id,
            slug=slug,
            name=slug,
            owner=self.add_account(f"{slug}-owner", "Organization"),
            public_key_pem=public_key_pem,
            bot=self.add_account(f"{slug}[bot]", "Bot"),
            created_at=self.now(),
        )
        return self._app

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the sandbox has no App: call create_app() first")
        return self._app

    def installation_for(self, repo: Repository) -> Installation | None:
        """The App's installation that covers `repo`, if any."""
        for inst in self.installations.values():
            if repo.id in inst.repository_ids:
                return inst
        return None

    def install(self, account: Account, repos: Iterable[Repository]) -> Installation:
        inst = Installation(
            id=self.next_id(),
            account=account,
            repository_ids=[r.id for r in repos],
            created_at=self.now(),
        )
        self.installations[inst.id] = inst
        return inst

    def issue_token(self, installation: Installation) -> Token:
        # GitHub's installation tokens start with "ghs_"; the rest is opaque.
        value = "ghs_" + secrets.token_hex(18)
        token = Token(value, installation.id, self.now() + TOKEN_LIFETIME)
        self.tokens[value] = token
        return token

    def token(self, value: str) -> Token | None:
        """A token that exists and has not expired."""
        token = self.tokens.get(value)
        if token is None or token.expires_at <= self.now():
            return None
        return token

    # --- checks -------------------------------------------------------------------------

    def check_suite_id(self, repo: Repository, app_id: int, head_sha: str) -> int:
        """One suite per App and commit, as GitHub makes them."""
        key = (repo.id, app_id, head_sha)
        suite = self._suites.get(key)
        if suite is None:
            suite = self._suites[key] = self.next_id()
        return suite

    def runs_for(self, repo: Repository, head_sha: str | None = None) -> list[CheckRun]:
        """Check runs of `repo` (on `head_sha`), oldest first."""
        return [
            run
            for run in self.check_runs.values()
            if run.repository_id == repo.id and (head_sha is None or run.head_sha == head_sha)
        ]
