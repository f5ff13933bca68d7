"""The Sandbox: an in-memory GitHub on a local port, with scenario steps tests drive it by."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from bot.clock import Clock, SystemClock
from bot.sandbox import shapes
from bot.sandbox.git import ZERO_SHA, GitRepo, Identity
from bot.sandbox.server import RestApi
from bot.sandbox.shapes import Urls
from bot.sandbox.traffic import CallLog, Exchange, Fault, Faults, RateLimits
from bot.sandbox.webhooks import Delivery, Events, Outbox
from bot.sandbox.world import Account, App, CheckRun, Repository, World

_REPO_NAME = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


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
    sandbox's `webhook_url` at the service, declare accounts and repositories, then drive
    scenarios (`push_commits`, `install`) and assert on what happened: `check_runs`,
    `deliveries`, `calls`, and the bare repositories themselves (`git_dir`).
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
        self.limits = RateLimits(world.clock, rate_limit)
        self._scratch = scratch
        self.outbox = Outbox(
            secret=secret,
            url=lambda: self.webhook_url,
            app_id=world.app.id,
            hook_id=world.next_id(),
        )
        self.events = Events(world, self.outbox, self.urls)
        self._api = RestApi(world, self.events, self.urls, self.calls, self.faults, self.limits)
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
    ) -> Sandbox:
        """Serve a sandbox on a free port of 127.0.0.1 for the App `app_id`.

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
        await sandbox._serve()
        return sandbox

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._api.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = int(self._runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{port}"
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
        branch's head; nothing in an empty repository). Sends `push` as GitHub does.
        """
        target = self.world.repo_by_name(repo)
        pusher = self.world.account(author)
        ref = f"refs/heads/{branch}"
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
            await target.git.update_ref(ref, sha, before)
            target.pushed_at = self.world.now()
        info = await target.git.commit_info(sha)
        urls = self.urls()
        old = before or ZERO_SHA
        head = shapes.push_commit(
            target, info, self.world, urls, (changes.added, changes.removed, changes.modified)
        )
        payload: dict[str, Any] = {
            "ref": ref,
            "before": old,
            "after": sha,
            "repository": shapes.repository_in_push(target, urls),
            "pusher": {"name": pusher.login, "email": pusher.email},
            "created": before is None,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{urls.html}/{target.full_name}/compare/{old[:12]}...{sha[:12]}",
            "commits": [head],
            "head_commit": head,
        }
        delivery = self.events.for_repo(target, "push", payload, pusher)
        return Push(ref=ref, before=before, after=sha, delivery=delivery)

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
    ) -> Fault:
        """Answer the next `times` requests whose method and path match with `status`.

        `path_regex` is searched in the request path (no query string); `method` "*"
        matches any. The default body is GitHub's for that status (a secondary rate
        limit for 403 and 429). The returned Fault counts its `hits`.
        """
        return self.faults.add(
            Fault(
                method=method.upper(),
                path=re.compile(path_regex),
                status=status,
                times=times,
                headers=dict(headers or {}),
                body=body,
            )
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
