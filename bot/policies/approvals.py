"""lts/approvals: who must sign off on an LTS pull request, who has, and what is still missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

from bot.commands import ApproveCommand, parse_comment
from bot.config import ROLE_DEFAULT_PERMISSION, RepoConfig, RoleName
from bot.decisions import CheckRunDecision
from bot.policies.triage import FAST_TRACK_APPROVERS, NORMAL_APPROVERS, SECURITY_APPROVER

__all__ = [
    "APPROVER_ROLES",
    "CHECK_NAME",
    "ApprovalResult",
    "ApprovalSnapshot",
    "NotCounted",
    "Review",
    "ReviewState",
    "SignOff",
    "SignedOff",
    "evaluate",
    "is_bot",
    "required_roles",
    "same_patch",
]

CHECK_NAME = "lts/approvals"
REVIEWER = "reviewer"
# The roles whose holders sign off on pull requests, in the order the summary lists them.
APPROVER_ROLES: tuple[str, ...] = ("reviewer", "qa", "release-manager", "security", "eng-lead")

ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]

_ROLE_TITLES: dict[str, str] = {
    "reviewer": "reviewer",
    "qa": "QA",
    "release-manager": "release manager",
    "security": "security",
    "eng-lead": "eng lead",
}
_ROLE_NAMES: dict[str, RoleName] = {name: name for name in ROLE_DEFAULT_PERMISSION}
_SHORT_SHA = 7


@dataclass(frozen=True)
class Review:
    """A pull-request review as GitHub lists it; a dismissed review has state DISMISSED."""

    author: str
    state: ReviewState
    commit_sha: str
    submitted_at: datetime
    body: str = ""


@dataclass(frozen=True)
class SignOff:
    """One `/approve <role>` (or `/approve cancel <role>`) comment, at the head SHA it saw."""

    actor: str
    role: str
    sha: str
    at: datetime
    cancel: bool = False


@dataclass(frozen=True)
class ApprovalSnapshot:
    """What lts/approvals decides from; `roles_of` maps logins to the LTS roles they hold.

    `patch_ids` maps commit SHAs to the patch id of the pull request at that head (as
    `git patch-id --stable` gives), so a sign-off survives a rebase that changes nothing.
    """

    pr_author: str
    head_sha: str
    commit_authors: frozenset[str] = frozenset()
    patch_ids: Mapping[str, str] = field(default_factory=dict)
    reviews: Sequence[Review] = ()
    sign_offs: Sequence[SignOff] = ()
    roles_of: Mapping[str, frozenset[str]] = field(default_factory=dict)
    security: bool = False
    fast_track: bool = False
    bots: frozenset[str] = frozenset()


class SignedOff(NamedTuple):
    """Who fills a role and at which commit they signed off."""

    login: str
    sha: str


@dataclass(frozen=True)
class NotCounted:
    """A sign-off that exists but does not fill a role, and why (shown in the summary)."""

    login: str
    role: str
    reason: str


@dataclass(frozen=True)
class ApprovalResult:
    """The check run plus the matrix it was drawn from, for the gate and the status comment."""

    decision: CheckRunDecision
    required: tuple[str, ...]
    filled: Mapping[str, SignedOff]
    missing: tuple[str, ...]
    blocked_by: tuple[str, ...]
    not_counted: tuple[NotCounted, ...] = ()

    @property
    def approved(self) -> bool:
        return not self.missing and not self.blocked_by


def required_roles(security: bool, fast_track: bool) -> tuple[str, ...]:
    """Normal: reviewer + QA + release manager; fast-track: eng lead + release manager.

    A security-sensitive change adds security to either. Same table as
    `bot.policies.triage.required_approvers`, which works from a ticket.
    """
    roles = FAST_TRACK_APPROVERS if fast_track else NORMAL_APPROVERS
    return (*roles, SECURITY_APPROVER) if security else roles


def is_bot(login: str, bots: frozenset[str] = frozenset()) -> bool:
    """GitHub Apps act as `<slug>[bot]`; `bots` adds machine users that look like people."""
    key = login.casefold()
    return key.endswith("[bot]") or key in {bot.casefold() for bot in bots}


def same_patch(sha: str, head_sha: str, patch_ids: Mapping[str, str]) -> bool:
    """Whether a sign-off given at `sha` still holds for `head_sha`."""
    if sha.casefold() == head_sha.casefold():
        return True
    patch = patch_ids.get(sha)
    return patch is not None and patch == patch_ids.get(head_sha)


# --- collecting sign-offs ----------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    login: str
    role: str
    at: datetime
    sha: str | None  # None withdraws the sign-off


@dataclass(frozen=True)
class _Candidate:
    login: str
    role: str
    first_at: datetime
    signed: SignedOff


def _review_roles(body: str) -> tuple[str, ...]:
    """The roles an approving review is for: those its body names, else reviewer."""
    named = [
        command.role
        for command in parse_comment(body).commands
        if isinstance(command, ApproveCommand) and not command.cancel
    ]
    return tuple(dict.fromkeys(named)) or (REVIEWER,)


def _review_standing(reviews: Sequence[Review]) -> tuple[list[Review], Review | None]:
    """One person's approving reviews still in force, and the change request that is.

    Like GitHub, the latest review that is not a plain comment decides: a change request
    ends earlier approvals and blocks until a later approval supersedes it or it is
    dismissed. Every approval since then counts, so re-approving at an older commit never
    takes back an approval at a newer one.
    """
    approvals: list[Review] = []
    changes: Review | None = None
    for review in reviews:
        if review.state == "APPROVED":
            approvals.append(review)
            changes = None
        elif review.state == "CHANGES_REQUESTED":
            approvals, changes = [], review
        elif review.state == "DISMISSED":
            approvals, changes = [], None
    return approvals, changes


def _collect(snapshot: ApprovalSnapshot) -> tuple[list[_Event], dict[str, Review]]:
    """Sign-off events in time order and standing change requests, by casefolded login.

    The pull request's author and bots are dropped here, before anything is counted:
    GitHub does not let an author review their own pull request, and their `/approve`
    never counts, so leaving them out makes their activity provably irrelevant.
    """
    author = snapshot.pr_author.casefold()

    def ignored(login: str) -> bool:
        return login.casefold() == author or is_bot(login, snapshot.bots)

    by_author: dict[str, list[Review]] = {}
    ordered = sorted(enumerate(snapshot.reviews), key=lambda pair: (pair[1].submitted_at, pair[0]))
    for _, review in ordered:
        if not ignored(review.author):
            by_author.setdefault(review.author.casefold(), []).append(review)

    events: list[_Event] = []
    changes: dict[str, Review] = {}
    for key, reviews in by_author.items():
        approvals, change = _review_standing(reviews)
        if change is not None:
            changes[key] = change
        for review in approvals:
            for role in _review_roles(review.body):
                events.append(_Event(key, role, review.submitted_at, review.commit_sha))
    for sign_off in snapshot.sign_offs:
        if not ignored(sign_off.actor):
            sha = None if sign_off.cancel else sign_off.sha
            events.append(_Event(sign_off.actor.casefold(), sign_off.role, sign_off.at, sha))
    # Stable: at the same instant a review's approval comes before a comment's cancel.
    events.sort(key=lambda event: event.at)
    return events, changes


def _names(snapshot: ApprovalSnapshot) -> dict[str, str]:
    """Casefolded login -> the spelling to show, the first one seen."""
    names: dict[str, str] = {}
    for review in snapshot.reviews:
        names.setdefault(review.author.casefold(), review.author)
    for sign_off in snapshot.sign_offs:
        names.setdefault(sign_off.actor.casefold(), sign_off.actor)
    return names


def _candidates(
    snapshot: ApprovalSnapshot,
    required: tuple[str, ...],
    events: list[_Event],
    names: Mapping[str, str],
) -> tuple[list[_Candidate], list[NotCounted]]:
    """Sign-offs in force that may fill a required role, and those that may not (why)."""
    roles = {login.casefold(): held for login, held in snapshot.roles_of.items()}
    committers = {login.casefold() for login in snapshot.commit_authors}

    standing: dict[tuple[str, str], list[tuple[str, datetime]]] = {}
    for event in events:
        signed = standing.setdefault((event.login, event.role), [])
        if event.sha is None:
            signed.clear()
        else:
            signed.append((event.sha, event.at))

    candidates: list[_Candidate] = []
    notes: list[NotCounted] = []
    for (login, role), signed in standing.items():
        if not signed or role not in required:
            continue
        name = names[login]
        if login in committers:
            notes.append(NotCounted(name, role, "authored commits in this pull request"))
            continue
        if role not in roles.get(login, frozenset()):
            notes.append(NotCounted(name, role, f"does not hold the {role} role"))
            continue
        valid = [
            (sha, at)
            for sha, at in signed
            if same_patch(sha, snapshot.head_sha, snapshot.patch_ids)
        ]
        if not valid:
            stale = signed[-1][0][:_SHORT_SHA]
            notes.append(
                NotCounted(name, role, f"signed off at `{stale}`; the patch has changed since")
            )
            continue
        sha, _ = valid[-1]
        candidates.append(_Candidate(name, role, valid[0][1], SignedOff(name, sha)))
    return candidates, notes


def _assign(required: tuple[str, ...], candidates: list[_Candidate]) -> dict[str, _Candidate]:
    """Fill as many roles as possible with one role per person (a maximum matching).

    Augmenting paths (Kuhn's algorithm) over roles in `required` order, trying the people
    who signed off first before later ones (then by login), so the result is deterministic
    and adding a sign-off can only keep or grow the number of roles filled.
    """
    by_role: dict[str, list[_Candidate]] = {role: [] for role in required}
    for candidate in candidates:
        by_role[candidate.role].append(candidate)
    for options in by_role.values():
        options.sort(key=lambda c: (c.first_at, c.login.casefold(), c.login))

    role_of: dict[str, str] = {}  # casefolded login -> role
    chosen: dict[str, _Candidate] = {}

    def augment(role: str, seen: set[str]) -> bool:
        for candidate in by_role[role]:
            key = candidate.login.casefold()
            if key in seen:
                continue
            seen.add(key)
            current = role_of.get(key)
            if current is None or augment(current, seen):
                role_of[key] = role
                chosen[role] = candidate
                return True
        return False

    for role in required:
        augment(role, set())
    return chosen


# --- deciding ----------------------------------------------------------------------------


def evaluate(snapshot: ApprovalSnapshot, config: RepoConfig) -> ApprovalResult:
    """Decide lts/approvals: every required role filled and no change request in force.

    Rules: the author, commit authors and bots never count; a person fills at most one
    role; a plain approving review counts for reviewer, one whose body says
    `/approve <role>` for that role; `/approve <role>` comments count for their role and
    `/approve cancel <role>` withdraws them; a sign-off holds at the head SHA or at any
    commit with the same patch id; a change request from a holder of any approver role
    blocks until dismissed or superseded by the same person's approving review.
    """
    required = required_roles(snapshot.security, snapshot.fast_track)
    names = _names(snapshot)
    events, changes = _collect(snapshot)
    candidates, notes = _candidates(snapshot, required, events, names)
    chosen = _assign(required, candidates)

    filled = {role: chosen[role].signed for role in required if role in chosen}
    missing = tuple(role for role in required if role not in chosen)
    assigned = {c.login.casefold() for c in chosen.values()}
    for candidate in candidates:
        key = candidate.login.casefold()
        if key in assigned and chosen.get(candidate.role) != candidate:
            other = next(role for role, c in chosen.items() if c.login.casefold() == key)
            notes.append(
                NotCounted(candidate.login, candidate.role, f"already fills {_title(other)}")
            )

    roles = {login.casefold(): held for login, held in snapshot.roles_of.items()}
    blockers = sorted(
        (
            review
            for key, review in changes.items()
            if roles.get(key, frozenset()) & set(APPROVER_ROLES)
        ),
        key=lambda review: (review.author.casefold(), review.author),
    )
    blocked_by = tuple(review.author for review in blockers)
    notes.sort(key=lambda n: (_order(n.role), n.login.casefold(), n.login, n.reason))

    decision = CheckRunDecision(
        name=CHECK_NAME,
        conclusion="success" if not missing and not blocked_by else "failure",
        title=_headline(required, missing, blocked_by),
        summary=_summary(snapshot, config, required, filled, missing, blockers, notes),
    )
    return ApprovalResult(decision, required, filled, missing, blocked_by, tuple(notes))


# --- rendering ---------------------------------------------------------------------------


def _title(role: str) -> str:
    return _ROLE_TITLES.get(role, role)


def _order(role: str) -> int:
    return APPROVER_ROLES.index(role) if role in APPROVER_ROLES else len(APPROVER_ROLES)


def _words(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _headline(
    required: tuple[str, ...], missing: tuple[str, ...], blocked_by: tuple[str, ...]
) -> str:
    if blocked_by:
        return f"Changes requested by {_words([f'@{login}' for login in blocked_by])}"
    if missing:
        done = len(required) - len(missing)
        return (
            f"{done} of {len(required)} sign-offs; waiting for "
            f"{_words([_title(role) for role in missing])}"
        )
    return f"Signed off by {_words([_title(role) for role in required])}"


def who_can(role: str, config: RepoConfig) -> str:
    """How `role` signs off and who holds it, for people reading a check or a reminder."""
    return _who_can(role, config)


def _who_can(role: str, config: RepoConfig) -> str:
    name = _ROLE_NAMES[role]  # every required role is a configurable role
    members = config.roles.members(name)
    if members:
        people = ", ".join(member.mention for member in members)
    else:
        people = f"anyone with {ROLE_DEFAULT_PERMISSION[name]} permission or above"
    how = "an approving review" if role == REVIEWER else f"`/approve {role}`"
    return f"{how} from {people}"


def _summary(
    snapshot: ApprovalSnapshot,
    config: RepoConfig,
    required: tuple[str, ...],
    filled: Mapping[str, SignedOff],
    missing: tuple[str, ...],
    blockers: Sequence[Review],
    notes: Sequence[NotCounted],
) -> str:
    kind = "Emergency fast-track" if snapshot.fast_track else "Normal change"
    if snapshot.security:
        # The release checklist reads this phrase as "security had to sign off".
        kind += ", security-sensitive"
    head = snapshot.head_sha[:_SHORT_SHA]
    lines = [
        f"**{kind}**: {_words([_title(role) for role in required])} must sign off (head `{head}`).",
        "",
        "| Role | Signed off | Still needed |",
        "| --- | --- | --- |",
    ]
    for role in required:
        signed = filled.get(role)
        if signed is None:
            lines.append(f"| {_title(role)} | ❌ missing | {_who_can(role, config)} |")
            continue
        sha = f"`{signed.sha[:_SHORT_SHA]}`"
        if signed.sha.casefold() != snapshot.head_sha.casefold():
            sha += " (same patch as head)"
        lines.append(f"| {_title(role)} | ✅ @{signed.login} at {sha} | — |")
    if blockers:
        lines += ["", "**Blocked by change requests:**"]
        for review in blockers:
            lines.append(
                f"- @{review.author} requested changes at `{review.commit_sha[:_SHORT_SHA]}`; "
                f"this holds until the review is dismissed or @{review.author} approves."
            )
    if notes:
        lines += ["", "**Not counted:**"]
        for note in notes:
            lines.append(f"- @{note.login} as {_title(note.role)}: {note.reason}")
    lines += [
        "",
        "The pull request's author, commit authors and bots cannot sign off, and one person "
        "fills at most one role. A push that changes the patch needs new sign-offs; a "
        "rebase that leaves it identical keeps them.",
    ]
    return "\n".join(lines)
