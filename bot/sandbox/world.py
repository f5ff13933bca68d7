"""The sandbox's state: accounts, repositories, issues, PRs, labels, checks, releases, GHSAs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.clock import Clock, FakeClock
from bot.sandbox.git import GitRepo

DOCS = "https://docs.github.com/rest"
TOKEN_LIFETIME = 3600.0

AccountType = Literal["User", "Organization", "Bot"]
# A repository role, strongest first, as GitHub names them.
Role = Literal["admin", "maintain", "write", "triage", "read"]
ROLES: tuple[Role, ...] = ("admin", "maintain", "write", "triage", "read")


class ApiError(Exception):
    """An answer GitHub gives instead of what was asked: status, message, documentation."""

    def __init__(
        self,
        status: int,
        message: str,
        documentation_url: str = DOCS,
        *,
        headers: dict[str, str] | None = None,
        errors: list[Any] | None = None,
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


def validation_failed(
    documentation_url: str = DOCS, *errors: dict[str, Any], message: str = "Validation Failed"
) -> ApiError:
    """GitHub's 422: a message and a list of error objects (resource, field, code)."""
    return ApiError(422, message, documentation_url, errors=list(errors))


class ShiftedClock:
    """The sandbox's clock: the given one, moved forward by `advance` (see Sandbox.advance_clock).

    A FakeClock shared with the service is advanced itself, so both sides agree; any
    other clock (the real one in the demo) gets an offset the sandbox alone sees.
    """

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.offset = 0.0

    def time(self) -> float:
        return self.base.time() + self.offset

    def monotonic(self) -> float:
        return self.base.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)

    def advance(self, seconds: float) -> None:
        if isinstance(self.base, FakeClock):
            self.base.advance(seconds)
        else:
            self.offset += seconds


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
    # Issues and pull requests share one number sequence, as on GitHub.
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # by lower-cased name
    comments: dict[int, Comment] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    advisories: dict[str, Advisory] = field(default_factory=dict)  # by GHSA id
    statuses: list[Status] = field(default_factory=list)
    roles: dict[str, Role] = field(default_factory=dict)  # by lower-cased login

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

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
    # When the installation last changed (repositories added); its creation until then.
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        self.updated_at = max(self.updated_at, self.created_at)


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


@dataclass
class Label:
    """A repository's label; names are unique regardless of case."""

    id: int
    name: str
    color: str
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user: Account
    content: str
    created_at: float


@dataclass
class Comment:
    """An issue (or pull request) comment."""

    id: int
    issue_number: int
    user: Account
    body: str
    created_at: float
    updated_at: float
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class IssueEvent:
    """One entry of an issue's timeline that is not a comment or a review.

    `event` is GitHub's name (labeled, unlabeled, assigned, closed, renamed, ...);
    `data` holds what that kind carries (a label, an assignee, a rename, a commit).
    """

    id: int
    event: str
    actor: Account
    created_at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Review:
    """A pull request review; `state` is the REST spelling (APPROVED, CHANGES_REQUESTED, ...)."""

    id: int
    user: Account
    body: str
    state: str
    commit_id: str
    submitted_at: float | None


@dataclass
class Team:
    """An organization's team; members by lower-cased login, with their team role."""

    id: int
    org: Account
    slug: str
    name: str
    members: dict[str, tuple[Account, str]] = field(default_factory=dict)


@dataclass
class PullRequest:
    """What a pull request adds to its issue: the branches, reviews and merge state.

    The sandbox has no forks: head and base are branches of the same repository. Title,
    body, state, labels and assignees live on `issue`, as GitHub keeps them.
    """

    id: int
    number: int
    issue: Issue = field(repr=False, compare=False)
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged_at: float | None = None
    merged_by: Account | None = None
    merge_commit_sha: str | None = None
    requested_reviewers: list[Account] = field(default_factory=list)
    requested_teams: list[Team] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.issue.title

    @property
    def state(self) -> str:
        return self.issue.state

    @property
    def merged(self) -> bool:
        return self.merged_at is not None

    @property
    def labels(self) -> list[str]:
        return [label.name for label in self.issue.labels]


@dataclass
class Issue:
    """An issue, or the issue half of a pull request (`pull` set)."""

    id: int
    repository_id: int
    number: int
    title: str
    body: str | None
    user: Account
    created_at: float
    updated_at: float
    state: str = "open"
    state_reason: str | None = None
    labels: list[Label] = field(default_factory=list)
    assignees: list[Account] = field(default_factory=list)
    closed_at: float | None = None
    closed_by: Account | None = None
    locked: bool = False
    comment_ids: list[int] = field(default_factory=list)
    events: list[IssueEvent] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    pull: PullRequest | None = None

    def has_label(self, name: str) -> bool:
        return any(label.name.lower() == name.lower() for label in self.labels)


@dataclass
class ReleaseAsset:
    """A file attached to a release; the sandbox keeps its bytes (for size and digest)."""

    id: int
    name: str
    label: str | None
    content_type: str
    content: bytes = field(repr=False)
    uploader: Account
    created_at: float
    updated_at: float

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.content).hexdigest()


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    author: Account
    created_at: float
    published_at: float | None
    updated_at: float
    assets: list[ReleaseAsset] = field(default_factory=list)  # in upload order

    def asset(self, name: str) -> ReleaseAsset | None:
        return next((a for a in self.assets if a.name == name), None)


@dataclass
class AdvisoryVulnerability:
    """One affected package of a repository security advisory."""

    ecosystem: str
    package: str | None = None
    vulnerable_version_range: str | None = None
    patched_versions: str | None = None
    vulnerable_functions: list[str] = field(default_factory=list)


@dataclass
class Advisory:
    """A repository security advisory, as filed (drafts only: the sandbox never publishes)."""

    ghsa_id: str
    summary: str
    description: str
    author: Account
    created_at: float
    updated_at: float
    vulnerabilities: list[AdvisoryVulnerability] = field(default_factory=list)
    severity: str | None = None
    cvss_vector_string: str | None = None
    cvss_score: float | None = None
    cve_id: str | None = None
    cwe_ids: list[str] = field(default_factory=list)
    # (who is credited, as what: finder, reporter, ...)
    credits: list[tuple[Account, str]] = field(default_factory=list)
    state: str = "draft"


@dataclass
class Status:
    """A commit status (the older, writable-by-anyone-with-push sibling of check runs)."""

    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: Account
    created_at: float
    updated_at: float


@dataclass
class CheckSuite:
    """The suite GitHub groups one App's check runs on one commit into."""

    id: int
    repository_id: int
    app_id: int
    head_sha: str
    head_branch: str | None
    created_at: float
    updated_at: float
    # The conclusion last announced with check_suite completed (None: not announced).
    announced: str | None = None


class World:
    """Everything the sandbox knows, with GitHub's lookups and their 404s.

    Ids come from one counter shared by every kind of object, so a check-run id passed
    where a repository id belongs never finds anything by accident.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = ShiftedClock(clock)
        self._ids = itertools.count(1001)
        self.accounts: dict[str, Account] = {}
        self.repos: dict[str, Repository] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.suites: dict[int, CheckSuite] = {}
        self._suite_ids: dict[tuple[int, int, str], int] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        # Commits GitHub itself signed (API commits without an author, web merges).
        self.verified: set[str] = set()
        self.apps: dict[int, App] = {}
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

    # --- who may do what ------------------------------------------------------------------

    def role(self, repo: Repository, account: Account) -> Role | None:
        """The account's role on `repo`: set explicitly, or admin for a user's own repository."""
        if account is repo.owner:
            return "admin"
        return repo.roles.get(account.login.lower())

    def org_member(self, org: Account, account: Account) -> bool:
        return any(
            team.org is org and account.login.lower() in team.members
            for team in self.teams.values()
        )

    def author_association(self, repo: Repository, account: Account) -> str:
        if account is repo.owner:
            return "OWNER"
        if repo.owner.type == "Organization" and self.org_member(repo.owner, account):
            return "MEMBER"
        if account.login.lower() in repo.roles:
            return "COLLABORATOR"
        return "NONE"

    def team(self, org: str, slug: str) -> Team | None:
        return self.teams.get((org.lower(), slug.lower()))

    # --- the App and its installations ----------------------------------------------------

    def create_app(self, app_id: int, slug: str, public_key_pem: str) -> App:
        """Register the App: its owner, its `<slug>[bot]` account and its public key."""
        self._app = self._register_app(app_id, slug, public_key_pem)
        return self._app

    def _register_app(self, app_id: int, slug: str, public_key_pem: str) -> App:
        app = App(
            id=app_id,
            slug=slug,
            name=slug,
            owner=self.add_account(f"{slug}-owner", "Organization"),
            public_key_pem=public_key_pem,
            bot=self.add_account(f"{slug}[bot]", "Bot"),
            created_at=self.now(),
        )
        self.apps[app.id] = app
        return app

    def other_app(self, slug: str) -> App:
        """Another App on the same GitHub (a CI, say), registered on first mention."""
        for app in self.apps.values():
            if app.slug == slug:
                return app
        return self._register_app(self.next_id(), slug, "")

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

    def check_suite(
        self, repo: Repository, app_id: int, head_sha: str, head_branch: str | None = None
    ) -> CheckSuite:
        """One suite per App and commit, as GitHub makes them."""
        key = (repo.id, app_id, head_sha)
        found = self._suite_ids.get(key)
        if found is not None:
            return self.suites[found]
        now = self.now()
        suite = CheckSuite(self.next_id(), repo.id, app_id, head_sha, head_branch, now, now)
        self.suites[suite.id] = suite
        self._suite_ids[key] = suite.id
        return suite

    def check_suite_id(self, repo: Repository, app_id: int, head_sha: str) -> int:
        return self.check_suite(repo, app_id, head_sha).id

    def suite_runs(self, suite: CheckSuite) -> list[CheckRun]:
        return [run for run in self.check_runs.values() if run.check_suite_id == suite.id]

    def runs_for(self, repo: Repository, head_sha: str | None = None) -> list[CheckRun]:
        """Check runs of `repo` (on `head_sha`), oldest first."""
        return [
            run
            for run in self.check_runs.values()
            if run.repository_id == repo.id and (head_sha is None or run.head_sha == head_sha)
        ]
