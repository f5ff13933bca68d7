"""REST routes for issues: issues, comments, reactions, labels, assignees, timeline, search."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox import shapes_issues as si
from bot.sandbox.ops import DOCS_COMMENTS, DOCS_ISSUES, DOCS_LABELS
from bot.sandbox.rest import (
    Routes,
    int_param,
    json_response,
    no_content,
    page_response,
    paginate,
    since_param,
)
from bot.sandbox.world import (
    ApiError,
    Comment,
    Issue,
    Label,
    Repository,
    iso,
    validation_failed,
)

_DOCS_SEARCH = "https://docs.github.com/rest/search/search#search-issues-and-pull-requests"
# GitHub answers at most this many search results, however many match.
SEARCH_CAP = 1000
_SORT_KEYS: dict[str, Callable[[Issue], Any]] = {
    "created": lambda it: (it.created_at, it.number),
    "updated": lambda it: (it.updated_at, it.number),
    "comments": lambda it: (len(it.comment_ids), it.number),
}


def _names(value: Any) -> list[str]:
    """Label names as GitHub takes them: a list of strings, of {name} objects, or {labels}."""
    if isinstance(value, dict):
        value = value.get("labels", [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise validation_failed(
            DOCS_LABELS, {"resource": "Label", "code": "invalid", "field": "labels"}
        )
    names = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        if not isinstance(item, str):
            raise validation_failed(
                DOCS_LABELS, {"resource": "Label", "code": "invalid", "field": "labels"}
            )
        names.append(item)
    return names


def _logins(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation_failed(
            DOCS_ISSUES, {"resource": "Issue", "code": "invalid", "field": "assignees"}
        )
    return list(value)


class IssuesApi(Routes):
    """Issues and what hangs off them; pull requests appear as issues, as on GitHub."""

    def register(self, router: web.UrlDispatcher) -> None:
        repo = "/repos/{owner}/{repo}"
        issue = f"{repo}/issues/{{issue_number}}"
        comment = f"{repo}/issues/comments/{{comment_id}}"
        r = router
        r.add_get(f"{repo}/issues", self.list_issues)
        r.add_post(f"{repo}/issues", self.create_issue)
        r.add_get(comment, self.get_comment)
        r.add_patch(comment, self.update_comment)
        r.add_delete(comment, self.delete_comment)
        r.add_post(f"{comment}/reactions", self.react_to_comment)
        r.add_get(issue, self.get_issue)
        r.add_patch(issue, self.update_issue)
        r.add_get(f"{issue}/comments", self.list_comments)
        r.add_post(f"{issue}/comments", self.create_comment)
        r.add_post(f"{issue}/reactions", self.react_to_issue)
        r.add_get(f"{issue}/labels", self.list_issue_labels)
        r.add_post(f"{issue}/labels", self.add_labels)
        r.add_put(f"{issue}/labels", self.set_labels)
        r.add_delete(f"{issue}/labels", self.clear_labels)
        r.add_delete(f"{issue}/labels/{{name}}", self.remove_label)
        r.add_post(f"{issue}/assignees", self.add_assignees)
        r.add_delete(f"{issue}/assignees", self.remove_assignees)
        r.add_get(f"{issue}/timeline", self.timeline)
        r.add_get(f"{repo}/labels", self.list_labels)
        r.add_post(f"{repo}/labels", self.create_label)
        r.add_get(f"{repo}/labels/{{name}}", self.get_label)
        r.add_patch(f"{repo}/labels/{{name}}", self.update_label)
        r.add_delete(f"{repo}/labels/{{name}}", self.delete_label)
        r.add_get("/search/issues", self.search_issues)

    def _issue_json(self, repo: Repository, it: Issue, *, single: bool = False) -> dict[str, Any]:
        return si.issue(repo, it, self.world, self._urls(), closed_by=single)

    # --- issues ---------------------------------------------------------------------------

    async def list_issues(self, request: web.Request) -> web.Response:
        """GitHub's repository issue list: pull requests included, open and newest first.

        Unknown values of `state`, `sort` and `direction` fall back to the defaults (GitHub
        documents no error for them); a `since` that is not ISO 8601 is a 422.
        """
        repo = self._repo(request)
        q = request.query
        since = since_param(request, f"{DOCS_ISSUES}#list-repository-issues")
        items = list(repo.issues.values())
        state = q.get("state", "open")
        if state != "all":
            wanted_state = "closed" if state == "closed" else "open"
            items = [it for it in items if it.state == wanted_state]
        if q.get("labels"):
            # Every label named must be on the issue (names compare without case).
            wanted = [n.strip() for n in q["labels"].split(",") if n.strip()]
            items = [it for it in items if all(it.has_label(n) for n in wanted)]
        if "creator" in q:
            items = [it for it in items if it.user.login.lower() == q["creator"].lower()]
        if "assignee" in q:
            who = q["assignee"]
            if who == "none":
                items = [it for it in items if not it.assignees]
            elif who != "*":
                items = [
                    it for it in items if any(a.login.lower() == who.lower() for a in it.assignees)
                ]
            else:
                items = [it for it in items if it.assignees]
        if since is not None:
            # Updated at or after `since`, to the second GitHub shows.
            items = [it for it in items if int(it.updated_at) >= since]
        key = _SORT_KEYS.get(q.get("sort", "created"), _SORT_KEYS["created"])
        items.sort(key=key, reverse=q.get("direction") != "asc")
        return page_response(request, items, lambda it: self._issue_json(repo, it))

    async def create_issue(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        assignees = _logins(body.get("assignees"))
        if isinstance(body.get("assignee"), str):
            assignees.append(body["assignee"])
        it = await self.ops.open_issue(
            repo,
            self._actor(request),
            title=body.get("title"),
            body=body.get("body") if isinstance(body.get("body"), str) else None,
            labels=_names(body.get("labels") or []),
            assignees=assignees,
        )
        return json_response(self._issue_json(repo, it, single=True), 201)

    async def get_issue(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        return json_response(self._issue_json(repo, it, single=True))

    async def update_issue(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        body = await self._body(request)
        actor = self._actor(request)
        title = body.get("title")
        if "title" in body and (title is None or not isinstance(title, str | int)):
            raise validation_failed(
                DOCS_ISSUES, {"resource": "Issue", "code": "missing_field", "field": "title"}
            )
        labels = _names(body["labels"]) if "labels" in body else None
        assignees = _logins(body["assignees"]) if "assignees" in body else None
        if it.pull is not None:
            await self.ops.edit_pr(
                repo,
                it,
                actor,
                title=str(title) if title is not None else None,
                body=body.get("body"),
                body_given="body" in body,
                state=body.get("state"),
            )
            await self.ops.edit_issue(repo, it, actor, labels=labels, assignees=assignees)
        else:
            await self.ops.edit_issue(
                repo,
                it,
                actor,
                title=str(title) if title is not None else None,
                body=body.get("body"),
                body_given="body" in body,
                state=body.get("state"),
                state_reason=body.get("state_reason"),
                labels=labels,
                assignees=assignees,
            )
        return json_response(self._issue_json(repo, it, single=True))

    # --- comments ----------------------------------------------------------------------------

    def _comment(self, request: web.Request, repo: Repository) -> Comment:
        found = repo.comments.get(int_param(request.match_info["comment_id"], -1))
        if found is None:
            raise ApiError(404, "Not Found", f"{DOCS_COMMENTS}#get-an-issue-comment")
        return found

    def _comment_json(self, repo: Repository, c: Comment) -> dict[str, Any]:
        return si.comment(repo, c, self.world, self._urls())

    async def list_comments(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        since = since_param(request, f"{DOCS_COMMENTS}#list-issue-comments")
        comments = [repo.comments[cid] for cid in it.comment_ids]
        if since is not None:
            comments = [c for c in comments if int(c.updated_at) >= since]
        return page_response(request, comments, lambda c: self._comment_json(repo, c))

    async def create_comment(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        body = await self._body(request)
        c = await self.ops.add_comment(repo, it, self._actor(request), body.get("body"))
        return json_response(self._comment_json(repo, c), 201)

    async def get_comment(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(self._comment_json(repo, self._comment(request, repo)))

    async def update_comment(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        c = self._comment(request, repo)
        body = await self._body(request)
        await self.ops.edit_comment(repo, c, self._actor(request), body.get("body"))
        return json_response(self._comment_json(repo, c))

    async def delete_comment(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        c = self._comment(request, repo)
        await self.ops.delete_comment(repo, c, self._actor(request))
        return no_content()

    # --- reactions ---------------------------------------------------------------------------

    async def react_to_comment(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        c = self._comment(request, repo)
        body = await self._body(request)
        made, created = self.ops.react(c.reactions, self._actor(request), body.get("content"))
        return json_response(si.reaction(made, self._urls()), 201 if created else 200)

    async def react_to_issue(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        body = await self._body(request)
        made, created = self.ops.react(it.reactions, self._actor(request), body.get("content"))
        return json_response(si.reaction(made, self._urls()), 201 if created else 200)

    # --- labels ------------------------------------------------------------------------------

    def _label_json(self, repo: Repository, lab: Label) -> dict[str, Any]:
        return si.label(repo, lab, self._urls())

    def _labels_response(self, repo: Repository, it: Issue) -> web.Response:
        return json_response([self._label_json(repo, lab) for lab in it.labels])

    def _label(self, request: web.Request, repo: Repository) -> Label:
        found = repo.label(request.match_info["name"])
        if found is None:
            raise ApiError(404, "Not Found", f"{DOCS_LABELS}#get-a-label")
        return found

    async def list_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        labels = sorted(repo.labels.values(), key=lambda lab: lab.name.lower())
        return page_response(request, labels, lambda lab: self._label_json(repo, lab))

    async def create_label(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        body = await self._body(request)
        lab = await self.ops.create_label(
            repo,
            body.get("name"),
            self._actor(request),
            color=body.get("color") if isinstance(body.get("color"), str) else None,
            description=body.get("description")
            if isinstance(body.get("description"), str)
            else None,
        )
        return json_response(self._label_json(repo, lab), 201)

    async def get_label(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        return json_response(self._label_json(repo, self._label(request, repo)))

    async def update_label(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        lab = self._label(request, repo)
        body = await self._body(request)

        def text(key: str) -> str | None:
            value = body.get(key)
            return value if isinstance(value, str) else None

        await self.ops.edit_label(
            repo,
            lab,
            self._actor(request),
            new_name=text("new_name"),
            color=text("color"),
            description=text("description"),
        )
        return json_response(self._label_json(repo, lab))

    async def delete_label(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        await self.ops.delete_label(repo, self._label(request, repo), self._actor(request))
        return no_content()

    async def list_issue_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        return page_response(request, it.labels, lambda lab: self._label_json(repo, lab))

    async def _label_names(self, request: web.Request) -> list[str]:
        raw = await request.read()
        if not raw:
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Problems parsing JSON") from None
        return _names(data)

    async def add_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        names = await self._label_names(request)
        await self.ops.add_labels(repo, it, names, self._actor(request))
        return self._labels_response(repo, it)

    async def set_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        names = await self._label_names(request)
        await self.ops.set_labels(repo, it, names, self._actor(request))
        return self._labels_response(repo, it)

    async def clear_labels(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        await self.ops.set_labels(repo, it, [], self._actor(request))
        return no_content()

    async def remove_label(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        await self.ops.remove_label(repo, it, request.match_info["name"], self._actor(request))
        return self._labels_response(repo, it)

    # --- assignees ---------------------------------------------------------------------------

    async def add_assignees(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        body = await self._body(request)
        await self.ops.add_assignees(repo, it, _logins(body.get("assignees")), self._actor(request))
        return json_response(self._issue_json(repo, it), 201)

    async def remove_assignees(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        body = await self._body(request)
        await self.ops.remove_assignees(
            repo, it, _logins(body.get("assignees")), self._actor(request)
        )
        return json_response(self._issue_json(repo, it))

    # --- timeline ----------------------------------------------------------------------------

    async def timeline(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        it = self._issue(request, repo)
        urls = self._urls()
        entries: list[tuple[float, int, dict[str, Any]]] = []
        for ev in it.events:
            entries.append(
                (ev.created_at, ev.id, si.timeline_event(repo, it, ev, self.world, urls))
            )
        for cid in it.comment_ids:
            c = repo.comments[cid]
            entries.append((c.created_at, c.id, si.timeline_comment(repo, c, self.world, urls)))
        if it.pull is not None:
            for r in it.pull.reviews:
                if r.submitted_at is not None:
                    entries.append(
                        (
                            r.submitted_at,
                            r.id,
                            si.timeline_review(repo, it.number, r, self.world, urls),
                        )
                    )
        entries.sort(key=lambda e: (e[0], e[1]))
        chunk, headers = paginate(request, [e[2] for e in entries])
        return json_response(chunk, headers=headers)

    # --- search ------------------------------------------------------------------------------

    async def search_issues(self, request: web.Request) -> web.Response:
        caller = self._who(request)
        if caller.installation is None:
            raise ApiError(401, "Requires authentication")
        q = request.query.get("q", "")
        if not q.strip():
            raise validation_failed(
                _DOCS_SEARCH, {"resource": "Search", "field": "q", "code": "missing"}
            )
        visible = [
            r for r in self.world.repos.values() if r.id in caller.installation.repository_ids
        ]
        matches = _search(q, visible)
        if matches is None:
            raise validation_failed(
                _DOCS_SEARCH,
                {
                    "message": "The listed users and repositories cannot be searched either "
                    "because the resources do not exist or you do not have permission to "
                    "view them.",
                    "resource": "Search",
                    "field": "q",
                    "code": "invalid",
                },
            )
        sort = request.query.get("sort")
        key = _SORT_KEYS.get(sort or "created", _SORT_KEYS["created"])
        matches.sort(
            key=lambda pair: key(pair[1]), reverse=request.query.get("order", "desc") != "asc"
        )
        total = len(matches)
        chunk, headers = paginate(request, matches[:SEARCH_CAP])
        urls = self._urls()
        items = [{**si.issue(repo, it, self.world, urls), "score": 1.0} for repo, it in chunk]
        body = {
            "total_count": total,
            "incomplete_results": False,
            "items": items,
            "search_type": "lexical",
        }
        return json_response(body, headers=headers)


_QUALIFIER = re.compile(r"^(-?)([a-z_]+):(.*)$")


def _search(query: str, repos: list[Repository]) -> list[tuple[Repository, Issue]] | None:
    """Issues and pull requests of `repos` matching `query` (None: it names a repo not visible)."""
    try:
        tokens = shlex.split(query)
    except ValueError:
        tokens = query.split()
    chosen = repos
    named = [t.split(":", 1)[1] for t in tokens if t.lower().startswith("repo:")]
    if named:
        by_name = {r.full_name.lower(): r for r in repos}
        if any(n.lower() not in by_name for n in named):
            return None
        chosen = [by_name[n.lower()] for n in named]
    tests: list[Callable[[Issue], bool]] = []
    words: list[str] = []
    for token in tokens:
        m = _QUALIFIER.match(token)
        if m is None:
            words.append(token.lower())
            continue
        negate, key, value = m.group(1) == "-", m.group(2).lower(), m.group(3)
        test = _qualifier(key, value)
        if test is None:
            continue
        tests.append((lambda t: lambda it: not t(it))(test) if negate else test)
    out = []
    for repo in chosen:
        for it in repo.issues.values():
            text = f"{it.title}\n{it.body or ''}".lower()
            if all(t(it) for t in tests) and all(w in text for w in words):
                out.append((repo, it))
    return out


def _qualifier(key: str, value: str) -> Callable[[Issue], bool] | None:
    v = value.lower()
    if key == "repo":
        return None  # already applied
    if key in ("is", "state") and v in ("open", "closed"):
        return lambda it: it.state == v
    if key in ("is", "type") and v in ("issue",):
        return lambda it: it.pull is None
    if key in ("is", "type") and v in ("pr", "pull-request"):
        return lambda it: it.pull is not None
    if key == "is" and v == "merged":
        return lambda it: it.pull is not None and it.pull.merged_at is not None
    if key == "is" and v == "unmerged":
        return lambda it: it.pull is not None and it.pull.merged_at is None and it.state == "closed"
    if key == "is" and v == "draft":
        return lambda it: it.pull is not None and it.pull.draft
    if key == "label":
        # label:a,b means either; several label: qualifiers must all hold.
        names = [n.strip() for n in value.split(",") if n.strip()]
        return lambda it: any(it.has_label(n) for n in names)
    if key == "no" and v == "label":
        return lambda it: not it.labels
    if key == "no" and v == "assignee":
        return lambda it: not it.assignees
    if key == "author":
        return lambda it: it.user.login.lower() == v
    if key == "assignee":
        return lambda it: any(a.login.lower() == v for a in it.assignees)
    if key == "in":
        return None
    if key == "base":
        return lambda it: it.pull is not None and it.pull.base_ref == value
    if key == "head":
        return lambda it: it.pull is not None and it.pull.head_ref == value
    if key in ("created", "updated", "closed"):
        return _date_test(key, value)
    return None


def _date_test(key: str, value: str) -> Callable[[Issue], bool] | None:
    m = re.match(r"^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2}(?:T[\d:]+Z?)?)$", value)
    if m is None:
        return None
    op, when = m.group(1) or ">=", m.group(2)

    def stamp(it: Issue) -> str | None:
        epoch = {"created": it.created_at, "updated": it.updated_at, "closed": it.closed_at}[key]
        return iso(epoch)[: len(when)] if epoch is not None else None

    compare: dict[str, Callable[[str, str], bool]] = {
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
    }

    def test(it: Issue) -> bool:
        got = stamp(it)
        return got is not None and compare[op](got, when)

    return test
