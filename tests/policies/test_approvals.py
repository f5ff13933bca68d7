"""lts/approvals: the approval matrix, who counts, one role per person, SHA binding, blocks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import RepoConfig
from bot.policies.approvals import (
    APPROVER_ROLES,
    ApprovalResult,
    ApprovalSnapshot,
    NotCounted,
    Review,
    ReviewState,
    SignedOff,
    SignOff,
    evaluate,
    is_bot,
    required_roles,
    same_patch,
)
from bot.policies.triage import required_approvers
from bot.ticket import TicketState

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HEAD = "headc0ffee1234"
OLD = "01dbeef5678"
CONFIG = RepoConfig()

AUTHOR = "ana"
# One holder per role, a few people with several, and the author holding roles too.
ROLES: dict[str, frozenset[str]] = {
    "ana": frozenset({"reviewer", "qa"}),
    "rita": frozenset({"reviewer"}),
    "rob": frozenset({"reviewer"}),
    "quinn": frozenset({"qa"}),
    "remy": frozenset({"release-manager"}),
    "sam": frozenset({"security"}),
    "eli": frozenset({"eng-lead"}),
    "multi": frozenset({"reviewer", "qa", "release-manager"}),
    "cody": frozenset({"qa"}),  # pushes a commit to the pull request in some cases
    "helper[bot]": frozenset({"reviewer", "qa"}),
    "machine": frozenset({"release-manager"}),
}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def review(
    author: str, state: ReviewState = "APPROVED", t: int = 0, sha: str = HEAD, body: str = ""
) -> Review:
    return Review(author, state, sha, at(t), body)


def sign(actor: str, role: str, t: int = 0, sha: str = HEAD, cancel: bool = False) -> SignOff:
    return SignOff(actor, role, sha, at(t), cancel)


def snapshot(
    reviews: tuple[Review, ...] = (), sign_offs: tuple[SignOff, ...] = (), **kw: Any
) -> ApprovalSnapshot:
    base: dict[str, Any] = {
        "pr_author": AUTHOR,
        "head_sha": HEAD,
        "commit_authors": frozenset({AUTHOR}),
        "roles_of": ROLES,
        "bots": frozenset({"machine"}),
    }
    return ApprovalSnapshot(reviews=reviews, sign_offs=sign_offs, **(base | kw))


NORMAL_OK = (review("rita"),), (sign("quinn", "qa"), sign("remy", "release-manager"))


# --- the matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "fast_track", "expected"),
    [
        (False, False, ("reviewer", "qa", "release-manager")),
        (True, False, ("reviewer", "qa", "release-manager", "security")),
        (False, True, ("eng-lead", "release-manager")),
        (True, True, ("eng-lead", "release-manager", "security")),
    ],
)
def test_required_roles_follow_the_matrix(
    security: bool, fast_track: bool, expected: tuple[str, ...]
) -> None:
    assert required_roles(security, fast_track) == expected
    ticket = TicketState(number=1, security=security)
    assert required_approvers(ticket, fast_track=fast_track) == expected


# --- the rules, table-driven -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    reviews: tuple[Review, ...] = ()
    sign_offs: tuple[SignOff, ...] = ()
    missing: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    filled: dict[str, str] | None = None  # role -> login, when the case is about who
    not_counted: tuple[tuple[str, str, str], ...] = ()  # (login, role, part of the reason)
    snapshot: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "a reviewer's approval, QA and release manager sign-offs fill a normal change",
        *NORMAL_OK,
        filled={"reviewer": "rita", "qa": "quinn", "release-manager": "remy"},
    ),
    Case("nothing signed leaves every role missing", missing=("reviewer", "qa", "release-manager")),
    # who may approve
    Case(
        "the author's approving review does not count",
        reviews=(review("ana"),),
        sign_offs=NORMAL_OK[1],
        missing=("reviewer",),
    ),
    Case(
        "the author's /approve does not count, whatever the login's case",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("ANA", "qa"), sign("remy", "release-manager")),
        missing=("qa",),
    ),
    Case(
        "a commit author's sign-off does not count and says why",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("cody", "qa"), sign("remy", "release-manager")),
        missing=("qa",),
        not_counted=(("cody", "qa", "authored commits"),),
        snapshot={"commit_authors": frozenset({"ana", "Cody"})},
    ),
    Case(
        "an App's bot account does not count",
        reviews=(review("helper[bot]"),),
        sign_offs=NORMAL_OK[1],
        missing=("reviewer",),
    ),
    Case(
        "a machine user listed in bots does not count",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("quinn", "qa"), sign("machine", "release-manager")),
        missing=("release-manager",),
    ),
    Case(
        "a sign-off for a role the person does not hold does not count",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("quinn", "qa"), sign("quinn", "release-manager")),
        missing=("release-manager",),
        not_counted=(("quinn", "release-manager", "does not hold"),),
    ),
    Case(
        "an approving review from someone without the reviewer role does not count",
        reviews=(review("quinn"),),
        sign_offs=(sign("multi", "qa"), sign("remy", "release-manager")),
        missing=("reviewer",),
        not_counted=(("quinn", "reviewer", "does not hold"),),
    ),
    # one person, one role
    Case(
        "one person holding three roles fills only one of them",
        reviews=(review("multi"),),
        sign_offs=(sign("multi", "qa"), sign("multi", "release-manager")),
        missing=("qa", "release-manager"),
        filled={"reviewer": "multi"},
        not_counted=(
            ("multi", "qa", "already fills reviewer"),
            ("multi", "release-manager", "already fills reviewer"),
        ),
    ),
    Case(
        "people move between roles so that the most roles are filled",
        # multi signed first as reviewer, but is the only QA; rita takes reviewer.
        reviews=(review("multi", t=0), review("rita", t=5)),
        sign_offs=(sign("multi", "qa", t=1), sign("remy", "release-manager")),
        filled={"reviewer": "rita", "qa": "multi", "release-manager": "remy"},
    ),
    Case(
        "among equal choices the first to sign off fills the role",
        reviews=(review("rob", t=3), review("rita", t=1)),
        sign_offs=NORMAL_OK[1],
        filled={"reviewer": "rita", "qa": "quinn", "release-manager": "remy"},
    ),
    # reviews naming a role
    Case(
        "an approving review saying /approve qa counts for QA, not reviewer",
        reviews=(review("multi", body="Tested on 1.4.\n\n/approve qa"),),
        sign_offs=(sign("remy", "release-manager"),),
        missing=("reviewer",),
        filled={"qa": "multi", "release-manager": "remy"},
    ),
    Case(
        "/approve inside a code block in a review body does not name a role",
        reviews=(review("multi", body="```\n/approve qa\n```"),),
        sign_offs=(sign("quinn", "qa"), sign("remy", "release-manager")),
        filled={"reviewer": "multi", "qa": "quinn", "release-manager": "remy"},
    ),
    Case(
        "/approve cancel withdraws a sign-off given in a review body",
        reviews=(review("quinn", body="/approve qa"), review("rita")),
        sign_offs=(sign("quinn", "qa", t=5, cancel=True), sign("remy", "release-manager")),
        missing=("qa",),
    ),
    # /approve and /approve cancel
    Case(
        "/approve cancel withdraws an earlier sign-off",
        reviews=NORMAL_OK[0],
        sign_offs=(
            sign("quinn", "qa", t=1),
            sign("quinn", "qa", t=2, cancel=True),
            sign("remy", "release-manager"),
        ),
        missing=("qa",),
    ),
    Case(
        "signing off again after a cancel counts",
        reviews=NORMAL_OK[0],
        sign_offs=(
            sign("quinn", "qa", t=1),
            sign("quinn", "qa", t=2, cancel=True),
            sign("quinn", "qa", t=3),
            sign("remy", "release-manager"),
        ),
    ),
    Case(
        "a cancel only withdraws the role it names",
        reviews=NORMAL_OK[0],
        sign_offs=(*NORMAL_OK[1], sign("quinn", "release-manager", t=4, cancel=True)),
    ),
    # change requests
    Case(
        "changes requested by a role holder block even when every role is filled",
        reviews=(review("rita"), review("rob", "CHANGES_REQUESTED", t=2)),
        sign_offs=NORMAL_OK[1],
        blocked_by=("rob",),
    ),
    Case(
        "changes requested after approving take the approval back",
        reviews=(review("rita", t=1), review("rita", "CHANGES_REQUESTED", t=2)),
        sign_offs=NORMAL_OK[1],
        missing=("reviewer",),
        blocked_by=("rita",),
    ),
    Case(
        "a dismissed change request no longer blocks",
        reviews=(review("rita"), review("rob", "DISMISSED", t=2)),
        sign_offs=NORMAL_OK[1],
    ),
    Case(
        "a later approval by the same person supersedes the change request",
        reviews=(review("rob", "CHANGES_REQUESTED", t=1), review("rob", t=2)),
        sign_offs=NORMAL_OK[1],
    ),
    Case(
        "a later comment review does not supersede the change request",
        reviews=(
            review("rita"),
            review("rob", "CHANGES_REQUESTED", t=1),
            review("rob", "COMMENTED", t=2),
        ),
        sign_offs=NORMAL_OK[1],
        blocked_by=("rob",),
    ),
    Case(
        "another person's approval does not supersede a change request",
        reviews=(review("rob", "CHANGES_REQUESTED", t=1), review("rita", t=2)),
        sign_offs=NORMAL_OK[1],
        blocked_by=("rob",),
    ),
    Case(
        "changes requested by someone holding no approver role do not block",
        reviews=(review("rita"), review("visitor", "CHANGES_REQUESTED", t=2)),
        sign_offs=NORMAL_OK[1],
    ),
    Case(
        "changes requested by a bot do not block",
        reviews=(review("rita"), review("helper[bot]", "CHANGES_REQUESTED", t=2)),
        sign_offs=NORMAL_OK[1],
    ),
    Case(
        "changes requested by a commit author who holds a role block",
        reviews=(review("rita"), review("cody", "CHANGES_REQUESTED", t=2)),
        sign_offs=NORMAL_OK[1],
        blocked_by=("cody",),
        snapshot={"commit_authors": frozenset({"ana", "cody"})},
    ),
    # SHA binding
    Case(
        "a sign-off at an older commit with a different patch does not count",
        reviews=(review("rita", sha=OLD),),
        sign_offs=NORMAL_OK[1],
        missing=("reviewer",),
        not_counted=(("rita", "reviewer", "patch has changed"),),
        snapshot={"patch_ids": {OLD: "p-old", HEAD: "p-new"}},
    ),
    Case(
        "a sign-off survives a rebase that leaves the patch identical",
        reviews=(review("rita", sha=OLD),),
        sign_offs=(sign("quinn", "qa", sha=OLD), sign("remy", "release-manager")),
        filled={"reviewer": "rita", "qa": "quinn", "release-manager": "remy"},
        snapshot={"patch_ids": {OLD: "p-same", HEAD: "p-same"}},
    ),
    Case(
        "without a patch id for the head an older sign-off does not count",
        reviews=(review("rita", sha=OLD),),
        sign_offs=NORMAL_OK[1],
        missing=("reviewer",),
        snapshot={"patch_ids": {OLD: "p-same"}},
    ),
    Case(
        "re-approving at an older commit keeps the approval at the head",
        reviews=(review("rita", t=1), review("rita", t=2, sha=OLD)),
        sign_offs=NORMAL_OK[1],
        snapshot={"patch_ids": {OLD: "p-old", HEAD: "p-new"}},
    ),
    Case(
        "a fresh sign-off at the head replaces a stale one",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("quinn", "qa", sha=OLD), sign("quinn", "qa", t=3), NORMAL_OK[1][1]),
    ),
    # security and fast-track
    Case(
        "a security-sensitive change also needs security",
        *NORMAL_OK,
        missing=("security",),
        snapshot={"security": True},
    ),
    Case(
        "a security-sensitive change with security's sign-off is complete",
        reviews=NORMAL_OK[0],
        sign_offs=(*NORMAL_OK[1], sign("sam", "security")),
        snapshot={"security": True},
    ),
    Case(
        "fast-track needs the eng lead and the release manager only",
        sign_offs=(sign("eli", "eng-lead"), sign("remy", "release-manager")),
        snapshot={"fast_track": True},
    ),
    Case(
        "fast-track without the eng lead is missing it even with the normal sign-offs",
        *NORMAL_OK,
        missing=("eng-lead",),
        snapshot={"fast_track": True},
    ),
    Case(
        "a security-sensitive fast-track also needs security",
        sign_offs=(sign("eli", "eng-lead"), sign("remy", "release-manager")),
        missing=("security",),
        snapshot={"fast_track": True, "security": True},
    ),
    Case(
        "an eng lead's sign-off is not needed on a normal change and changes nothing",
        reviews=NORMAL_OK[0],
        sign_offs=(sign("eli", "eng-lead"), sign("quinn", "qa")),
        missing=("release-manager",),
    ),
    # GitHub logins ignore case
    Case(
        "logins match roles and authors without regard to case",
        reviews=(review("Rita"),),
        sign_offs=(sign("QUINN", "qa"), sign("Remy", "release-manager")),
        filled={"reviewer": "Rita", "qa": "QUINN", "release-manager": "Remy"},
        snapshot={"roles_of": {k.upper(): v for k, v in ROLES.items()}, "pr_author": "Ana"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_approval_rules(case: Case) -> None:
    result = evaluate(snapshot(case.reviews, case.sign_offs, **case.snapshot), CONFIG)
    assert result.missing == case.missing
    assert result.blocked_by == case.blocked_by
    ok = not case.missing and not case.blocked_by
    assert result.approved is ok
    assert result.decision.conclusion == ("success" if ok else "failure")
    assert result.decision.name == "lts/approvals"
    assert set(result.filled) == set(result.required) - set(case.missing)
    if case.filled is not None:
        assert {role: s.login for role, s in result.filled.items()} == case.filled
    for login, role, reason in case.not_counted:
        assert any(
            n.login.casefold() == login and n.role == role and reason in n.reason
            for n in result.not_counted
        ), result.not_counted


def test_a_sign_off_carries_the_commit_it_was_given_at() -> None:
    reviews = (review("rita", sha=OLD),)
    result = evaluate(snapshot(reviews, NORMAL_OK[1], patch_ids={OLD: "p", HEAD: "p"}), CONFIG)
    assert result.filled["reviewer"] == SignedOff("rita", OLD)
    assert result.filled["qa"] == ("quinn", HEAD)
    assert "✅ @rita at `01dbeef` (same patch as head)" in result.decision.summary


def test_the_author_is_not_listed_as_not_counted_since_the_summary_states_the_rule() -> None:
    result = evaluate(snapshot((review("ana"),), (sign("ana", "qa"),)), CONFIG)
    assert result.not_counted == ()
    assert "author, commit authors and bots cannot sign off" in result.decision.summary


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("dependabot[bot]", True),
        ("Renovate[BOT]", True),
        ("machine", True),
        ("MACHINE", True),
        ("rita", False),
        ("bot", False),
    ],
)
def test_is_bot_knows_app_accounts_and_listed_machine_users(login: str, expected: bool) -> None:
    assert is_bot(login, frozenset({"Machine"})) is expected


@pytest.mark.parametrize(
    ("sha", "patch_ids", "expected"),
    [
        (HEAD, {}, True),
        (HEAD.upper(), {}, True),
        (OLD, {}, False),
        (OLD, {OLD: "p"}, False),
        (OLD, {OLD: "p", HEAD: "p"}, True),
        (OLD, {OLD: "p", HEAD: "q"}, False),
    ],
)
def test_same_patch_binds_a_sign_off_to_its_patch(
    sha: str, patch_ids: dict[str, str], expected: bool
) -> None:
    assert same_patch(sha, HEAD, patch_ids) is expected


# --- the check run -----------------------------------------------------------------------


def test_titles_say_what_is_done_or_missing_or_blocking() -> None:
    def title(*args: Any, **kw: Any) -> str:
        return evaluate(snapshot(*args, **kw), CONFIG).decision.title

    assert title(*NORMAL_OK) == "Signed off by reviewer, QA and release manager"
    assert title(NORMAL_OK[0]) == "1 of 3 sign-offs; waiting for QA and release manager"
    blocked = (
        review("rita"),
        review("rob", "CHANGES_REQUESTED"),
        review("multi", "CHANGES_REQUESTED"),
    )
    assert title(blocked, NORMAL_OK[1]) == "Changes requested by @multi and @rob"


def test_the_summary_is_a_table_of_roles_signers_and_what_is_missing() -> None:
    config = RepoConfig.model_validate({"roles": {"qa": ["@acme/qa", "quinn"]}})
    reviews = (review("rita"), review("rob", "CHANGES_REQUESTED", sha=OLD))
    result = evaluate(snapshot(reviews, (sign("quinn", "security"),), security=True), config)
    summary = result.decision.summary
    assert summary.startswith("**Normal change, security-sensitive**: reviewer, QA, ")
    assert "| Role | Signed off | Still needed |" in summary
    assert "| reviewer | ✅ @rita at `headc0f` | — |" in summary
    assert "| QA | ❌ missing | `/approve qa` from @acme/qa, @quinn |" in summary
    assert (
        "| release manager | ❌ missing | `/approve release-manager` from anyone with "
        "maintain permission or above |"
    ) in summary
    assert "- @rob requested changes at `01dbeef`" in summary
    assert "- @quinn as security: does not hold the security role" in summary


def test_a_missing_reviewer_is_asked_for_as_an_approving_review() -> None:
    summary = evaluate(snapshot(), CONFIG).decision.summary
    assert (
        "| reviewer | ❌ missing | an approving review from anyone with write permission" in summary
    )


def test_a_fast_track_summary_says_so() -> None:
    summary = evaluate(snapshot(fast_track=True), CONFIG).decision.summary
    assert summary.startswith(
        "**Emergency fast-track**: eng lead and release manager must sign off"
    )


# --- properties --------------------------------------------------------------------------

# Five people who each hold one role and often sign off at the head, so that many
# generated pull requests are green, plus people whose roles and activity are random.
HOLDERS = {"rita": "reviewer", "quinn": "qa", "remy": "release-manager", "sam": "security"}
HOLDERS |= {"eli": "eng-lead"}
OTHERS = ("ana", "Ana", "multi", "cody", "helper[bot]", "machine", "visitor")
LOGINS = (*HOLDERS, *OTHERS)
SHAS = ("s3", "s3", "s2", "s1")  # s3 is the head
TIMES = st.integers(0, 12).map(at)
BODIES = st.sampled_from(["", "LGTM", "/approve qa", "/approve security\n/approve eng-lead"])

reviews_st = st.builds(
    Review,
    author=st.sampled_from(LOGINS),
    state=st.sampled_from(["APPROVED", "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]),
    commit_sha=st.sampled_from(SHAS),
    submitted_at=TIMES,
    body=BODIES,
)
sign_offs_st = st.builds(
    SignOff,
    actor=st.sampled_from(LOGINS),
    role=st.sampled_from(APPROVER_ROLES),
    sha=st.sampled_from(SHAS),
    at=TIMES,
    cancel=st.sampled_from([False, False, False, True]),
)


@st.composite
def snapshots(draw: st.DrawFn) -> ApprovalSnapshot:
    holders = draw(st.lists(st.sampled_from(sorted(HOLDERS)), unique=True))
    signed = [
        Review(login, "APPROVED", "s3", draw(TIMES))
        if HOLDERS[login] == "reviewer"
        else SignOff(login, HOLDERS[login], "s3", draw(TIMES))
        for login in holders
    ]
    noise_reviews = draw(st.lists(reviews_st, max_size=5))
    noise_sign_offs = draw(st.lists(sign_offs_st, max_size=5))
    reviews = draw(st.permutations([r for r in signed if isinstance(r, Review)] + noise_reviews))
    sign_offs = draw(
        st.permutations([s for s in signed if isinstance(s, SignOff)] + noise_sign_offs)
    )
    roles_of = {login: frozenset({role}) for login, role in HOLDERS.items()}
    roles_of |= draw(
        st.dictionaries(
            st.sampled_from(OTHERS), st.frozensets(st.sampled_from(APPROVER_ROLES), max_size=3)
        )
    )
    return ApprovalSnapshot(
        pr_author="ana",
        head_sha="s3",
        commit_authors=draw(st.frozensets(st.sampled_from(LOGINS), max_size=2)),
        patch_ids=draw(st.dictionaries(st.sampled_from(SHAS), st.sampled_from(["p1", "p2"]))),
        reviews=tuple(reviews),
        sign_offs=tuple(sign_offs),
        roles_of=roles_of,
        security=draw(st.booleans()),
        fast_track=draw(st.booleans()),
        bots=frozenset({"machine"}),
    )


PROPERTY = settings(max_examples=120, deadline=None)


def _with_approval(data: st.DataObject, snap: ApprovalSnapshot) -> ApprovalSnapshot:
    """The snapshot plus one approving review or one /approve, anywhere in the order.

    Half the time it is someone who already took part approving again a little later at
    an older commit: where a careless "latest wins" rule would take an approval back.
    """
    again = data.draw(st.booleans(), label="again")
    sha = data.draw(st.sampled_from(("s1", "s2")), label="older sha")
    later = timedelta(minutes=data.draw(st.integers(1, 3), label="later"))
    if data.draw(st.booleans(), label="as review"):
        new = data.draw(reviews_st, label="review")
        approving = [r for r in snap.reviews if r.state == "APPROVED"]
        if approving and again:
            old = data.draw(st.sampled_from(approving), label="again review")
            new = replace(old, commit_sha=sha, submitted_at=old.submitted_at + later)
        index = data.draw(st.integers(0, len(snap.reviews)), label="index")
        reviews = (*snap.reviews[:index], replace(new, state="APPROVED"), *snap.reviews[index:])
        return replace(snap, reviews=reviews)
    new_sign = data.draw(sign_offs_st, label="sign-off")
    signing = [s for s in snap.sign_offs if not s.cancel]
    if signing and again:
        old_sign = data.draw(st.sampled_from(signing), label="again sign-off")
        new_sign = replace(old_sign, sha=sha, at=old_sign.at + later)
    index = data.draw(st.integers(0, len(snap.sign_offs)), label="index")
    sign_offs = (*snap.sign_offs[:index], replace(new_sign, cancel=False), *snap.sign_offs[index:])
    return replace(snap, sign_offs=sign_offs)


@PROPERTY
@given(data=st.data(), snap=snapshots())
def test_adding_an_approval_never_turns_green_red(
    data: st.DataObject, snap: ApprovalSnapshot
) -> None:
    before = evaluate(snap, CONFIG)
    after = evaluate(_with_approval(data, snap), CONFIG)
    if before.decision.conclusion == "success":
        assert after.decision.conclusion == "success"
    # Stronger: no role goes missing and nobody starts blocking.
    assert len(after.missing) <= len(before.missing)
    assert set(after.blocked_by) <= set(before.blocked_by)


def _without_author_approvals(snap: ApprovalSnapshot) -> ApprovalSnapshot:
    author = snap.pr_author.casefold()
    return replace(
        snap,
        reviews=tuple(
            r for r in snap.reviews if not (r.author.casefold() == author and r.state == "APPROVED")
        ),
        sign_offs=tuple(
            s for s in snap.sign_offs if not (s.actor.casefold() == author and not s.cancel)
        ),
    )


@PROPERTY
@given(snap=snapshots())
def test_removing_the_authors_own_approval_changes_nothing(snap: ApprovalSnapshot) -> None:
    result: ApprovalResult = evaluate(snap, CONFIG)
    assert evaluate(_without_author_approvals(snap), CONFIG) == result


@PROPERTY
@given(snap=snapshots())
def test_a_person_fills_at_most_one_role_and_only_one_they_hold(snap: ApprovalSnapshot) -> None:
    result = evaluate(snap, CONFIG)
    logins = [signed.login.casefold() for signed in result.filled.values()]
    assert len(logins) == len(set(logins))
    roles = {login.casefold(): held for login, held in snap.roles_of.items()}
    for role, signed in result.filled.items():
        assert role in roles[signed.login.casefold()]
        assert signed.login.casefold() not in {a.casefold() for a in snap.commit_authors}
        assert not is_bot(signed.login, snap.bots)
        assert same_patch(signed.sha, snap.head_sha, snap.patch_ids)
    assert all(isinstance(note, NotCounted) for note in result.not_counted)
