"""Releases end to end: /release, the checklist, publication, the monitoring window, rollback."""

from __future__ import annotations

import asyncio
import contextlib
import re

import httpx
import pytest

from bot import release_state as records
from bot.release_state import ReleaseRecord
from bot.sandbox import Sandbox
from bot.sandbox.world import Release
from bot.service import Bot
from bot.sweep import Sweeper, SweepReport

pytest_plugins = ["sandbox_fixtures"]

REPO = "acme/widgets"
BOT_LOGIN = "lts-bot[bot]"
BRANCH = "release-lts/v1.4"
CONFIG = """\
lines:
  - {version: "1.4", eol: 2099-06-30, phase: maintenance}
roles:
  triage: ["@acme/triage"]
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  security: ["@acme/security"]
  eng-lead: ["@acme/leads"]
release:
  package: acme-widgets
intake:
  required: {bug: [], security: [], backport: []}
"""


@pytest.fixture
async def world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """A line v1.4 released once (v1.4.0), roles, and the App installed."""
    return await make_world(sandbox, bot, CONFIG)


async def make_world(
    sandbox: Sandbox, bot: Bot, config: str, *, install_after_v140: bool = False
) -> Sandbox:
    """The `world` fixture under another `.github/lts.yml`.

    With `install_after_v140`, the App is installed once v1.4.0 is out, so it never saw it.
    """
    await sandbox.create_repo(REPO, files={".github/lts.yml": config, "app.py": "v = 1\n"})
    for login in ("tina", "lead", "quinn", "rel", "sec", "dev", "rita"):
        sandbox.add_user(login)
    sandbox.set_permission(REPO, "dev", "write")
    sandbox.set_permission(REPO, "rita", "write")
    sandbox.add_team("acme", "triage", ["tina"])
    sandbox.add_team("acme", "leads", ["lead"])
    sandbox.add_team("acme", "qa", ["quinn"])
    sandbox.add_team("acme", "release", ["rel"])
    sandbox.add_team("acme", "security", ["sec"])
    if not install_after_v140:
        sandbox.install([REPO])
    await sandbox.create_branch(REPO, BRANCH, from_ref="main", user="rel")
    await sandbox.publish_release(REPO, "v1.4.0", user="rel", target=BRANCH)
    if install_after_v140:
        sandbox.install([REPO])
    await sandbox.settle(bot)
    return sandbox


STRICT_CONFIG = (
    CONFIG.replace(
        "  package: acme-widgets\n", "  package: acme-widgets\n  require_artifacts: [signatures]\n"
    )
    + 'checks:\n  required: ["ci / test"]\n'
)

GATE = "All PRs for the release merged into `release-lts/v1.4` through `lts/gate`"
APPROVALS = "Every PR has its required approvals"
CI = "CI is green on the branch head"
SECURITY = "Security sign-off on every security fix"
ARTIFACTS = "Artifacts built, with checksums"
SIGNED = "Artifacts signed"
SBOM = "SBOM attached"
ROLLBACK = "The previous release is available for a rollback"
CHANGELOG = "Every PR has a changelog line"
NOTES = "Release note drafted"
NOTES_AND_ADVISORY = "Release note and security advisory drafted"
_ITEM_RE = re.compile(r"- \[( |x)\] (?:❌ )?(.+?)(?: \(not applicable\))?(?: — (.*))?")


def checklist(world: Sandbox, number: int) -> dict[str, bool]:
    """The tracking issue's checklist: item title -> ticked."""
    return {title: ticked for title, (ticked, _detail) in checklist_details(world, number).items()}


def checklist_details(world: Sandbox, number: int) -> dict[str, tuple[bool, str]]:
    body = world.issue(REPO, number).body or ""
    assert "### Pre-release checklist" in body, body
    section = body.split("### Pre-release checklist", 1)[1].split("\n### ", 1)[0]
    out: dict[str, tuple[bool, str]] = {}
    for line in section.splitlines():
        match = _ITEM_RE.fullmatch(line)
        if match is not None:
            out[match[2]] = (match[1] == "x", match[3] or "")
    return out


def flipped(before: dict[str, bool], after: dict[str, bool]) -> set[str]:
    """Items ticked in `after` that were not in `before`; none may go the other way."""
    assert set(before) == set(after)
    assert not [t for t in before if before[t] and not after[t]], (before, after)
    return {t for t in after if after[t] and not before[t]}


async def sweep(world: Sandbox, bot: Bot, sweeper: Sweeper | None = None) -> SweepReport:
    sweeper = sweeper or bot.sweeper
    report = await sweeper.plan()
    sweeper.enqueue(report, bot.queue)
    await world.settle(bot)
    return report


async def fix_on_line(
    world: Sandbox, bot: Bot, ticket: int, *, n: int, changelog: str | None = "Fix the crash"
) -> int:
    """A PR fixing `ticket` merged into the v1.4 line; returns its number."""
    number, _head = await open_fix(world, bot, ticket, n=n, changelog=changelog)
    await world.merge_pr(REPO, number, user="rel", method="squash")
    await world.settle(bot)
    return number


async def open_fix(
    world: Sandbox,
    bot: Bot,
    ticket: int,
    *,
    n: int,
    changelog: str | None = "Fix the crash",
    body: str = "",
) -> tuple[int, str]:
    """A PR fixing `ticket` opened against the v1.4 line: its number and head SHA."""
    head = f"lts/v1.4/issue-{ticket}"
    trailer = f"\n\nChangelog: {changelog}" if changelog else ""
    pushed = await world.push_commits(
        REPO,
        head,
        {f"fix{n}.py": f"fixed = {n}\n"},
        message=f"Fix crash {n} (#{ticket})\n\nBackport to v1.4{trailer}",
        author="dev",
        from_ref=BRANCH,
    )
    pr = await world.open_pr(
        REPO,
        user="dev",
        head=head,
        base=BRANCH,
        title=f"[v1.4] Fix crash {n}",
        body=f"Fixes #{ticket}" + (f"\n\n{body}" if body else ""),
    )
    await world.settle(bot)
    return pr.number, pushed.after


async def ticket(world: Sandbox, bot: Bot, title: str = "Crash on start") -> int:
    issue = await world.open_issue(REPO, user="alice", title=title, body="it crashes")
    await world.comment(REPO, issue.number, user="tina", body="/severity high\n/affects v1.4")
    await world.settle(bot)
    return issue.number


def tracking(world: Sandbox) -> dict[str, int]:
    """Tracking issues by tag."""
    return {
        world.issue(REPO, n).title.removeprefix("LTS release "): n
        for n in range(1, 200)
        if _exists(world, n) and "lts/release" in world.labels_on(REPO, n)
    }


def _exists(world: Sandbox, n: int) -> bool:
    try:
        world.issue(REPO, n)
    except (KeyError, LookupError):
        return False
    return True


async def test_release_stages_publishes_and_closes_after_the_window(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    t2 = await ticket(world, bot, "Wrong total")
    pr1 = await fix_on_line(world, bot, t1, n=1)
    pr2 = await fix_on_line(world, bot, t2, n=2, changelog=None)

    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    body = world.issue(REPO, number).body or ""
    assert "LTS release v1.4.1" in body
    assert f"#{pr1}" in body
    assert f"#{pr2}" in body
    assert "- [ ]" in body  # the checklist is not ready: no artifacts yet
    repo = world.world.repo_by_name(REPO)
    (draft,) = [r for r in repo.releases.values() if r.tag_name == "v1.4.1"]
    assert draft.draft
    assert "Fix the crash" in (draft.body or "")
    assert "### Other" in (draft.body or "")
    assert "pip install --upgrade acme-widgets==1.4.1" in (draft.body or "")

    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    for t in (t1, t2):
        assert "released/v1.4.1" in world.labels_on(REPO, t)
        notes = [c.body for c in world.comments_on(REPO, t) if "lts-bot:released v1.4.1" in c.body]
        assert len(notes) == 1
        assert world.issue(REPO, t).state == "open"

    world.advance_clock(hours=49)
    await sweep(world, bot)
    for t in (t1, t2):
        assert world.issue(REPO, t).state == "closed"
    assert world.issue(REPO, number).state == "closed"
    # The closed tracking issue still shows what shipped and how the checklist stood.
    closed = world.issue(REPO, number).body or ""
    assert f"| #{pr1} | #{t1} | Fix the crash |" in closed
    assert "### Pre-release checklist" in closed


async def test_a_regression_in_the_window_keeps_the_tickets_open(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    reg = await world.open_issue(
        REPO, user="alice", title="v1.4.1 breaks imports", body="since 1.4.1 it fails"
    )
    await world.add_labels(REPO, reg.number, ["regression"], user="tina")
    await world.settle(bot)

    world.advance_clock(hours=49)
    await sweep(world, bot)

    assert world.issue(REPO, t1).state == "open"
    number = tracking(world)["v1.4.1"]
    flagged = [c.body for c in world.comments_on(REPO, number) if "lts-bot:flagged" in c.body]
    assert len(flagged) == 1
    assert f"#{reg.number}" in flagged[0]


async def test_rollback_withdraws_and_opens_an_incident(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    await world.comment(REPO, t1, user="rel", body="/rollback v1.4.1 crashes on start-up")
    await world.settle(bot)

    repo = world.world.repo_by_name(REPO)
    (rel,) = [r for r in repo.releases.values() if r.tag_name == "v1.4.1"]
    assert (rel.name or "").startswith("[withdrawn]")
    assert rel.prerelease
    assert "pip install acme-widgets==1.4.0" in (rel.body or "")
    incidents = [
        n for n in range(1, 50) if _exists(world, n) and "lts/incident" in world.labels_on(REPO, n)
    ]
    assert len(incidents) == 1
    told = marked(world, t1, "<!-- lts-bot:withdrawn v1.4.1 -->")
    assert len(told) == 1
    assert "pip install acme-widgets==1.4.0" in told[0]
    assert "released/v1.4.1" not in world.labels_on(REPO, t1)

    # Said again: nothing is withdrawn twice, nobody is told twice.
    await world.comment(REPO, t1, user="rel", body="/rollback v1.4.1 still broken")
    await world.settle(bot)
    (again,) = reply_to(world, t1, "/rollback v1.4.1 still broken")
    assert "v1.4.1 is already withdrawn (incident #" in again
    assert len(marked(world, t1, "<!-- lts-bot:withdrawn v1.4.1 -->")) == 1
    assert (rel.name or "").count("[withdrawn]") == 1


async def triaged_ticket(world: Sandbox, bot: Bot, title: str = "Crash on start") -> int:
    """A ticket decided for a backport to v1.4, so a PR fixing it can pass `lts/gate`."""
    issue = await world.open_issue(REPO, user="alice", title=title, body="it crashes")
    await world.comment(
        REPO,
        issue.number,
        user="tina",
        body="/severity high\n/affects v1.4\n/check api-change=no\n/triage backport\n"
        "/backport v1.4",
    )
    await world.settle(bot)
    return issue.number


async def sign_off(world: Sandbox, bot: Bot, pr: int) -> None:
    """The normal approval matrix on a PR: a reviewer, QA and a release manager."""
    await world.review(REPO, pr, user="rita", state="APPROVE")
    await world.comment(REPO, pr, user="quinn", body="/approve qa")
    await world.comment(REPO, pr, user="rel", body="/approve release-manager")
    await world.settle(bot)


async def refresh(world: Sandbox, bot: Bot) -> None:
    """A sweep once drafts are due for a refresh (the sweep looks at a draft every 15 min)."""
    world.advance_clock(minutes=15)
    await sweep(world, bot)


def conclusion(world: Sandbox, sha: str, name: str) -> str | None:
    runs = world.check_runs(REPO, sha, name=name)
    return runs[-1].conclusion if runs else None


@pytest.fixture
async def strict_world(sandbox: Sandbox, bot: Bot) -> Sandbox:
    """`world` where CI `ci / test` is required and artifacts must be signed."""
    return await make_world(sandbox, bot, STRICT_CONFIG)


async def test_the_checklist_turns_green_one_fact_at_a_time(
    strict_world: Sandbox, bot: Bot
) -> None:
    world = strict_world
    t1 = await triaged_ticket(world, bot)
    pr, pr_head = await open_fix(world, bot, t1, n=1)
    assert conclusion(world, pr_head, "lts/gate") == "failure"
    assert conclusion(world, pr_head, "lts/approvals") == "failure"

    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    state = checklist(world, number)
    assert [t for t, ticked in state.items() if not ticked] == [
        GATE,
        APPROVALS,
        CI,
        ARTIFACTS,
        SIGNED,
    ]
    assert [t for t, ticked in state.items() if ticked] == [
        SECURITY,
        SBOM,
        ROLLBACK,
        CHANGELOG,
        NOTES,
    ]
    assert checklist_details(world, number)[SIGNED][1].startswith("no signature (`.sig`")
    assert checklist_details(world, number)[SBOM] == (True, "not required by this repository")

    # Signed off and gated before the merge (a merged PR's checks are never run again).
    await sign_off(world, bot, pr)
    await world.complete_check(REPO, pr_head, "ci / test", "success")
    await world.settle(bot)
    assert conclusion(world, pr_head, "lts/gate") == "success"

    # Merged through the green gate: the PR items are done (the head moved: CI is not).
    await world.merge_pr(REPO, pr, user="rel", method="squash")
    await world.settle(bot)
    await refresh(world, bot)
    after = checklist(world, number)
    assert flipped(state, after) == {GATE, APPROVALS}
    assert checklist_details(world, number)[GATE][1] == "the PR has a green `lts/gate`"
    state = after

    head = await world.branch_head(REPO, BRANCH)
    assert head is not None
    await world.complete_check(REPO, head, "ci / test", "success")
    await world.settle(bot)
    await refresh(world, bot)
    after = checklist(world, number)
    assert flipped(state, after) == {CI}
    assert checklist_details(world, number)[CI][1] == "1 check passed"
    state = after

    # An artifact alone is not enough: the checksums are required.
    await world.attach_release_asset(REPO, "v1.4.1", "widgets-1.4.1.whl", b"wheel", user="rel")
    await refresh(world, bot)
    after = checklist(world, number)
    assert flipped(state, after) == set()
    assert checklist_details(world, number)[ARTIFACTS] == (
        False,
        "no checksum file (`*.sha256` or `SHA256SUMS`)",
    )
    state = after

    await world.attach_release_asset(REPO, "v1.4.1", "SHA256SUMS", b"abc  x.whl\n", user="rel")
    await refresh(world, bot)
    after = checklist(world, number)
    assert flipped(state, after) == {ARTIFACTS}
    assert checklist_details(world, number)[ARTIFACTS] == (True, "1 artifact and 1 checksum file")
    state = after

    await world.attach_release_asset(REPO, "v1.4.1", "widgets-1.4.1.whl.sig", b"sig", user="rel")
    await refresh(world, bot)
    assert flipped(state, checklist(world, number)) == {SIGNED}
    assert "- [ ]" not in (world.issue(REPO, number).body or "")


def reply_to(world: Sandbox, number: int, command: str) -> list[str]:
    """The bot's answers (marker stripped) to the comment that says exactly `command`."""
    comments = world.comments_on(REPO, number)
    asked = [i for i, c in enumerate(comments) if c.body == command]
    assert asked, f"nobody said {command!r} on #{number}"
    out = []
    for c in comments[asked[-1] + 1 :]:
        if c.user.login == BOT_LOGIN and "<!-- lts-bot:reply " in c.body:
            out.append(c.body.split("\n\n<!-- lts-bot:reply ", 1)[0])
    return out


def record_of(world: Sandbox, bot: Bot, number: int) -> ReleaseRecord:
    record = records.decode(world.issue(REPO, number).body or "", bot.services.state_key)
    assert record is not None
    return record


def draft_of(world: Sandbox, tag: str) -> Release:
    (rel,) = [r for r in world.world.repo_by_name(REPO).releases.values() if r.tag_name == tag]
    return rel


def marked(world: Sandbox, number: int, marker: str) -> list[str]:
    """The bot's comments on #number that carry `marker`."""
    return [
        c.body
        for c in world.comments_on(REPO, number)
        if c.user.login == BOT_LOGIN and marker in c.body
    ]


ADVISORY_403 = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/security-advisories/repository-advisories"
    "#create-a-repository-security-advisory",
    "status": "403",
}
CVE = "CVE-2026-31337"


async def security_ticket(world: Sandbox, bot: Bot) -> int:
    issue = await world.open_issue(
        REPO,
        user="alice",
        title="Path traversal in the upload handler",
        body=f"Reported privately as {CVE}: uploads can escape the data directory.",
    )
    await world.add_labels(REPO, issue.number, ["security"], user="tina")
    await world.comment(REPO, issue.number, user="tina", body="/severity critical\n/affects v1.4")
    await world.settle(bot)
    return issue.number


async def stage_with_a_security_fix(world: Sandbox, bot: Bot) -> tuple[int, int]:
    """A plain fix and a security fix on the line, then `/release v1.4`: (sec PR, tracking)."""
    plain = await ticket(world, bot)
    await fix_on_line(world, bot, plain, n=1)
    sec = await security_ticket(world, bot)
    sec_pr = await fix_on_line(
        world, bot, sec, n=2, changelog="Refuse upload paths outside the data directory"
    )
    await world.comment(REPO, plain, user="rel", body="/release v1.4")
    await world.settle(bot)
    return sec_pr, tracking(world)["v1.4.1"]


async def test_a_security_fix_files_a_draft_advisory(world: Sandbox, bot: Bot) -> None:
    sec_pr, number = await stage_with_a_security_fix(world, bot)

    (advisory,) = world.advisories(REPO)
    assert advisory.cve_id == CVE
    assert advisory.severity == "critical"
    assert advisory.state == "draft"
    (vuln,) = advisory.vulnerabilities
    assert (vuln.package, vuln.vulnerable_version_range, vuln.patched_versions) == (
        "acme-widgets",
        ">= 1.4.0, < 1.4.1",
        "1.4.1",
    )
    notes = draft_of(world, "v1.4.1").body or ""
    assert notes.index("### Security") < notes.index("### Fixes")
    security = notes.split("### Security\n\n", 1)[1].split("\n\n", 1)[0]
    assert security.startswith(
        f"- **{CVE}**: Refuse upload paths outside the data directory ([#{sec_pr}]("
    )
    assert "severity critical" in security
    assert "## Security advisory" not in notes  # it is a GitHub advisory, not in the notes

    assert record_of(world, bot, number).advisory == advisory.ghsa_id
    body = world.issue(REPO, number).body or ""
    assert f"/security/advisories/{advisory.ghsa_id}" in body
    assert checklist(world, number)[NOTES_AND_ADVISORY] is True
    assert checklist_details(world, number)[SECURITY] == (
        False,
        f"waiting for a security sign-off on #{sec_pr}",
    )

    await refresh(world, bot)  # refreshing the draft files no second advisory
    assert [a.ghsa_id for a in world.advisories(REPO)] == [advisory.ghsa_id]


async def test_without_the_advisory_permission_the_advisory_goes_into_the_draft_notes(
    world: Sandbox, bot: Bot
) -> None:
    fault = world.fail_next("POST", r"/security-advisories$", status=403, body=ADVISORY_403)

    _sec_pr, number = await stage_with_a_security_fix(world, bot)

    assert fault.hits == 1
    assert world.advisories(REPO) == []
    notes = draft_of(world, "v1.4.1").body or ""
    assert notes.index("### Security") < notes.index("## Security advisory")
    advisory = notes.split("## Security advisory", 1)[1]
    assert f"- **CVE:** {CVE}" in advisory
    assert "- **Severity:** critical" in advisory
    assert record_of(world, bot, number).advisory == "release-body"
    body = world.issue(REPO, number).body or ""
    assert "Security advisory: drafted in the release notes (no advisory permission)." in body
    assert checklist_details(world, number)[NOTES_AND_ADVISORY] == (True, "")

    await refresh(world, bot)  # the notes keep the advisory on every refresh
    assert "## Security advisory" in (draft_of(world, "v1.4.1").body or "")
    assert checklist(world, number)[NOTES_AND_ADVISORY] is True


async def test_release_and_rollback_refusals_say_why(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)

    async def say(user: str, command: str) -> str:
        await world.comment(REPO, t1, user=user, body=command)
        await world.settle(bot)
        (answer,) = reply_to(world, t1, command)
        return answer

    assert await say("dev", "/release v1.4") == (
        "@dev:\n- `/release v1.4`: only a release manager can do this (@acme/release)."
    )
    assert await say("rel", "/release v1.9") == (
        "@rel:\n- `/release v1.9`: v1.9 is not an LTS line of this repository "
        "(lines in `.github/lts.yml`: v1.4)."
    )
    assert await say("rel", "/release v1.4.0") == (
        "@rel:\n- `/release v1.4.0`: v1.4.0 is already released; "
        "the next patch release of v1.4 is v1.4.1."
    )
    assert await say("rel", "/release v1.4.5") == (
        "@rel:\n- `/release v1.4.5`: v1.4.5 skips v1.4.1; LTS lines take patch releases one "
        "at a time. An eng lead must give this command to release it anyway."
    )
    assert await say("rel", "/release banana") == (
        '@rel:\n- `/release banana`: "banana" is not a release version; '
        "write v1.4 (the line) or v1.4.2"
    )
    assert set(tracking(world)) == {"v1.4.0"}  # nothing staged by any of them
    assert [r.tag_name for r in world.world.repo_by_name(REPO).releases.values()] == ["v1.4.0"]

    answer = await say("lead", "/release v1.4.5")
    number = tracking(world)["v1.4.5"]
    assert answer == (
        f"@lead:\n- v1.4.5: tracking issue #{number}, draft release ready "
        "(version approved by eng lead @lead); checklist 6/10 done, open: All PRs for the "
        "release merged into `release-lts/v1.4` through `lts/gate`; Every PR has its required "
        "approvals; CI is green on the branch head; Artifacts built, with checksums."
    )
    assert draft_of(world, "v1.4.5").draft
    assert record_of(world, bot, number).requested_by == "lead"

    await world.comment(REPO, t1, user="rel", body="/release v1.4")  # stages v1.4.1
    await world.settle(bot)
    assert draft_of(world, "v1.4.1").draft
    assert await say("rel", "/rollback v1.4.1 broken") == (
        "@rel:\n- `/rollback v1.4.1 broken`: v1.4.1 is not a published release; "
        "nothing to roll back."
    )
    assert draft_of(world, "v1.4.1").name == "v1.4.1"
    assert record_of(world, bot, tracking(world)["v1.4.1"]).status == "draft"


async def test_a_redelivered_publication_tells_nobody_twice(world: Sandbox, bot: Bot) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    (published,) = [
        d
        for d in world.deliveries_of("release", "published")
        if d.payload["release"]["tag_name"] == "v1.4.1"
    ]
    before = world.issue(REPO, number).body

    world.redeliver(published.guid)
    await world.settle(bot)
    world.resend(published.guid)  # the same event under a new GUID
    await world.settle(bot)

    assert len(marked(world, t1, "<!-- lts-bot:released v1.4.1 -->")) == 1
    assert len(marked(world, number, "<!-- lts-bot:internal-status v1.4.1 published -->")) == 1
    assert world.issue(REPO, number).body == before
    assert world.labels_on(REPO, t1).count("released/v1.4.1") == 1


async def test_release_said_twice_updates_one_tracking_issue_and_one_draft(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    pr1 = await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    t2 = await ticket(world, bot, "Wrong total")
    pr2 = await fix_on_line(world, bot, t2, n=2, changelog="Fix the total")

    await world.comment(REPO, t2, user="rel", body="/release v1.4")
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    assert set(tracking(world)) == {"v1.4.0", "v1.4.1"}
    releases = list(world.world.repo_by_name(REPO).releases.values())
    assert sorted(r.tag_name for r in releases) == ["v1.4.0", "v1.4.1"]
    draft = draft_of(world, "v1.4.1")
    assert "Fix the crash" in (draft.body or "")
    assert "Fix the total" in (draft.body or "")
    assert draft.target_commitish == await world.branch_head(REPO, BRANCH)
    record = record_of(world, bot, number)
    assert record.prs == (pr1, pr2)
    assert record.tickets == (t1, t2)
    assert record.release_id == draft.id
    (first,) = reply_to(world, t1, "/release v1.4")
    (second,) = reply_to(world, t2, "/release v1.4")
    assert f"tracking issue #{number}, draft release ready" in first
    assert f"tracking issue #{number}, draft release ready" in second

    # GitHub redelivering the comment is the same command, not a third one.
    (said,) = [
        d
        for d in world.deliveries_of("issue_comment", "created")
        if d.payload["issue"]["number"] == t2 and d.payload["comment"]["body"] == "/release v1.4"
    ]
    world.redeliver(said.guid)
    await world.settle(bot)
    assert len(reply_to(world, t2, "/release v1.4")) == 1
    assert set(tracking(world)) == {"v1.4.0", "v1.4.1"}
    assert [r.tag_name for r in world.world.repo_by_name(REPO).releases.values()].count(
        "v1.4.1"
    ) == 1


async def test_a_release_published_by_hand_is_tracked_and_tells_its_tickets(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    pr1 = await fix_on_line(world, bot, t1, n=1)

    await world.publish_release(REPO, "v1.4.1", user="rel", target=BRANCH)
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    record = record_of(world, bot, number)
    assert record.status == "published"
    assert record.previous_tag == "v1.4.0"
    assert record.prs == (pr1,)
    assert record.tickets == (t1,)
    assert record.window_ends is not None
    (told,) = marked(world, t1, "<!-- lts-bot:released v1.4.1 -->")
    assert f"Release tracking: #{number}." in told
    assert "released/v1.4.1" in world.labels_on(REPO, t1)
    (status,) = marked(world, number, "<!-- lts-bot:internal-status v1.4.1 published -->")
    # Nobody went through the checklist: the status says what was left open.
    assert "published with open checklist items: " in status
    assert "Artifacts built, with checksums" in status
    # The hand-written release notes are the maintainers': left as they were.
    assert draft_of(world, "v1.4.1").body == ""


async def test_closing_the_regression_after_a_flagged_window_closes_the_release(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    reg = await world.open_issue(
        REPO, user="alice", title="Imports fail", body=f"Since v1.4.1 (#{number}) imports fail"
    )
    await world.add_labels(REPO, reg.number, ["regression"], user="tina")
    await world.settle(bot)
    world.advance_clock(hours=49)
    await sweep(world, bot)
    assert record_of(world, bot, number).status == "flagged"
    assert record_of(world, bot, number).regressions == (reg.number,)
    assert world.issue(REPO, t1).state == "open"

    await world.close_issue(REPO, reg.number, user="tina")
    await world.settle(bot)
    await sweep(world, bot)

    assert world.issue(REPO, t1).state == "closed"
    assert len(marked(world, t1, "<!-- lts-bot:monitored v1.4.1 -->")) == 1
    assert world.issue(REPO, number).state == "closed"
    record = record_of(world, bot, number)
    assert (record.status, record.regressions) == ("done", ())
    assert len(marked(world, number, "<!-- lts-bot:flagged")) == 1

    await sweep(world, bot)  # done is done: nothing more is said
    assert len(marked(world, t1, "<!-- lts-bot:monitored v1.4.1 -->")) == 1


async def metrics(bot: Bot) -> str:
    async with httpx.AsyncClient() as client:
        resp = await client.get(f"http://127.0.0.1:{bot.port}/metrics")
    assert resp.status_code == 200
    return resp.text


async def test_metrics_count_a_publication(sandbox: Sandbox, bot: Bot) -> None:
    world = await make_world(sandbox, bot, CONFIG, install_after_v140=True)
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    assert 'lts_bot_releases_total{line="1.4",event="published"}' not in await metrics(bot)

    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    lines = (await metrics(bot)).splitlines()
    assert 'lts_bot_releases_total{line="1.4",event="staged"} 1' in lines
    assert 'lts_bot_releases_total{line="1.4",event="published"} 1' in lines


async def test_a_release_published_by_hand_is_counted_as_published_not_staged(
    world: Sandbox, bot: Bot
) -> None:
    # The fixture publishes v1.4.0 by hand, with the App installed.
    lines = (await metrics(bot)).splitlines()
    assert 'lts_bot_releases_total{line="1.4",event="published"} 1' in lines
    assert not any('event="staged"' in line for line in lines)


async def test_triage_leaves_the_tracking_issue_alone(sandbox: Sandbox, bot: Bot) -> None:
    # The default intake: an issue without the required fields is asked for them.
    default_intake = CONFIG.split("intake:\n", 1)[0]
    world = await make_world(sandbox, bot, default_intake)
    t1 = await ticket(world, bot)
    assert "needs-info" in world.labels_on(REPO, t1)  # a ticket is asked
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    # People talk on it, and the sweep comes by.
    await world.comment(REPO, number, user="rel", body="Waiting for the wheels to build.")
    await world.settle(bot)
    await refresh(world, bot)

    assert marked(world, number, "<!-- lts-bot:status -->") == []
    assert "needs-info" not in world.labels_on(REPO, number)
    assert world.labels_on(REPO, number) == ["lts/release"]


async def test_a_fix_naming_a_cve_waits_for_a_security_sign_off(world: Sandbox, bot: Bot) -> None:
    t1 = await triaged_ticket(world, bot)
    pr, head = await open_fix(world, bot, t1, n=1, body=f"This also closes {CVE}.")
    await sign_off(world, bot, pr)  # reviewer, QA and release manager: nobody from security
    assert conclusion(world, head, "lts/approvals") == "success"
    await world.merge_pr(REPO, pr, user="rel", method="squash")
    await world.settle(bot)

    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    # The release takes it for a security fix: an advisory, the Security section.
    assert [a.cve_id for a in world.advisories(REPO)] == [CVE]
    assert "### Security" in (draft_of(world, "v1.4.1").body or "")
    assert checklist_details(world, number)[SECURITY] == (
        False,
        f"waiting for a security sign-off on #{pr}",
    )


async def test_release_said_at_once_on_two_tickets_stages_one_release(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    t2 = await ticket(world, bot, "Wrong total")
    # The second `/release` comes while the first is about to open the tracking issue; the
    # first goes on once the second got as far (or after 2 s, if the bot keeps it waiting).
    second_there = asyncio.Event()

    async def meanwhile() -> None:
        await world.comment(REPO, t2, user="rel", body="/release v1.4")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(second_there.wait(), 2)

    async def second() -> None:
        second_there.set()

    world.before_next("POST", r"/repos/acme/widgets/issues$", meanwhile)
    world.before_next("POST", r"/repos/acme/widgets/issues$", second)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)

    open_tracking = [
        n
        for n in range(1, 20)
        if _exists(world, n)
        and "lts/release" in world.labels_on(REPO, n)
        and world.issue(REPO, n).title == "LTS release v1.4.1"
        and world.issue(REPO, n).state == "open"
    ]
    tags = [r.tag_name for r in world.world.repo_by_name(REPO).releases.values()]
    assert (len(open_tracking), tags.count("v1.4.1")) == (1, 1)


async def test_the_advisory_in_the_notes_says_to_move_it_before_publishing(
    world: Sandbox, bot: Bot
) -> None:
    world.fail_next("POST", r"/security-advisories$", status=403, body=ADVISORY_403)

    await stage_with_a_security_fix(world, bot)

    notes = draft_of(world, "v1.4.1").body or ""
    heading = notes.split("## Security advisory", 1)[1].split("### Impact", 1)[0].lower()
    assert "draft" in heading
    assert "before publishing" in heading


async def test_a_forged_record_marker_in_a_changelog_line_changes_nothing(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    forged = "<!-- lts-bot:release-state v1 eyJ2IjoxfQ." + "0" * 64 + " -->"
    await fix_on_line(world, bot, t1, n=1, changelog=f"Fix the crash {forged}")
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)

    body = world.issue(REPO, number).body or ""
    assert "<!-- lts-bot:release-state v1 eyJ2" not in body
    assert "&lt;!-- lts-bot:release-state v1 eyJ2" in body  # shown, inert
    assert record_of(world, bot, number).status == "published"


async def test_a_publication_whose_event_was_lost_is_caught_up_by_the_sweep(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    # The service is unreachable while the release is published: its webhook is lost.
    url, world.webhook_url = world.webhook_url, "http://127.0.0.1:9/webhook"
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.outbox.join()
    world.webhook_url = url
    assert record_of(world, bot, number).status == "draft"

    world.advance_clock(minutes=16)
    await sweep(world, bot)

    assert record_of(world, bot, number).status == "published"
    assert "released/v1.4.1" in world.labels_on(REPO, t1)
    assert len(marked(world, t1, "<!-- lts-bot:released v1.4.1 -->")) == 1


async def test_a_publication_that_failed_half_way_is_finished_by_its_redelivery(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    await fix_on_line(world, bot, t1, n=1)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    number = tracking(world)["v1.4.1"]
    # The record says "published", then telling the ticket fails.
    fault = world.fail_next("POST", rf"/issues/{t1}/comments$", status=502, times=10)
    await world.publish_release(REPO, "v1.4.1", user="rel")
    await world.settle(bot)
    assert fault.hits >= 1
    assert record_of(world, bot, number).status == "published"
    assert marked(world, t1, "<!-- lts-bot:released v1.4.1 -->") == []

    fault.times = 0
    (delivery,) = world.deliveries_of("release", "published")[-1:]
    world.redeliver(delivery.guid)
    await world.settle(bot)

    assert len(marked(world, t1, "<!-- lts-bot:released v1.4.1 -->")) == 1
    assert len(marked(world, number, "<!-- lts-bot:internal-status v1.4.1 published -->")) == 1


async def test_a_fast_tracked_fix_links_its_audit_issue_and_the_release_both_ways(
    world: Sandbox, bot: Bot
) -> None:
    t1 = await ticket(world, bot)
    pr, _ = await open_fix(world, bot, t1, n=1)
    await world.comment(REPO, pr, user="lead", body="/fast-track actively exploited")
    await world.settle(bot)
    assert "fast-track" in world.labels_on(REPO, pr)
    await world.merge_pr(REPO, pr, method="squash", user="rel")
    await world.settle(bot)
    (audit,) = [
        n for n in range(1, 50) if _exists(world, n) and "lts/audit" in world.labels_on(REPO, n)
    ]

    await world.comment(REPO, t1, user="rel", body="/release v1.4")
    await world.settle(bot)
    await world.comment(REPO, t1, user="rel", body="/release v1.4")  # a refresh: no repeat
    await world.settle(bot)

    number = tracking(world)["v1.4.1"]
    body = world.issue(REPO, number).body or ""
    assert "### Fast-tracked" in body
    assert f"- #{pr}: post-facto audit #{audit}" in body
    links = marked(world, audit, "<!-- lts-bot:audit-release v1.4.1 -->")
    assert len(links) == 1
    assert f"#{number}" in links[0]
    # The audit issue is part of the process, not a ticket.
    assert marked(world, audit, "<!-- lts-bot:status -->") == []
