"""What GitHub does on each change (state, timeline, webhooks), for the REST API and scenarios."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.sandbox import shapes
from bot.sandbox import shapes_issues as si
from bot.sandbox.git import ZERO_SHA, FileDiff, GitError, Identity
from bot.sandbox.shapes import Urls
from bot.sandbox.webhooks import Events
from bot.sandbox.world import (
    Account,
    ApiError,
    CheckRun,
    Comment,
    Issue,
    IssueEvent,
    Label,
    PullRequest,
    Reaction,
    Release,
    ReleaseAsset,
    Repository,
    Review,
    Status,
    Team,
    World,
    iso,
    validation_failed,
)

DOCS_ISSUES = "https://docs.github.com/rest/issues/issues"
DOCS_LABELS = "https://docs.github.com/rest/issues/labels"
DOCS_COMMENTS = "https://docs.github.com/rest/issues/comments"
DOCS_PULLS = "https://docs.github.com/rest/pulls/pulls"
DOCS_REVIEWS = "https://docs.github.com/rest/pulls/reviews"
DOCS_REVIEW_REQUESTS = "https://docs.github.com/rest/pulls/review-requests"
DOCS_MERGE = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
DOCS_RELEASES = "https://docs.github.com/rest/releases/releases"
DOCS_RELEASE_ASSETS = "https://docs.github.com/rest/releases/assets"
DOCS_STATUSES = "https://docs.github.com/rest/commits/statuses"
DOCS_REACTIONS = "https://docs.github.com/rest/reactions/reactions"

COMMENT_LIMIT = 65_536
MAX_ASSIGNEES = 10
# GitHub's push payload lists at most this many commits.
PUSH_COMMITS = 20
DEFAULT_LABEL_COLOR = "ededed"
REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
STATUS_STATES = ("error", "failure", "pending", "success")
MERGE_METHODS = ("merge", "squash", "rebase")
_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b", re.I)
_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def _missing(resource: str, field: str, docs: str) -> ApiError:
    return validation_failed(docs, {"resource": resource, "code": "missing_field", "field": field})


def _custom(resource: str, message: str, docs: str, field: str | None = None) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": "custom", "message": message}
    if field is not None:
        error["field"] = field
    return validation_failed(docs, error)


def _unprocessable(message: str, docs: str) -> ApiError:
    """The review endpoints' 422: `errors` is a list of plain strings there."""
    return ApiError(422, "Unprocessable Entity", docs, errors=[message])


class Ops:
    """GitHub's behaviour: each method changes the World as GitHub would and sends the
    webhooks GitHub would send, with `actor` as the sender.

    The REST API calls these with the App's bot account as the actor, scenarios with a
    user; so every path to a change looks the same to the App under test.
    """

    def __init__(self, world: World, events: Events, urls: Callable[[], Urls]) -> None:
        self.world = world
        self.events = events
        self.urls = urls
        # Pull-request figures by (base sha, head sha): git objects never change.
        self._views: dict[tuple[str, str, bool], si.PullView] = {}
        self._diffs: dict[tuple[str, str], list[FileDiff]] = {}

    def now(self) -> float:
        return self.world.now()

    def identity(self, who: Account) -> Identity:
        return Identity(name=who.name or who.login, email=who.email, time=int(self.now()))

    def github_identity(self) -> Identity:
        """The committer of everything GitHub writes itself (merges from the web)."""
        return Identity(name="GitHub", email="noreply@github.com", time=int(self.now()))

    def _emit(self, repo: Repository, event: str, payload: dict[str, Any], sender: Account) -> None:
        self.events.for_repo(repo, event, payload, sender)

    def _timeline(self, it: Issue, event: str, actor: Account, **data: Any) -> None:
        it.events.append(IssueEvent(self.world.next_id(), event, actor, self.now(), data))

    # --- JSON views that need git -------------------------------------------------------

    async def diff(self, repo: Repository, old: str | None, new: str) -> list[FileDiff]:
        key = (old or "", new)
        if key not in self._diffs:
            self._diffs[key] = await repo.git.diff(old, new)
        return self._diffs[key]

    async def pull_view(self, repo: Repository, it: Issue) -> si.PullView:
        pr = it.pull
        assert pr is not None
        is_open = it.state == "open"
        if is_open:
            # An open pull request follows its base branch; a closed one keeps the last.
            head = await repo.git.branch_head(pr.base_ref)
            # Merged while git answered: the merge recorded the base it merged into.
            if head is not None and it.state == "open":
                pr.base_sha = head
        key = (pr.base_sha, pr.head_sha, is_open)
        view = self._views.get(key)
        if view is None:
            base = await repo.git.merge_base(pr.base_sha, pr.head_sha)
            commits = await repo.git.rev_list(f"{pr.base_sha}..{pr.head_sha}")
            files = await self.diff(repo, base, pr.head_sha)
            mergeable: bool | None = None
            if is_open:
                mergeable = (await repo.git.merge_tree(pr.base_sha, pr.head_sha)).clean
            view = si.PullView(
                base_sha=pr.base_sha,
                commits=len(commits),
                additions=sum(f.additions for f in files),
                deletions=sum(f.deletions for f in files),
                changed_files=len(files),
                mergeable=mergeable,
                rebaseable=mergeable,
            )
            self._views[key] = view
        return view

    async def pull_json(self, repo: Repository, it: Issue, *, full: bool = True) -> dict[str, Any]:
        view = await self.pull_view(repo, it) if full else None
        return si.pull_request(repo, it, self.world, self.urls(), view)

    def issue_json(self, repo: Repository, it: Issue) -> dict[str, Any]:
        return si.issue(repo, it, self.world, self.urls())

    async def _emit_issue(
        self, repo: Repository, it: Issue, action: str, actor: Account, **extra: Any
    ) -> None:
        """An `issues` event, or for a pull request's issue the `pull_request` one."""
        if it.pull is None:
            payload = {"action": action, "issue": self.issue_json(repo, it), **extra}
            self._emit(repo, "issues", payload, actor)
        else:
            payload = {
                "action": action,
                "number": it.number,
                "pull_request": await self.pull_json(repo, it),
                **extra,
            }
            self._emit(repo, "pull_request", payload, actor)

    # --- labels -------------------------------------------------------------------------

    async def create_label(
        self,
        repo: Repository,
        name: Any,
        actor: Account,
        *,
        color: str | None = None,
        description: str | None = None,
    ) -> Label:
        if not isinstance(name, str) or not name.strip():
            raise _missing("Label", "name", DOCS_LABELS)
        if repo.label(name) is not None:
            raise validation_failed(
                DOCS_LABELS, {"resource": "Label", "code": "already_exists", "field": "name"}
            )
        color = (color or DEFAULT_LABEL_COLOR).removeprefix("#")
        if not _COLOR.match(color):
            raise validation_failed(
                DOCS_LABELS, {"resource": "Label", "code": "invalid", "field": "color"}
            )
        lab = Label(self.world.next_id(), name.strip(), color.lower(), description)
        repo.labels[lab.name.lower()] = lab
        urls = self.urls()
        self._emit(repo, "label", {"action": "created", "label": si.label(repo, lab, urls)}, actor)
        return lab

    async def edit_label(
        self,
        repo: Repository,
        lab: Label,
        actor: Account,
        *,
        new_name: str | None = None,
        color: str | None = None,
        description: str | None = None,
    ) -> Label:
        changes: dict[str, Any] = {}
        if new_name is not None and new_name != lab.name:
            other = repo.label(new_name)
            if other is not None and other is not lab:
                raise validation_failed(
                    DOCS_LABELS, {"resource": "Label", "code": "already_exists", "field": "name"}
                )
            changes["name"] = {"from": lab.name}
        if color is not None:
            color = color.removeprefix("#")
            if not _COLOR.match(color):
                raise validation_failed(
                    DOCS_LABELS, {"resource": "Label", "code": "invalid", "field": "color"}
                )
            if color.lower() != lab.color:
                changes["color"] = {"from": lab.color}
        if description is not None and description != lab.description:
            changes["description"] = {"from": lab.description}
        if "name" in changes and new_name is not None:
            del repo.labels[lab.name.lower()]
            lab.name = new_name
            repo.labels[lab.name.lower()] = lab
        if "color" in changes and color is not None:
            lab.color = color.lower()
        if "description" in changes:
            lab.description = description
        if changes:
            payload = {
                "action": "edited",
                "label": si.label(repo, lab, self.urls()),
                "changes": changes,
            }
            self._emit(repo, "label", payload, actor)
        return lab

    async def delete_label(self, repo: Repository, lab: Label, actor: Account) -> None:
        del repo.labels[lab.name.lower()]
        for it in repo.issues.values():
            if lab in it.labels:
                it.labels.remove(lab)
        self._emit(
            repo, "label", {"action": "deleted", "label": si.label(repo, lab, self.urls())}, actor
        )

    async def _labels(self, repo: Repository, names: Iterable[str], actor: Account) -> list[Label]:
        """The labels named, creating the ones the repository lacks, as GitHub does."""
        found: list[Label] = []
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise _missing("Label", "name", DOCS_LABELS)
            lab = repo.label(name.strip()) or await self.create_label(repo, name, actor)
            if lab not in found:
                found.append(lab)
        return found

    async def add_labels(
        self, repo: Repository, it: Issue, names: Iterable[str], actor: Account
    ) -> list[Label]:
        for lab in await self._labels(repo, names, actor):
            if lab not in it.labels:
                it.labels.append(lab)
                await self._labeled(repo, it, lab, actor, "labeled")
        return it.labels

    async def remove_label(self, repo: Repository, it: Issue, name: str, actor: Account) -> None:
        lab = next((x for x in it.labels if x.name.lower() == name.lower()), None)
        if lab is None:
            raise ApiError(
                404,
                "Label does not exist",
                f"{DOCS_LABELS}#remove-a-label-from-an-issue",
            )
        it.labels.remove(lab)
        await self._labeled(repo, it, lab, actor, "unlabeled")

    async def set_labels(
        self, repo: Repository, it: Issue, names: Iterable[str], actor: Account
    ) -> list[Label]:
        wanted = await self._labels(repo, names, actor)
        for lab in [x for x in it.labels if x not in wanted]:
            it.labels.remove(lab)
            await self._labeled(repo, it, lab, actor, "unlabeled")
        for lab in wanted:
            if lab not in it.labels:
                it.labels.append(lab)
                await self._labeled(repo, it, lab, actor, "labeled")
        return it.labels

    async def _labeled(
        self, repo: Repository, it: Issue, lab: Label, actor: Account, action: str
    ) -> None:
        it.updated_at = self.now()
        self._timeline(it, action, actor, label=lab)
        await self._emit_issue(repo, it, action, actor, label=si.label(repo, lab, self.urls()))

    # --- assignees ----------------------------------------------------------------------

    def _assignable(self, logins: Iterable[str]) -> list[Account]:
        # GitHub silently drops logins it cannot assign; here: accounts that do not exist.
        found = []
        for login in logins:
            account = self.world.accounts.get(str(login).lower())
            if account is not None and account.type != "Organization" and account not in found:
                found.append(account)
        return found

    async def add_assignees(
        self, repo: Repository, it: Issue, logins: Iterable[str], actor: Account
    ) -> None:
        for who in self._assignable(logins):
            if who not in it.assignees and len(it.assignees) < MAX_ASSIGNEES:
                it.assignees.append(who)
                await self._assigned(repo, it, who, actor, "assigned")

    async def remove_assignees(
        self, repo: Repository, it: Issue, logins: Iterable[str], actor: Account
    ) -> None:
        for who in self._assignable(logins):
            if who in it.assignees:
                it.assignees.remove(who)
                await self._assigned(repo, it, who, actor, "unassigned")

    async def set_assignees(
        self, repo: Repository, it: Issue, logins: Iterable[str], actor: Account
    ) -> None:
        wanted = self._assignable(logins)[:MAX_ASSIGNEES]
        await self.remove_assignees(
            repo, it, [a.login for a in it.assignees if a not in wanted], actor
        )
        await self.add_assignees(repo, it, [a.login for a in wanted], actor)

    async def _assigned(
        self, repo: Repository, it: Issue, who: Account, actor: Account, action: str
    ) -> None:
        it.updated_at = self.now()
        self._timeline(it, action, actor, assignee=who)
        await self._emit_issue(repo, it, action, actor, assignee=shapes.account(who, self.urls()))

    # --- issues -------------------------------------------------------------------------

    async def open_issue(
        self,
        repo: Repository,
        actor: Account,
        *,
        title: Any,
        body: str | None = None,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> Issue:
        if not isinstance(title, str | int) or not str(title).strip():
            raise _missing("Issue", "title", f"{DOCS_ISSUES}#create-an-issue")
        now = self.now()
        it = Issue(
            id=self.world.next_id(),
            repository_id=repo.id,
            number=repo.next_number(),
            title=str(title),
            body=body,
            user=actor,
            created_at=now,
            updated_at=now,
        )
        labs = await self._labels(repo, labels, actor)
        repo.issues[it.number] = it
        await self._emit_issue(repo, it, "opened", actor)
        # GitHub follows `opened` with one `labeled` (and `assigned`) per label given.
        for lab in labs:
            it.labels.append(lab)
            await self._labeled(repo, it, lab, actor, "labeled")
        await self.add_assignees(repo, it, assignees, actor)
        return it

    async def edit_issue(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        *,
        title: str | None = None,
        body: str | None = None,
        body_given: bool = False,
        state: str | None = None,
        state_reason: str | None = None,
        labels: Sequence[str] | None = None,
        assignees: Sequence[str] | None = None,
    ) -> Issue:
        """Apply an edit as `PATCH .../issues/{n}` (or the web form) does, event by event."""
        if state is not None and state not in ("open", "closed"):
            raise validation_failed(
                DOCS_ISSUES, {"resource": "Issue", "code": "invalid", "field": "state"}
            )
        reasons = ("completed", "not_planned", "reopened", "duplicate", None)
        if state_reason not in reasons:
            raise validation_failed(
                DOCS_ISSUES, {"resource": "Issue", "code": "invalid", "field": "state_reason"}
            )
        if title is not None and not str(title).strip():
            raise _missing("Issue", "title", DOCS_ISSUES)
        changes: dict[str, Any] = {}
        if title is not None and str(title) != it.title:
            changes["title"] = {"from": it.title}
            self._timeline(it, "renamed", actor, rename={"from": it.title, "to": str(title)})
            it.title = str(title)
        if body_given and body != it.body:
            changes["body"] = {"from": it.body}
            it.body = body
        if changes:
            it.updated_at = self.now()
            await self._emit_issue(repo, it, "edited", actor, changes=changes)
        if labels is not None:
            await self.set_labels(repo, it, labels, actor)
        if assignees is not None:
            await self.set_assignees(repo, it, assignees, actor)
        if state == "closed" and it.state == "open":
            await self.close(repo, it, actor, reason=state_reason or "completed")
        elif state == "open" and it.state == "closed":
            await self.reopen(repo, it, actor)
        elif state_reason is not None and it.state == "closed" and state_reason != it.state_reason:
            it.state_reason = state_reason
        return it

    async def close(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        *,
        reason: str = "completed",
        commit_id: str | None = None,
    ) -> None:
        now = self.now()
        it.state = "closed"
        it.state_reason = reason if it.pull is None else None
        it.closed_at = now
        it.closed_by = actor
        it.updated_at = now
        data: dict[str, Any] = {"commit_id": commit_id}
        if it.pull is None:
            data["state_reason"] = reason
        self._timeline(it, "closed", actor, **data)
        await self._emit_issue(repo, it, "closed", actor)

    async def reopen(self, repo: Repository, it: Issue, actor: Account) -> None:
        if it.pull is not None:
            if it.pull.merged_at is not None:
                raise _custom("PullRequest", "Cannot reopen a merged pull request", DOCS_PULLS)
            head = await repo.git.branch_head(it.pull.head_ref)
            if head is None:
                raise validation_failed(
                    DOCS_PULLS, {"resource": "PullRequest", "code": "invalid", "field": "state"}
                )
            it.pull.head_sha = head
        it.state = "open"
        it.state_reason = "reopened" if it.pull is None else None
        it.closed_at = None
        it.closed_by = None
        it.updated_at = self.now()
        self._timeline(it, "reopened", actor)
        await self._emit_issue(repo, it, "reopened", actor)

    # --- comments and reactions ----------------------------------------------------------

    @staticmethod
    def _check_body(body: Any) -> str:
        if not isinstance(body, str) or not body.strip():
            raise _missing("IssueComment", "body", f"{DOCS_COMMENTS}#create-an-issue-comment")
        if len(body) > COMMENT_LIMIT:
            raise validation_failed(
                f"{DOCS_COMMENTS}#create-an-issue-comment",
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "body",
                    "message": f"body is too long (maximum is {COMMENT_LIMIT} characters)",
                },
            )
        return body

    async def add_comment(self, repo: Repository, it: Issue, actor: Account, body: Any) -> Comment:
        text = self._check_body(body)
        now = self.now()
        c = Comment(self.world.next_id(), it.number, actor, text, now, now)
        repo.comments[c.id] = c
        it.comment_ids.append(c.id)
        it.updated_at = now
        self._emit_comment(repo, it, c, "created", actor)
        return c

    async def edit_comment(
        self, repo: Repository, c: Comment, actor: Account, body: Any
    ) -> Comment:
        text = self._check_body(body)
        old = c.body
        c.body = text
        c.updated_at = self.now()
        if text != old:
            it = repo.issues[c.issue_number]
            self._emit_comment(repo, it, c, "edited", actor, changes={"body": {"from": old}})
        return c

    async def delete_comment(self, repo: Repository, c: Comment, actor: Account) -> None:
        it = repo.issues[c.issue_number]
        del repo.comments[c.id]
        it.comment_ids.remove(c.id)
        self._emit_comment(repo, it, c, "deleted", actor)

    def _emit_comment(
        self,
        repo: Repository,
        it: Issue,
        c: Comment,
        action: str,
        actor: Account,
        **extra: Any,
    ) -> None:
        urls = self.urls()
        payload = {
            "action": action,
            "issue": si.issue(repo, it, self.world, urls),
            "comment": si.comment(repo, c, self.world, urls),
            **extra,
        }
        self._emit(repo, "issue_comment", payload, actor)

    def react(
        self, reactions: list[Reaction], actor: Account, content: Any
    ) -> tuple[Reaction, bool]:
        """Add a reaction (no webhook: GitHub has no reaction event); (it, created)."""
        if content not in si.REACTIONS:
            raise validation_failed(
                DOCS_REACTIONS, {"resource": "Reaction", "code": "invalid", "field": "content"}
            )
        for existing in reactions:
            if existing.user is actor and existing.content == content:
                return existing, False
        made = Reaction(self.world.next_id(), actor, content, self.now())
        reactions.append(made)
        return made, True

    # --- refs and pushes ------------------------------------------------------------------

    async def move_ref(
        self,
        repo: Repository,
        ref: str,
        new: str | None,
        old: str | None,
        actor: Account,
        *,
        forced: bool = False,
    ) -> None:
        """Move (create, delete) a ref in git, then send create/delete and push as GitHub does,
        and bring open pull requests on that branch up to date. The caller holds repo.lock.
        """
        await repo.git.update_ref(ref, new, old)
        if ref.startswith("refs/heads/"):
            repo.pushed_at = self.now()
        await self._announce(repo, ref, old, new, actor, forced=forced)
        if ref.startswith("refs/heads/"):
            await self._sync_pulls(repo, ref.removeprefix("refs/heads/"), new, actor)

    async def _announce(
        self,
        repo: Repository,
        ref: str,
        old: str | None,
        new: str | None,
        actor: Account,
        *,
        forced: bool,
    ) -> None:
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        short = ref.split("/", 2)[2]
        if old is None and new is not None:
            payload = {
                "ref": short,
                "ref_type": kind,
                "master_branch": repo.default_branch,
                "description": None,
                "pusher_type": "user",
            }
            self._emit(repo, "create", payload, actor)
        elif new is None:
            self._emit(
                repo, "delete", {"ref": short, "ref_type": kind, "pusher_type": "user"}, actor
            )
        self._emit(repo, "push", await self.push_payload(repo, ref, old, new, actor, forced), actor)

    async def push_payload(
        self,
        repo: Repository,
        ref: str,
        old: str | None,
        new: str | None,
        pusher: Account,
        forced: bool,
    ) -> dict[str, Any]:
        git = repo.git
        shas: list[str] = []
        if new is not None and ref.startswith("refs/heads/"):
            if old is not None:
                shas = await git.rev_list("--reverse", f"{old}..{new}")
            else:
                branch = ref.removeprefix("refs/heads/")
                shas = await git.rev_list(
                    "--reverse", new, "--not", f"--exclude={branch}", "--branches"
                )
        urls = self.urls()
        commits = []
        for sha in shas[-PUSH_COMMITS:]:
            info = await git.commit_info(sha)
            changes = await git.changes(info.parents[0] if info.parents else None, sha)
            commits.append(
                shapes.push_commit(
                    repo, info, self.world, urls, (changes.added, changes.removed, changes.modified)
                )
            )
        head: dict[str, Any] | None = None
        if commits:
            head = commits[-1]
        elif new is not None:
            info = await git.commit_info(new)
            changes = await git.changes(info.parents[0] if info.parents else None, new)
            head = shapes.push_commit(
                repo, info, self.world, urls, (changes.added, changes.removed, changes.modified)
            )
        before = old or ZERO_SHA
        after = new or ZERO_SHA
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "repository": shapes.repository_in_push(repo, urls),
            "pusher": {"name": pusher.login, "email": pusher.email},
            "created": old is None,
            "deleted": new is None,
            "forced": forced,
            "base_ref": None,
            "compare": f"{urls.html}/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
            "commits": commits,
            "head_commit": head,
        }

    async def _sync_pulls(
        self, repo: Repository, branch: str, new: str | None, actor: Account
    ) -> None:
        for it in list(repo.issues.values()):
            pr = it.pull
            if pr is None or it.state != "open" or pr.head_ref != branch:
                continue
            if new is None:
                # Deleting a pull request's head branch closes it.
                await self.close(repo, it, actor)
            elif new != pr.head_sha:
                before = pr.head_sha
                pr.head_sha = new
                it.updated_at = self.now()
                await self._emit_issue(repo, it, "synchronize", actor, before=before, after=new)

    # --- pull requests --------------------------------------------------------------------

    async def open_pr(
        self,
        repo: Repository,
        actor: Account,
        *,
        head: Any,
        base: Any,
        title: Any,
        body: str | None = None,
        draft: bool = False,
        maintainer_can_modify: bool = False,
    ) -> Issue:
        docs = f"{DOCS_PULLS}#create-a-pull-request"
        if not isinstance(title, str) or not title.strip():
            raise _missing("PullRequest", "title", docs)
        if not isinstance(head, str) or not head:
            raise _missing("PullRequest", "head", docs)
        if not isinstance(base, str) or not base:
            raise _missing("PullRequest", "base", docs)
        head_ref = head
        if ":" in head:
            owner, _, head_ref = head.partition(":")
            if owner.lower() != repo.owner.login.lower():
                # No forks in the sandbox: another owner's branch cannot exist.
                raise validation_failed(
                    docs, {"resource": "PullRequest", "code": "invalid", "field": "head"}
                )
        base_sha = await repo.git.branch_head(base)
        head_sha = await repo.git.branch_head(head_ref)
        if base_sha is None:
            raise validation_failed(
                docs, {"resource": "PullRequest", "code": "invalid", "field": "base"}
            )
        if head_sha is None:
            raise validation_failed(
                docs, {"resource": "PullRequest", "code": "invalid", "field": "head"}
            )
        for other in repo.issues.values():
            pr = other.pull
            if pr and other.state == "open" and pr.head_ref == head_ref and pr.base_ref == base:
                raise _custom(
                    "PullRequest",
                    f"A pull request already exists for {repo.owner.login}:{head_ref}.",
                    docs,
                )
        if head_ref == base or not await repo.git.rev_list(f"{base_sha}..{head_sha}"):
            raise _custom("PullRequest", f"No commits between {base} and {head_ref}", docs)
        now = self.now()
        it = Issue(
            id=self.world.next_id(),
            repository_id=repo.id,
            number=repo.next_number(),
            title=title,
            body=body,
            user=actor,
            created_at=now,
            updated_at=now,
        )
        it.pull = PullRequest(
            id=self.world.next_id(),
            number=it.number,
            issue=it,
            head_ref=head_ref,
            head_sha=head_sha,
            base_ref=base,
            base_sha=base_sha,
            draft=bool(draft),
            maintainer_can_modify=bool(maintainer_can_modify),
        )
        repo.issues[it.number] = it
        await self._emit_issue(repo, it, "opened", actor)
        return it

    async def edit_pr(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        *,
        title: str | None = None,
        body: str | None = None,
        body_given: bool = False,
        state: str | None = None,
        base: str | None = None,
    ) -> Issue:
        pr = it.pull
        assert pr is not None
        if state is not None and state not in ("open", "closed"):
            raise validation_failed(
                DOCS_PULLS, {"resource": "PullRequest", "code": "invalid", "field": "state"}
            )
        changes: dict[str, Any] = {}
        if base is not None and base != pr.base_ref:
            base_sha = await repo.git.branch_head(base)
            if base_sha is None:
                raise validation_failed(
                    DOCS_PULLS, {"resource": "PullRequest", "code": "invalid", "field": "base"}
                )
            changes["base"] = {"ref": {"from": pr.base_ref}, "sha": {"from": pr.base_sha}}
            self._timeline(it, "base_ref_changed", actor, change={"from": pr.base_ref, "to": base})
            pr.base_ref, pr.base_sha = base, base_sha
        if title is not None and title != it.title:
            if not title.strip():
                raise _missing("PullRequest", "title", DOCS_PULLS)
            changes["title"] = {"from": it.title}
            self._timeline(it, "renamed", actor, rename={"from": it.title, "to": title})
            it.title = title
        if body_given and body != it.body:
            changes["body"] = {"from": it.body}
            it.body = body
        if changes:
            it.updated_at = self.now()
            await self._emit_issue(repo, it, "edited", actor, changes=changes)
        if state == "closed" and it.state == "open":
            await self.close(repo, it, actor)
        elif state == "open" and it.state == "closed":
            await self.reopen(repo, it, actor)
        return it

    async def ready_for_review(self, repo: Repository, it: Issue, actor: Account) -> None:
        assert it.pull is not None
        if it.pull.draft:
            it.pull.draft = False
            self._timeline(it, "ready_for_review", actor)
            await self._emit_issue(repo, it, "ready_for_review", actor)

    async def convert_to_draft(self, repo: Repository, it: Issue, actor: Account) -> None:
        assert it.pull is not None
        if not it.pull.draft:
            it.pull.draft = True
            self._timeline(it, "convert_to_draft", actor)
            await self._emit_issue(repo, it, "converted_to_draft", actor)

    def _collaborator(self, repo: Repository, who: Account) -> bool:
        owner = repo.owner
        return self.world.role(repo, who) is not None or (
            owner.type == "Organization" and self.world.org_member(owner, who)
        )

    async def request_reviewers(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        logins: Sequence[str] = (),
        team_slugs: Sequence[str] = (),
    ) -> None:
        pr = it.pull
        assert pr is not None
        docs = f"{DOCS_REVIEW_REQUESTS}#request-reviewers-for-a-pull-request"
        users: list[Account] = []
        for login in logins:
            who = self.world.accounts.get(str(login).lower())
            if who is it.user:
                raise ApiError(422, "Review cannot be requested from pull request author.", docs)
            if who is None or not self._collaborator(repo, who):
                raise ApiError(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the "
                    "users or teams you specified is not a collaborator of the "
                    f"{repo.full_name} repository.",
                    docs,
                )
            users.append(who)
        teams: list[Team] = []
        for slug in team_slugs:
            found = self.world.team(repo.owner.login, str(slug))
            if found is None:
                raise ApiError(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the "
                    "users or teams you specified is not a collaborator of the "
                    f"{repo.full_name} repository.",
                    docs,
                )
            teams.append(found)
        urls = self.urls()
        for who in users:
            if who not in pr.requested_reviewers:
                pr.requested_reviewers.append(who)
                self._timeline(
                    it, "review_requested", actor, requested_reviewer=who, review_requester=actor
                )
                await self._emit_issue(
                    repo,
                    it,
                    "review_requested",
                    actor,
                    requested_reviewer=shapes.account(who, urls),
                )
        for t in teams:
            if t not in pr.requested_teams:
                pr.requested_teams.append(t)
                self._timeline(it, "review_requested", actor, review_requester=actor)
                await self._emit_issue(
                    repo, it, "review_requested", actor, requested_team=si.team(t, urls)
                )

    async def remove_review_requests(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        logins: Sequence[str] = (),
        team_slugs: Sequence[str] = (),
    ) -> None:
        pr = it.pull
        assert pr is not None
        urls = self.urls()
        for login in logins:
            who = next(
                (a for a in pr.requested_reviewers if a.login.lower() == str(login).lower()), None
            )
            if who is not None:
                pr.requested_reviewers.remove(who)
                self._timeline(
                    it,
                    "review_request_removed",
                    actor,
                    requested_reviewer=who,
                    review_requester=actor,
                )
                await self._emit_issue(
                    repo,
                    it,
                    "review_request_removed",
                    actor,
                    requested_reviewer=shapes.account(who, urls),
                )
        for slug in team_slugs:
            t = next((x for x in pr.requested_teams if x.slug == str(slug).lower()), None)
            if t is not None:
                pr.requested_teams.remove(t)
                await self._emit_issue(
                    repo, it, "review_request_removed", actor, requested_team=si.team(t, urls)
                )

    async def submit_review(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        *,
        event: Any,
        body: Any = "",
        commit_id: Any = None,
    ) -> Review:
        pr = it.pull
        assert pr is not None
        docs = f"{DOCS_REVIEWS}#create-a-review-for-a-pull-request"
        if event is not None and event not in REVIEW_EVENTS:
            raise _unprocessable(
                "Variable $event of type PullRequestReviewEvent was provided invalid value", docs
            )
        text = body if isinstance(body, str) else ""
        if event in ("REQUEST_CHANGES", "COMMENT") and not text.strip():
            raise _unprocessable(f"Body is required when using {event} event", docs)
        if it.user is actor and event == "APPROVE":
            raise _unprocessable("Can not approve your own pull request", docs)
        if it.user is actor and event == "REQUEST_CHANGES":
            raise _unprocessable("Can not request changes on your own pull request", docs)
        if commit_id is not None and (
            not isinstance(commit_id, str) or await repo.git.object_type(commit_id) != "commit"
        ):
            raise _unprocessable("Commit ID is not part of the pull request", docs)
        pending = event is None
        r = Review(
            id=self.world.next_id(),
            user=actor,
            body=text,
            state="PENDING" if pending else REVIEW_EVENTS[event],
            commit_id=commit_id or pr.head_sha,
            submitted_at=None if pending else self.now(),
        )
        pr.reviews.append(r)
        if pending:
            return r
        if actor in pr.requested_reviewers:
            pr.requested_reviewers.remove(actor)
        it.updated_at = self.now()
        await self._emit_review(repo, it, r, "submitted", actor)
        return r

    async def dismiss_review(
        self, repo: Repository, it: Issue, r: Review, actor: Account, message: Any
    ) -> Review:
        docs = f"{DOCS_REVIEWS}#dismiss-a-review-for-a-pull-request"
        if not isinstance(message, str) or not message.strip():
            raise _unprocessable("Message can't be blank", docs)
        if r.state not in ("APPROVED", "CHANGES_REQUESTED"):
            kind = {"COMMENTED": "commented", "PENDING": "pending", "DISMISSED": "dismissed"}
            raise _unprocessable(
                f"Can not dismiss a {kind.get(r.state, r.state.lower())} pull request review", docs
            )
        r.state = "DISMISSED"
        self._timeline(
            it,
            "review_dismissed",
            actor,
            dismissed_review={
                "state": "dismissed",
                "review_id": r.id,
                "dismissal_message": message,
            },
        )
        await self._emit_review(repo, it, r, "dismissed", actor)
        return r

    async def _emit_review(
        self, repo: Repository, it: Issue, r: Review, action: str, actor: Account
    ) -> None:
        urls = self.urls()
        payload = {
            "action": action,
            "review": si.review(repo, it.number, r, self.world, urls, webhook=True),
            "pull_request": await self.pull_json(repo, it, full=False),
        }
        self._emit(repo, "pull_request_review", payload, actor)

    async def merge_pr(
        self,
        repo: Repository,
        it: Issue,
        actor: Account,
        *,
        method: Any = "merge",
        sha: Any = None,
        title: Any = None,
        message: Any = None,
    ) -> str:
        """Merge as the web button does (merge commit, squash or rebase), by real git merges."""
        pr = it.pull
        assert pr is not None
        if method not in MERGE_METHODS:
            raise validation_failed(
                DOCS_MERGE, {"resource": "PullRequest", "code": "invalid", "field": "merge_method"}
            )
        if it.state != "open" or pr.merged_at is not None:
            raise ApiError(405, "Pull Request is not mergeable", DOCS_MERGE)
        if pr.draft:
            raise ApiError(405, "Pull Request is still a draft", DOCS_MERGE)
        if sha is not None and sha != pr.head_sha:
            raise ApiError(
                409, "Head branch was modified. Review and try the merge again.", DOCS_MERGE
            )
        git = repo.git
        async with repo.lock:
            base_sha = await git.branch_head(pr.base_ref)
            if base_sha is None:
                raise ApiError(405, "Base branch was deleted", DOCS_MERGE)
            head_sha = pr.head_sha
            merged = await git.merge_tree(base_sha, head_sha)
            if not merged.clean:
                raise ApiError(405, "Pull Request is not mergeable", DOCS_MERGE)
            github = self.github_identity()
            made: list[str] = []
            if method == "merge":
                subject = title or (
                    f"Merge pull request #{it.number} from {repo.owner.login}/{pr.head_ref}"
                )
                text = f"{subject}\n\n{message if message is not None else it.title}"
                new = await git.commit_tree(
                    merged.tree,
                    [base_sha, head_sha],
                    message=text,
                    author=self.identity(actor),
                    committer=github,
                )
                made.append(new)
            elif method == "squash":
                new = await git.commit_tree(
                    merged.tree,
                    [base_sha],
                    message=await self._squash_message(repo, it, base_sha, title, message),
                    author=self.identity(it.user),
                    committer=github,
                )
                made.append(new)
            else:
                new = await self._rebase(repo, base_sha, head_sha, made)
            self.world.verified.update(made)
            if new != base_sha:
                await self.move_ref(repo, f"refs/heads/{pr.base_ref}", new, base_sha, actor)
        now = self.now()
        pr.base_sha = base_sha
        pr.merged_at = now
        pr.merged_by = actor
        pr.merge_commit_sha = new
        self._timeline(it, "merged", actor, commit_id=new)
        await self.close(repo, it, actor, commit_id=new)
        if pr.base_ref == repo.default_branch:
            await self._close_referenced(repo, it, actor, new)
        return new

    async def _squash_message(
        self, repo: Repository, it: Issue, base: str, title: Any, message: Any
    ) -> str:
        assert it.pull is not None
        subject = title or f"{it.title} (#{it.number})"
        if message is None:
            shas = await repo.git.rev_list("--reverse", f"{base}..{it.pull.head_sha}")
            texts = [(await repo.git.commit_info(s)).message for s in shas]
            message = texts[0] if len(texts) == 1 else "\n\n".join(f"* {t}" for t in texts)
        return f"{subject}\n\n{message}"

    async def _rebase(self, repo: Repository, base: str, head: str, made: list[str]) -> str:
        """Replay the head's commits onto base one by one, as `git rebase` picks them."""
        git = repo.git
        # git's own choice of commits to replay: not merges, not ones already upstream.
        picks = await git.rev_list(
            "--reverse",
            "--topo-order",
            "--no-merges",
            "--right-only",
            "--cherry-pick",
            f"{base}...{head}",
        )
        current = base
        current_tree = (await git.commit_info(base)).tree
        for sha in picks:
            result = await git.cherry_pick_tree(sha, current)
            if not result.clean:
                raise ApiError(405, "This branch can't be rebased", DOCS_MERGE)
            if result.tree == current_tree:
                continue  # became empty: git rebase drops it too
            info = await git.commit_info(sha)
            current = await git.commit_tree(
                result.tree,
                [current],
                message=info.message,
                author=info.author,
                committer=self.github_identity(),
            )
            current_tree = result.tree
            made.append(current)
        return current

    async def _close_referenced(
        self, repo: Repository, pr_issue: Issue, actor: Account, commit: str
    ) -> None:
        """Close the issues a merged pull request says it fixes, as GitHub does."""
        for match in _CLOSING.finditer(f"{pr_issue.title}\n{pr_issue.body or ''}"):
            target = repo.issues.get(int(match.group(1)))
            if target is not None and target.pull is None and target.state == "open":
                await self.close(repo, target, actor, commit_id=commit)

    async def merge_branches(
        self, repo: Repository, base: str, head: str, message: str | None, actor: Account
    ) -> str | None:
        """`POST /merges`: a merge commit of head into base, or None if nothing to merge."""
        git = repo.git
        docs = "https://docs.github.com/rest/branches/branches#merge-a-branch"
        async with repo.lock:
            base_sha = await git.branch_head(base)
            if base_sha is None:
                raise ApiError(404, "Base does not exist", docs)
            head_sha = await git.resolve(head)
            if head_sha is None:
                raise ApiError(404, "Head does not exist", docs)
            if await git.is_ancestor(head_sha, base_sha):
                return None
            try:
                merged = await git.merge_tree(base_sha, head_sha)
            except GitError:
                raise ApiError(409, "Merge conflict", docs) from None
            if not merged.clean:
                raise ApiError(409, "Merge conflict", docs)
            who = self.identity(actor)
            new = await git.commit_tree(
                merged.tree,
                [base_sha, head_sha],
                message=message or f"Merge {head} into {base}",
                author=who,
                committer=who,
            )
            if actor.type == "Bot":
                self.world.verified.add(new)
            await self.move_ref(repo, f"refs/heads/{base}", new, base_sha, actor)
        return new

    # --- statuses and checks ----------------------------------------------------------------

    async def create_status(
        self,
        repo: Repository,
        sha: str,
        actor: Account,
        *,
        state: Any,
        context: Any = None,
        description: Any = None,
        target_url: Any = None,
    ) -> Status:
        docs = f"{DOCS_STATUSES}#create-a-commit-status"
        if state not in STATUS_STATES:
            raise validation_failed(
                docs,
                {
                    "resource": "Status",
                    "code": "custom",
                    "field": "state",
                    "message": "state is not included in the list",
                },
            )
        resolved = await repo.git.resolve(sha)
        if resolved is None or (len(sha) < 40 and not resolved.startswith(sha)):
            raise validation_failed(
                docs,
                {
                    "resource": "Status",
                    "code": "custom",
                    "message": f"No commit found for SHA: {sha}",
                },
                message=f"No commit found for SHA: {sha}",
            )
        now = self.now()
        st = Status(
            id=self.world.next_id(),
            sha=resolved,
            state=state,
            context=context if isinstance(context, str) and context else "default",
            description=description if isinstance(description, str) else None,
            target_url=target_url if isinstance(target_url, str) else None,
            creator=actor,
            created_at=now,
            updated_at=now,
        )
        repo.statuses.append(st)
        urls = self.urls()
        info = await repo.git.commit_info(resolved)
        branches = [
            {"name": name, "commit": shapes.short_commit(repo, head, urls), "protected": False}
            for name, head in (await repo.git.branches()).items()
            if head == resolved
        ]
        payload = {
            "id": st.id,
            "sha": resolved,
            "name": repo.full_name,
            "target_url": st.target_url,
            "avatar_url": f"{urls.html}/avatars/{actor.login}",
            "context": st.context,
            "description": st.description,
            "state": st.state,
            "commit": shapes.commit(repo, info, self.world, urls),
            "branches": branches,
            "created_at": iso(now),
            "updated_at": iso(now),
        }
        self._emit(repo, "status", payload, actor)
        return st

    async def check_run_changed(self, run: CheckRun, action: str) -> None:
        """Announce a run's change, and its suite's completion once every run has completed."""
        self.events.check_run(run, action)
        if run.status != "completed":
            return
        suite = self.world.suites[run.check_suite_id]
        suite.updated_at = self.now()
        runs = self.world.suite_runs(suite)
        status, conclusion = shapes.suite_outcome(runs)
        if status != "completed" or suite.announced == conclusion:
            return
        suite.announced = conclusion
        repo = self.world.repo_by_id(run.repository_id)
        app = self.world.apps[suite.app_id]
        head = await repo.git.commit_info(suite.head_sha)
        payload = {
            "action": "completed",
            "check_suite": shapes.check_suite(suite, repo, app, runs, head, self.urls()),
        }
        self._emit(repo, "check_suite", payload, app.bot)

    # --- releases ---------------------------------------------------------------------------

    async def create_release(
        self,
        repo: Repository,
        actor: Account,
        *,
        tag_name: Any,
        target_commitish: Any = None,
        name: Any = None,
        body: Any = None,
        draft: bool = False,
        prerelease: bool = False,
    ) -> Release:
        docs = f"{DOCS_RELEASES}#create-a-release"
        if not isinstance(tag_name, str) or not tag_name.strip():
            raise _missing("Release", "tag_name", docs)
        if any(r.tag_name == tag_name for r in repo.releases.values()):
            raise validation_failed(
                docs, {"resource": "Release", "code": "already_exists", "field": "tag_name"}
            )
        target = (
            target_commitish
            if isinstance(target_commitish, str) and target_commitish
            else (repo.default_branch)
        )
        tagged = await repo.git.resolve(f"refs/tags/{tag_name}")
        if tagged is None and await repo.git.resolve(target) is None:
            raise validation_failed(
                docs, {"resource": "Release", "code": "invalid", "field": "target_commitish"}
            )
        now = self.now()
        rel = Release(
            id=self.world.next_id(),
            tag_name=tag_name,
            target_commitish=target,
            name=name if isinstance(name, str) else None,
            body=body if isinstance(body, str) else None,
            draft=bool(draft),
            prerelease=bool(prerelease),
            author=actor,
            created_at=now,
            published_at=None,
            updated_at=now,
        )
        repo.releases[rel.id] = rel
        if not rel.draft:
            await self._publish(repo, rel, actor)
        self._emit_release(repo, rel, "created", actor)
        if not rel.draft:
            self._emit_release(repo, rel, "published", actor)
            self._emit_release(repo, rel, "prereleased" if rel.prerelease else "released", actor)
        return rel

    async def _publish(self, repo: Repository, rel: Release, actor: Account) -> None:
        """A published release has its tag: create it at the target if it does not exist."""
        rel.draft = False
        rel.published_at = self.now()
        ref = f"refs/tags/{rel.tag_name}"
        async with repo.lock:
            if await repo.git.resolve(ref) is None:
                target = await repo.git.resolve(rel.target_commitish)
                if target is None:
                    raise validation_failed(
                        DOCS_RELEASES,
                        {"resource": "Release", "code": "invalid", "field": "target_commitish"},
                    )
                await self.move_ref(repo, ref, target, None, actor)

    async def edit_release(
        self, repo: Repository, rel: Release, actor: Account, fields: dict[str, Any]
    ) -> Release:
        changes: dict[str, Any] = {}
        for key in ("name", "body", "tag_name", "target_commitish"):
            value = fields.get(key)
            if key in fields and isinstance(value, str) and value != getattr(rel, key):
                if key == "tag_name" and any(
                    r.tag_name == value for r in repo.releases.values() if r is not rel
                ):
                    raise validation_failed(
                        DOCS_RELEASES,
                        {"resource": "Release", "code": "already_exists", "field": "tag_name"},
                    )
                changes[key] = {"from": getattr(rel, key)}
                setattr(rel, key, value)
        was_prerelease = rel.prerelease
        if "prerelease" in fields and fields["prerelease"] is not None:
            rel.prerelease = bool(fields["prerelease"])
        publishing = rel.draft and fields.get("draft") is False
        if fields.get("draft") is True and not rel.draft:
            rel.draft = True
            rel.published_at = None
        rel.updated_at = self.now()
        if publishing:
            await self._publish(repo, rel, actor)
        if changes or was_prerelease != rel.prerelease:
            self._emit_release(repo, rel, "edited", actor, changes=changes)
        if publishing:
            self._emit_release(repo, rel, "published", actor)
            self._emit_release(repo, rel, "prereleased" if rel.prerelease else "released", actor)
        elif not rel.draft and was_prerelease and not rel.prerelease:
            self._emit_release(repo, rel, "released", actor)
        return rel

    def attach_asset(
        self,
        rel: Release,
        actor: Account,
        name: str,
        content: bytes,
        *,
        content_type: str,
        label: str | None = None,
    ) -> ReleaseAsset:
        """Upload an asset to a release, draft or published (GitHub sends no webhook for it)."""
        if rel.asset(name) is not None:
            raise validation_failed(
                f"{DOCS_RELEASE_ASSETS}#upload-a-release-asset",
                {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"},
            )
        now = self.now()
        asset = ReleaseAsset(
            id=self.world.next_id(),
            name=name,
            label=label,
            content_type=content_type,
            content=content,
            uploader=actor,
            created_at=now,
            updated_at=now,
        )
        rel.assets.append(asset)
        return asset

    def _emit_release(
        self, repo: Repository, rel: Release, action: str, actor: Account, **extra: Any
    ) -> None:
        payload = {"action": action, "release": si.release(repo, rel, self.urls()), **extra}
        self._emit(repo, "release", payload, actor)
