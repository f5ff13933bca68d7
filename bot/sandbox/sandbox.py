"""The Sandbox: an in-memory GitHub on a local port, with scenario steps tests drive it by."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from bot.clock import Clock, SystemClock
from bot.sandbox.git import GitRepo, Identity
from bot.sandbox.ops import Ops
from bot.sandbox.server import RestApi
from bot.sandbox.shapes import Urls
from bot.sandbox.traffic import CallLog, Exchange, Fault, Faults, Hook, Hooks, RateLimits
from bot.sandbox.webhooks import Delivery, Events, Outbox
from bot.sandbox.world import (
    ROLES,
    Account,
    Advisory,
    App,
    CheckRun,
    Comment,
    Issue,
    PullRequest,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Role,
    Status,
    Team,
    World,
)

_REPO_NAME = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
# Asset names GitHub keeps as given; it renames others (special characters, edge periods).
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?$")


class _Queue(Protocol):
    @property
    def depth(self) -> int: ...

    async def wait_idle(self) -> None: ...


class Service(Protocol):
    """What `settle` needs from a service under test (lts-bot's `Bot` fits)."""

    @property
    def queue(self) -> _Queue: ...


@dataclass(frozen=True)
class Push:
    """What a scenario push did: the branch's old and new head, and the webhook it sent.

    `delivery` is None when the App is not installed on the repository (no webhook).
    """

    ref: str
    before: str | None
    after: str
    delivery: Delivery | None


def _public_key(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


class Sandbox:
    """GitHub for one App, served over real HTTP on 127.0.0.1, backed by real git.

    Start it with `await Sandbox.start(...)`, point the service's API URL at `url` and the
    sandbox's `webhook_url` at the service, declare accounts, teams, permissions and
    repositories, then drive scenarios as people and other Apps would (`push_commits`,
    `open_issue`, `comment`, `open_pr`, `review`, `merge_pr`, `complete_check`,
    `publish_release`, `attach_release_asset`, `advance_clock`, ...): each sends the
    webhooks GitHub would, from that user. What the App does through the API comes back
    from `<slug>[bot]`. Assert on what happened: `issue`, `pull`, `labels_on`,
    `comments_on`, `check_runs`, `advisories`, `deliveries`, `calls`, and the bare
    repositories themselves (`git_dir`).
    """

    def __init__(
        self,
        *,
        world: World,
        secret: bytes,
        webhook_url: str | None,
        rate_limit: int,
        scratch: Path,
    ) -> None:
        self.world = world
        self.webhook_url = webhook_url
        self.url = ""
        self.calls = CallLog()
        self.faults = Faults()
        self.hooks = Hooks()
        self.limits = RateLimits(world.clock, rate_limit)
        self._scratch = scratch
        self.outbox = Outbox(
            secret=secret,
            url=lambda: self.webhook_url,
            app_id=world.app.id,
            hook_id=world.next_id(),
            clock=world.clock,
        )
        self.events = Events(world, self.outbox, self.urls)
        self.ops = Ops(world, self.events, self.urls)
        self._api = RestApi(
            world,
            self.ops,
            self.outbox,
            self.urls,
            self.calls,
            self.faults,
            self.limits,
            self.hooks,
        )
        self._runner: web.AppRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        *,
        app_id: int,
        webhook_secret: str | bytes,
        private_key_pem: str | None = None,
        public_key_pem: str | None = None,
        webhook_url: str | None = None,
        app_slug: str = "lts-bot",
        clock: Clock | None = None,
        rate_limit: int = 5000,
        port: int = 0,
    ) -> Sandbox:
        """Serve a sandbox on 127.0.0.1:`port` (0: a free one) for the App `app_id`.

        The App's JWTs are checked against `public_key_pem` (or the public half of
        `private_key_pem`); webhooks are signed with `webhook_secret`. Pass the service's
        clock so that token and JWT lifetimes agree with it.
        """
        if public_key_pem is None:
            if private_key_pem is None:
                raise ValueError("pass the App's public_key_pem or private_key_pem")
            public_key_pem = _public_key(private_key_pem)
        world = World(clock or SystemClock())
        world.create_app(app_id, app_slug, public_key_pem)
        secret = webhook_secret.encode() if isinstance(webhook_secret, str) else webhook_secret
        scratch = Path(tempfile.mkdtemp(prefix="lts-sandbox-"))
        sandbox = cls(
            world=world,
            secret=secret,
            webhook_url=webhook_url,
            rate_limit=rate_limit,
            scratch=scratch,
        )
        await sandbox._serve(port)
        return sandbox

    async def _serve(self, port: int) -> None:
        self._runner = web.AppRunner(self._api.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        # Loopback only: the sandbox accepts any repository and user it is told about.
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{bound}"
        self.outbox.start()

    async def stop(self) -> None:
        """Stop serving and sending, and delete the repositories."""
        await self.outbox.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.to_thread(shutil.rmtree, self._scratch, True)

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def urls(self) -> Urls:
        return Urls(api=self.url, html=self.url)

    @property
    def app(self) -> App:
        return self.world.app

    def observe(self, observer: Callable[[Exchange], None]) -> None:
        """Call `observer` with every request the sandbox answers and its answer."""
        self._api.observers.append(observer)

    @property
    def server_errors(self) -> list[Exception]:
        """Exceptions raised inside the sandbox while answering (answered as 500s)."""
        return self._api.errors

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery (and redelivery) in the order it was made."""
        return self.outbox.deliveries

    # --- declaring the world ------------------------------------------------------------

    def add_user(self, login: str, *, name: str | None = None) -> Account:
        return self.world.add_account(login, "User", name)

    def add_org(self, login: str, *, name: str | None = None) -> Account:
        return self.world.add_account(login, "Organization", name)

    async def create_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str | bytes] | None = None,
        private: bool = True,
    ) -> Repository:
        """Create `owner/name` (the owner becomes an organization unless declared a user).

        With `files`, the default branch starts with one commit holding them, authored by
        the owner; without, the repository is empty. Sends no webhook: this is the set-up
        the scenario starts from.
        """
        if not _REPO_NAME.match(full_name):
            raise ValueError(f"not a repository name: {full_name!r}")
        if full_name.lower() in self.world.repos:
            raise ValueError(f"repository {full_name!r} exists already")
        owner_login, name = full_name.split("/")
        try:
            owner = self.world.account(owner_login)
        except KeyError:
            owner = self.add_org(owner_login)
        repo_id = self.world.next_id()
        git = await GitRepo.init(self._scratch / f"{repo_id}.git", default_branch, self._scratch)
        now = self.world.now()
        repo = Repository(
            id=repo_id,
            owner=owner,
            name=name,
            default_branch=default_branch,
            private=private,
            git=git,
            created_at=now,
            pushed_at=now,
        )
        if files:
            who = self._identity(owner)
            sha = await git.commit_files(
                None,
                {path: _bytes(data) for path, data in files.items()},
                message="Initial commit",
                author=who,
                committer=who,
            )
            await git.update_ref(f"refs/heads/{default_branch}", sha, None)
        self.world.repos[full_name.lower()] = repo
        return repo

    def git_dir(self, repo: str) -> Path:
        """The bare repository behind `repo`, for `git -C` in tests."""
        return self.world.repo_by_name(repo).git.path

    def install(self, repos: Iterable[str], *, by: str | None = None) -> int:
        """Install the App on `repos` (one account's) and return the installation id.

        Sends `installation` created; installing again on the same account adds the
        repositories to that installation and sends `installation_repositories` added.
        """
        chosen = [self.world.repo_by_name(name) for name in repos]
        if not chosen:
            raise ValueError("install needs at least one repository")
        account = chosen[0].owner
        if any(r.owner is not account for r in chosen):
            raise ValueError("an installation belongs to one account: give one owner's repos")
        sender = self._installer(account, by)
        existing = next(
            (i for i in self.world.installations.values() if i.account is account), None
        )
        if existing is None:
            inst = self.world.install(account, chosen)
            self.events.installation(inst, "created", sender, chosen)
            return inst.id
        added = [r for r in chosen if r.id not in existing.repository_ids]
        existing.repository_ids += [r.id for r in added]
        if added:
            existing.updated_at = self.world.now()
            self.events.installation(existing, "added", sender, added)
        return existing.id

    def _installer(self, account: Account, by: str | None) -> Account:
        if by is not None:
            return self.world.account(by)
        if account.type == "User":
            return account
        users = [a for a in self.world.accounts.values() if a.type == "User"]
        if not users:
            raise ValueError("declare a user with add_user() (or pass by=) to install the App")
        return users[0]

    # --- scenario steps -----------------------------------------------------------------

    def _identity(self, who: Account) -> Identity:
        return Identity(name=who.name or who.login, email=who.email, time=int(self.world.now()))

    async def push_commits(
        self,
        repo: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        *,
        message: str = "Update files",
        author: str,
        from_ref: str | None = None,
    ) -> Push:
        """`author` pushes one commit to `branch` setting (text or bytes) or deleting (None) files.

        A branch that does not exist yet starts from `from_ref` (default: the default
        branch's head; nothing in an empty repository). Sends `push` (and `create` for a
        new branch) as GitHub does, and `pull_request` synchronize for open pull requests
        from that branch.
        """
        target = self.world.repo_by_name(repo)
        pusher = self.world.account(author)
        ref = f"refs/heads/{branch}"
        mark = len(self.outbox.deliveries)
        async with target.lock:
            before = await target.git.branch_head(branch)
            parent = before
            if parent is None:
                base = from_ref or target.default_branch
                parent = await target.git.resolve(base)
                if parent is None and from_ref is not None:
                    raise ValueError(f"{repo}: no commit {from_ref!r} to branch from")
            who = self._identity(pusher)
            sha = await target.git.commit_files(
                parent,
                {path: None if data is None else _bytes(data) for path, data in files.items()},
                message=message,
                author=who,
                committer=who,
            )
            changes = await target.git.changes(parent, sha)
            missing = [p for p, d in files.items() if d is None and p not in changes.removed]
            if missing:
                raise ValueError(f"{repo}@{branch}: cannot delete missing files {missing}")
            await self.ops.move_ref(target, ref, sha, before, pusher)
        return Push(ref=ref, before=before, after=sha, delivery=self._sent(mark, "push"))

    def _sent(self, mark: int, event: str) -> Delivery | None:
        """The first `event` delivery made since `len(deliveries)` was `mark`."""
        return next((d for d in self.outbox.deliveries[mark:] if d.event == event), None)

    async def create_branch(
        self, repo: str, branch: str, *, from_ref: str | None = None, user: str
    ) -> Push:
        """`user` pushes a new branch at `from_ref` (default: the default branch's head)."""
        target = self.world.repo_by_name(repo)
        pusher = self.world.account(user)
        mark = len(self.outbox.deliveries)
        async with target.lock:
            sha = await target.git.resolve(from_ref or target.default_branch)
            if sha is None:
                raise ValueError(f"{repo}: no commit {from_ref!r} to branch from")
            if await target.git.branch_head(branch) is not None:
                raise ValueError(f"{repo}: branch {branch!r} exists already")
            ref = f"refs/heads/{branch}"
            await self.ops.move_ref(target, ref, sha, None, pusher)
        return Push(ref=ref, before=None, after=sha, delivery=self._sent(mark, "push"))

    async def delete_branch(self, repo: str, branch: str, *, user: str) -> None:
        """`user` deletes `branch` (open pull requests from it are closed, as on GitHub)."""
        target = self.world.repo_by_name(repo)
        async with target.lock:
            head = await target.git.branch_head(branch)
            if head is None:
                raise ValueError(f"{repo}: no branch {branch!r}")
            await self.ops.move_ref(
                target, f"refs/heads/{branch}", None, head, self.world.account(user)
            )

    # --- people, teams and permissions -----------------------------------------------------

    def add_team(
        self,
        org: str,
        slug: str,
        members: Iterable[str] = (),
        *,
        maintainers: Iterable[str] = (),
        name: str | None = None,
    ) -> Team:
        """Declare a team of `org` (its users become organization members, as MEMBER shows)."""
        owner = self.world.accounts.get(org.lower()) or self.add_org(org)
        if owner.type != "Organization":
            raise ValueError(f"{org!r} is not an organization")
        key = (org.lower(), slug.lower())
        team = self.world.teams.get(key)
        if team is None:
            team = Team(self.world.next_id(), owner, slug.lower(), name or slug)
            self.world.teams[key] = team
        for login, role in [
            *((m, "member") for m in members),
            *((m, "maintainer") for m in maintainers),
        ]:
            account = self.world.account(login)
            team.members[account.login.lower()] = (account, role)
        return team

    def remove_from_team(self, org: str, slug: str, login: str) -> None:
        team = self.world.team(org, slug)
        if team is None:
            raise KeyError(f"no team {org}/{slug}")
        team.members.pop(login.lower(), None)

    def set_permission(self, repo: str, login: str, role: Role | None) -> None:
        """Give `login` a role on `repo` (admin, maintain, write, triage, read); None removes it."""
        if role is not None and role not in ROLES:
            raise ValueError(f"not a repository role: {role!r} (one of {', '.join(ROLES)})")
        target = self.world.repo_by_name(repo)
        account = self.world.account(login)
        if role is None:
            target.roles.pop(account.login.lower(), None)
        else:
            target.roles[account.login.lower()] = role

    # --- issues, comments, labels ----------------------------------------------------------

    def _issue(self, repo: str, number: int) -> tuple[Repository, Issue]:
        target = self.world.repo_by_name(repo)
        found = target.issues.get(number)
        if found is None:
            raise KeyError(f"{repo}: no issue or pull request #{number}")
        return target, found

    def issue(self, repo: str, number: int) -> Issue:
        """An issue or pull request as the sandbox holds it now (for assertions)."""
        return self._issue(repo, number)[1]

    def labels_on(self, repo: str, number: int) -> list[str]:
        return [lab.name for lab in self.issue(repo, number).labels]

    def comments_on(self, repo: str, number: int) -> list[Comment]:
        target, it = self._issue(repo, number)
        return [target.comments[cid] for cid in it.comment_ids]

    async def open_issue(
        self,
        repo: str,
        *,
        user: str,
        title: str,
        body: str = "",
        labels: Iterable[str] = (),
        assignees: Iterable[str] = (),
    ) -> Issue:
        """`user` opens an issue: issues opened, then labeled/assigned per label/assignee."""
        return await self.ops.open_issue(
            self.world.repo_by_name(repo),
            self.world.account(user),
            title=title,
            body=body,
            labels=list(labels),
            assignees=list(assignees),
        )

    async def edit_issue(
        self,
        repo: str,
        number: int,
        *,
        user: str,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        state_reason: str | None = None,
    ) -> Issue:
        """`user` edits an issue or pull request (title, body) or closes/reopens it."""
        target, it = self._issue(repo, number)
        actor = self.world.account(user)
        if it.pull is not None:
            return await self.ops.edit_pr(
                target, it, actor, title=title, body=body, body_given=body is not None, state=state
            )
        return await self.ops.edit_issue(
            target,
            it,
            actor,
            title=title,
            body=body,
            body_given=body is not None,
            state=state,
            state_reason=state_reason,
        )

    async def close_issue(
        self, repo: str, number: int, *, user: str, reason: str = "completed"
    ) -> Issue:
        return await self.edit_issue(repo, number, user=user, state="closed", state_reason=reason)

    async def reopen_issue(self, repo: str, number: int, *, user: str) -> Issue:
        return await self.edit_issue(repo, number, user=user, state="open")

    async def comment(self, repo: str, number: int, *, user: str, body: str) -> Comment:
        """`user` comments on an issue or pull request (issue_comment created)."""
        target, it = self._issue(repo, number)
        return await self.ops.add_comment(target, it, self.world.account(user), body)

    async def edit_comment(self, repo: str, comment_id: int, *, user: str, body: str) -> Comment:
        target = self.world.repo_by_name(repo)
        return await self.ops.edit_comment(
            target, target.comments[comment_id], self.world.account(user), body
        )

    async def delete_comment(self, repo: str, comment_id: int, *, user: str) -> None:
        target = self.world.repo_by_name(repo)
        await self.ops.delete_comment(target, target.comments[comment_id], self.world.account(user))

    def react(self, repo: str, comment_id: int, content: str, *, user: str) -> None:
        """`user` reacts to a comment (GitHub sends no webhook for reactions)."""
        target = self.world.repo_by_name(repo)
        self.ops.react(target.comments[comment_id].reactions, self.world.account(user), content)

    async def create_label(
        self,
        repo: str,
        name: str,
        *,
        color: str = "ededed",
        description: str | None = None,
        user: str,
    ) -> None:
        await self.ops.create_label(
            self.world.repo_by_name(repo),
            name,
            self.world.account(user),
            color=color,
            description=description,
        )

    async def add_labels(
        self, repo: str, number: int, labels: Iterable[str], *, user: str
    ) -> list[str]:
        """`user` adds labels (unknown ones are created, as GitHub does); returns all labels."""
        target, it = self._issue(repo, number)
        await self.ops.add_labels(target, it, list(labels), self.world.account(user))
        return [lab.name for lab in it.labels]

    async def remove_label(self, repo: str, number: int, label: str, *, user: str) -> list[str]:
        target, it = self._issue(repo, number)
        await self.ops.remove_label(target, it, label, self.world.account(user))
        return [lab.name for lab in it.labels]

    async def assign(self, repo: str, number: int, assignees: Iterable[str], *, user: str) -> None:
        target, it = self._issue(repo, number)
        await self.ops.add_assignees(target, it, list(assignees), self.world.account(user))

    async def unassign(
        self, repo: str, number: int, assignees: Iterable[str], *, user: str
    ) -> None:
        target, it = self._issue(repo, number)
        await self.ops.remove_assignees(target, it, list(assignees), self.world.account(user))

    # --- pull requests -------------------------------------------------------------------

    async def open_pr(
        self,
        repo: str,
        *,
        user: str,
        head: str,
        base: str | None = None,
        title: str,
        body: str = "",
        draft: bool = False,
    ) -> PullRequest:
        """`user` opens a pull request from `head` (a branch of `repo`: no forks) into `base`.

        Create the head branch with `push_commits` (or `create_branch`) first. The pull
        request's title, state and labels live on its `issue`, as GitHub keeps them.
        """
        target = self.world.repo_by_name(repo)
        it = await self.ops.open_pr(
            target,
            self.world.account(user),
            head=head,
            base=base or target.default_branch,
            title=title,
            body=body,
            draft=draft,
        )
        assert it.pull is not None
        return it.pull

    def pull(self, repo: str, number: int) -> PullRequest:
        """A pull request as the sandbox holds it now (for assertions)."""
        found = self.issue(repo, number)
        if found.pull is None:
            raise KeyError(f"{repo}#{number} is an issue, not a pull request")
        return found.pull

    async def ready_for_review(self, repo: str, number: int, *, user: str) -> None:
        target, it = self._issue(repo, number)
        await self.ops.ready_for_review(target, it, self.world.account(user))

    async def request_review(
        self,
        repo: str,
        number: int,
        reviewers: Iterable[str] = (),
        *,
        teams: Iterable[str] = (),
        user: str,
    ) -> None:
        target, it = self._issue(repo, number)
        await self.ops.request_reviewers(
            target, it, self.world.account(user), list(reviewers), list(teams)
        )

    async def review(
        self,
        repo: str,
        number: int,
        *,
        user: str,
        state: str = "APPROVE",
        body: str = "",
    ) -> Review:
        """`user` submits a review: state APPROVE, REQUEST_CHANGES or COMMENT."""
        target, it = self._issue(repo, number)
        return await self.ops.submit_review(
            target, it, self.world.account(user), event=state, body=body
        )

    async def dismiss_review(
        self, repo: str, number: int, review_id: int, *, user: str, message: str = "Dismissed"
    ) -> Review:
        target, it = self._issue(repo, number)
        assert it.pull is not None
        found = next(r for r in it.pull.reviews if r.id == review_id)
        return await self.ops.dismiss_review(target, it, found, self.world.account(user), message)

    async def merge_pr(
        self,
        repo: str,
        number: int,
        *,
        method: str = "merge",
        user: str,
    ) -> str:
        """`user` presses the merge button (merge, squash or rebase); returns the new base head."""
        target, it = self._issue(repo, number)
        return await self.ops.merge_pr(target, it, self.world.account(user), method=method)

    # --- checks, statuses, releases -------------------------------------------------------

    async def start_check(self, repo: str, sha: str, name: str, *, app: str = "ci") -> CheckRun:
        """Another App (`app`, e.g. a CI) starts a check run on `sha` (check_run created)."""
        return await self._check(repo, sha, name, app, conclusion=None)

    async def complete_check(
        self, repo: str, sha: str, name: str, conclusion: str = "success", *, app: str = "ci"
    ) -> CheckRun:
        """Another App completes a check run on `sha` (creating it if it did not start one):
        check_run completed, and check_suite completed once all its runs are done.
        """
        return await self._check(repo, sha, name, app, conclusion=conclusion)

    async def _check(
        self, repo: str, sha: str, name: str, slug: str, *, conclusion: str | None
    ) -> CheckRun:
        target = self.world.repo_by_name(repo)
        if slug == self.app.slug:
            raise ValueError("the App under test writes its own check runs through the API")
        other = self.world.other_app(slug)
        head = await target.git.resolve(sha)
        if head is None:
            raise ValueError(f"{repo}: no commit {sha!r}")
        now = self.world.now()
        run = next(
            (
                r
                for r in reversed(self.world.runs_for(target, head))
                if r.app_id == other.id and r.name == name and r.status != "completed"
            ),
            None,
        )
        if run is None:
            branches = await target.git.branches()
            branch = next((b for b, h in branches.items() if h == head), None)
            run = CheckRun(
                id=self.world.next_id(),
                repository_id=target.id,
                head_sha=head,
                name=name,
                app_id=other.id,
                check_suite_id=self.world.check_suite(target, other.id, head, branch).id,
                status="in_progress",
                conclusion=None,
                started_at=now,
                completed_at=None,
                output={"title": name, "summary": ""},
            )
            self.world.check_runs[run.id] = run
            await self.ops.check_run_changed(run, "created")
        if conclusion is not None:
            run.status = "completed"
            run.conclusion = conclusion
            run.completed_at = now
            run.output = {"title": f"{name}: {conclusion}", "summary": ""}
            await self.ops.check_run_changed(run, "completed")
        return run

    async def set_status(
        self,
        repo: str,
        sha: str,
        state: str,
        *,
        context: str = "default",
        description: str | None = None,
        target_url: str | None = None,
        user: str,
    ) -> Status:
        """`user` (or a CI acting as them) sets a commit status (status event)."""
        return await self.ops.create_status(
            self.world.repo_by_name(repo),
            sha,
            self.world.account(user),
            state=state,
            context=context,
            description=description,
            target_url=target_url,
        )

    async def publish_release(
        self,
        repo: str,
        tag: str,
        *,
        user: str,
        target: str | None = None,
        name: str | None = None,
        body: str = "",
        prerelease: bool = False,
        draft: bool = False,
    ) -> Release:
        """`user` publishes a release of `tag` (creating the tag at `target` if needed).

        An existing draft for `tag` is published; with `draft=True` a draft is saved.
        """
        target_repo = self.world.repo_by_name(repo)
        actor = self.world.account(user)
        existing = next((r for r in target_repo.releases.values() if r.tag_name == tag), None)
        if existing is not None and existing.draft and not draft:
            return await self.ops.edit_release(
                target_repo, existing, actor, {"draft": False, "prerelease": prerelease}
            )
        return await self.ops.create_release(
            target_repo,
            actor,
            tag_name=tag,
            target_commitish=target,
            name=name if name is not None else tag,
            body=body,
            draft=draft,
            prerelease=prerelease,
        )

    async def attach_release_asset(
        self,
        repo: str,
        tag: str,
        name: str,
        content: bytes = b"",
        *,
        user: str,
        content_type: str = "application/octet-stream",
        label: str | None = None,
    ) -> ReleaseAsset:
        """`user` uploads an asset to the release of `tag`, a draft or a published one.

        GitHub sends no webhook for an upload; the asset shows in every release JSON from
        then on (and in the `release` webhooks that follow, `published` included). A second
        asset of the same name is refused as GitHub refuses it: ApiError 422
        `already_exists`. Use a name GitHub keeps as it is (letters, digits, `.`, `_`, `-`,
        no period at either end): GitHub renames the others.
        """
        target = self.world.repo_by_name(repo)
        rel = next((r for r in target.releases.values() if r.tag_name == tag), None)
        if rel is None:
            raise KeyError(f"{repo}: no release of {tag!r}: create it with publish_release()")
        if not _ASSET_NAME.match(name):
            raise ValueError(f"GitHub would rename the asset {name!r}: give the name it keeps")
        return self.ops.attach_asset(
            rel,
            self.world.account(user),
            name,
            content,
            content_type=content_type,
            label=label,
        )

    # --- security advisories -----------------------------------------------------------------

    def advisories(self, repo: str) -> list[Advisory]:
        """The security advisories filed on `repo` (by the App, through the API), oldest first."""
        return list(self.world.repo_by_name(repo).advisories.values())

    # --- time ------------------------------------------------------------------------------

    def advance_clock(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> float:
        """Move the sandbox's clock forward and return the new time (epoch seconds).

        A FakeClock shared with the service moves for both (timestamps, token expiry and
        SLA reminders line up); any other clock gets an offset only the sandbox sees.
        """
        delta = days * 86400 + hours * 3600 + minutes * 60 + seconds
        if delta < 0:
            raise ValueError("the clock only moves forward")
        self.world.clock.advance(delta)
        return self.world.now()

    def redeliver(self, guid: str) -> Delivery:
        """Send a delivery again with the same GUID (GitHub's "Redeliver" button)."""
        return self.outbox.redeliver(guid)

    def resend(self, guid: str) -> Delivery:
        """Send a delivery's payload again under a new GUID (the same event seen twice)."""
        original = next(d for d in self.deliveries if d.guid == guid)
        return self.outbox.emit(original.event, original.payload)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next `times` requests whose method and path match with `status`.

        `path_regex` is searched in the request path (no query string); `method` "*"
        matches any. The default body is GitHub's for that status (a secondary rate
        limit for 403 and 429). `delay` holds the answer back that many real seconds:
        longer than the client's timeout, the client sees a timeout. The returned Fault
        counts its `hits`.
        """
        return self.faults.add(
            Fault(
                method=method.upper(),
                path=re.compile(path_regex),
                status=status,
                times=times,
                headers=dict(headers or {}),
                body=body,
                delay=delay,
            )
        )

    def before_next(
        self,
        method: str,
        path_regex: str,
        action: Callable[[], Awaitable[object]],
        times: int = 1,
    ) -> Hook:
        """Await `action()` before each of the next `times` requests whose method and path
        match is handled; then handle the request as usual (a `fail_next` fault included).

        For "meanwhile" scenarios, e.g. the target branch moves while the bot is half-way
        through a cherry-pick::

            sandbox.before_next(
                "POST", r"/merges$",
                lambda: sandbox.push_commits(repo, "release-1.x", {...}, author="bob"),
            )

        Matching is fail_next's: `path_regex` is searched in the request path (no query
        string), `method` "*" matches any, and the first hook declared that matches takes
        the request (one hook per request). The action runs before the request's handler
        takes any lock, so it may call scenario steps that take the repository's lock; it
        may even call the sandbox's API (the hit is counted before it runs, so its own
        requests do not set it off again). An action that raises is kept in
        `server_errors` and the request is answered 500. The returned Hook counts its
        `hits` (requests it ran before).
        """
        return self.hooks.add(
            Hook(method=method.upper(), path=re.compile(path_regex), action=action, times=times)
        )

    def set_rate_limit_remaining(self, installation_id: int, remaining: int) -> None:
        """Spend an installation's hourly budget down to `remaining`."""
        self.limits.set_remaining(f"installation:{installation_id}", remaining)

    async def settle(self, *services: Service, within: float = 10.0) -> None:
        """Wait until no webhook is in flight and every service's queue is idle.

        Handling one delivery can cause more (the App's own check runs come back as
        `check_run` events), so this loops until both sides are quiet at the same time.
        """

        async def quiet() -> None:
            while True:
                await self.outbox.join()
                for service in services:
                    await service.queue.wait_idle()
                if not self.outbox.pending and all(s.queue.depth == 0 for s in services):
                    return

        try:
            await asyncio.wait_for(quiet(), within)
        except TimeoutError:
            depths = [s.queue.depth for s in services]
            raise TimeoutError(
                f"sandbox not settled after {within}s: {self.outbox.pending} webhooks in "
                f"flight, service queue depths {depths}"
            ) from None

    # --- looking at the result ----------------------------------------------------------

    def check_runs(
        self, repo: str, head_sha: str | None = None, *, name: str | None = None
    ) -> list[CheckRun]:
        """Check runs on `repo` (on `head_sha`, named `name`), oldest first."""
        runs = self.world.runs_for(self.world.repo_by_name(repo), head_sha)
        return [r for r in runs if name is None or r.name == name]

    async def branch_head(self, repo: str, branch: str) -> str | None:
        return await self.world.repo_by_name(repo).git.branch_head(branch)

    def deliveries_of(self, event: str, action: str | None = None) -> list[Delivery]:
        return [
            d
            for d in self.deliveries
            if d.event == event and (action is None or d.action == action)
        ]
