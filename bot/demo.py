"""`lts-bot demo`: runs the real service on this machine and plays the workflow against it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import aiohttp

from bot import report_cli
from bot.clock import FakeClock
from bot.logs import configure_logging
from bot.policies import report
from bot.sandbox import Sandbox
from bot.sandbox.cli import throwaway_app_key
from bot.service import Bot
from bot.settings import load_settings


@dataclass
class Step:
    """One line of the timeline: who did what, what came back, whether it was expected."""

    actor: str
    action: str
    result: str
    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


class Timeline:
    """Collects the demo's steps and prints them as a readable story or as JSON lines."""

    def __init__(self, out: TextIO, *, json_output: bool) -> None:
        self.out = out
        self.json_output = json_output
        self.steps: list[Step] = []
        self.started = time.monotonic()

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.json_output:
            self.out.write(json.dumps({"type": "step", **asdict(step)}) + "\n")
        else:
            mark = "ok " if step.ok else "FAIL"
            self.out.write(f"  [{mark}] {step.actor:<12} {step.action}\n")
            self.out.write(f"         {'':<12} -> {step.result}\n")

    def heading(self, text: str) -> None:
        if not self.json_output:
            self.out.write(f"\n{text}\n")

    def summary(self, extra: dict[str, Any]) -> bool:
        failed = [s for s in self.steps if not s.ok]
        elapsed = round(time.monotonic() - self.started, 2)
        if self.json_output:
            self.out.write(
                json.dumps(
                    {
                        "type": "summary",
                        "steps": len(self.steps),
                        "failed": len(failed),
                        "seconds": elapsed,
                        **extra,
                    }
                )
                + "\n"
            )
        else:
            self.out.write(
                f"\nSummary: {len(self.steps)} steps, {len(failed)} failed, {elapsed}s\n"
            )
            for key, value in extra.items():
                if isinstance(value, dict):
                    self.out.write(f"  {key}:\n")
                    for name, count in value.items():
                        self.out.write(f"    {count:>4}  {name}\n")
                else:
                    self.out.write(f"  {key}: {value}\n")
            for step in failed:
                self.out.write(f"  FAILED: {step.actor} {step.action}: {step.result}\n")
        return not failed


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def _deliver(
    session: aiohttp.ClientSession,
    url: str,
    secret: bytes,
    event: str,
    payload: dict[str, Any],
    *,
    delivery_id: str | None = None,
    signature: str | None = None,
) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/lts-bot-demo",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else sign(secret, body),
    }
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


REPO = "acme/widgets"
CONFIG = ".github/lts.yml"
VALID_CONFIG = """\
lines:
  - {version: "1.4", eol: 2030-06-30, phase: maintenance}
  - {version: "1.3", eol: 2029-12-31, phase: security-only}
roles:
  qa: ["@acme/qa"]
  release-manager: ["@acme/release"]
  eng-lead: ["@acme/leads"]
"""
ISSUE_BODY = """\
### Description
The service crashes on start when its config file is empty.

### Affected versions
1.4.2, and 1.3.9 too

### Python version
3.11.7
"""
FILLED_IN = (
    ISSUE_BODY
    + """
### Steps to reproduce
1. touch empty.cfg
2. widgets --config empty.cfg

### Logs or traceback
```
Traceback (most recent call last):
ValueError: empty config (CVE-2026-31337: the crash skips the auth check)
```

### Package versions
widgets==1.4.2

### Environment
Debian 12

### Severity
critical
"""
)
# Line 3 holds the mistake a maintainer makes most: an unquoted version.
BROKEN_CONFIG = VALID_CONFIG.replace('version: "1.3"', "version: 1.30")


async def run_demo(*, json_output: bool = False, out: TextIO | None = None) -> int:
    """Play the demo and return the exit code: 0 when every step did what it should."""
    stream = out or sys.stdout
    # The service's own logs would interleave with the story; keep them for failures only.
    service_log = io.StringIO()
    configure_logging(fmt="console", stream=service_log)
    secret = secrets.token_hex(20)
    pem = throwaway_app_key()
    # One clock for both sides, starting now: the demo moves it on to show SLA reminders.
    clock = FakeClock(start=time.time())
    sandbox = await Sandbox.start(app_id=1, private_key_pem=pem, webhook_secret=secret, clock=clock)
    settings = load_settings(
        {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY": pem,
            "GITHUB_WEBHOOK_SECRET": secret,
            "GITHUB_API_URL": sandbox.url,
            # GitHub asks for ~1 s between writes; the sandbox does not need the wait.
            "LTS_BOT_WRITE_INTERVAL": "0",
            "LOG_FORMAT": "console",
        }
    )
    timeline = Timeline(stream, json_output=json_output)
    bot = Bot.build(settings, clock=clock)
    port = await bot.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    sandbox.webhook_url = f"{base}/webhook"
    key = secret.encode()
    timeline.heading(
        f"lts-bot serves on {base}; the sandbox GitHub on {sandbox.url} "
        "(real HTTP, signed webhooks, App JWT and installation tokens, real git)"
    )

    def expect(actor: str, action: str, got: str, ok: bool, **details: Any) -> None:
        timeline.record(Step(actor, action, got, ok, details))

    def config_run(head: str) -> tuple[str, str, str]:
        runs = sandbox.check_runs(REPO, head, name="lts/config")
        if len(runs) != 1:
            return ("missing", f"{len(runs)} lts/config check runs", "")
        run = runs[0]
        return (str(run.conclusion), str(run.output.get("title")), str(run.output.get("summary")))

    async def push(branch: str, files: dict[str, str | None], message: str, who: str) -> str:
        pushed = await sandbox.push_commits(REPO, branch, files, message=message, author=who)
        await sandbox.settle(bot)
        return pushed.after

    try:
        sandbox.add_user("maintainer")
        sandbox.add_user("contributor")
        sandbox.add_user("triager")
        async with aiohttp.ClientSession() as session:
            status, body = await _deliver(
                session, sandbox.webhook_url, key, "ping", {"zen": "Keep it logically awesome."}
            )
            expect(
                "GitHub",
                "sends a signed ping when the App's webhook is saved",
                f"HTTP {status} {body}",
                status == 200 and body.get("status") == "pong",
            )

            await sandbox.create_repo(REPO, files={"README.md": "# widgets\n"})
            sandbox.install([REPO], by="maintainer")
            await sandbox.settle(bot)
            main = await sandbox.branch_head(REPO, "main") or ""
            conclusion, title, _ = config_run(main)
            expect(
                "maintainer",
                f"installs the App on {REPO} (no {CONFIG} yet)",
                f"lts/config {conclusion}: {title}",
                conclusion == "success" and "defaults" in title.lower() + _.lower(),
            )

            head = await push("main", {CONFIG: VALID_CONFIG}, "Add the LTS policy", "maintainer")
            conclusion, title, summary = config_run(head)
            expect(
                "maintainer",
                f"pushes {CONFIG} to main: lines 1.4 (maintenance) and 1.3 (security-only)",
                f"lts/config {conclusion}: {title}",
                conclusion == "success" and "release-lts/v1.4" in summary,
            )

            topic = await push(
                "lts/v1.4/issue-123",
                {CONFIG: "checks: {required: nope}\n"},
                "Loosen the policy",
                "contributor",
            )
            runs = sandbox.check_runs(REPO, topic, name="lts/config")
            expect(
                "contributor",
                f"pushes a branch that rewrites {CONFIG}",
                "ignored: the policy is read from the default branch only"
                if not runs
                else f"{len(runs)} check runs",
                not runs,
            )

            broken = await push("main", {CONFIG: BROKEN_CONFIG}, "Add 1.30", "maintainer")
            conclusion, title, summary = config_run(broken)
            problem = next((ln for ln in summary.splitlines() if CONFIG + ":" in ln), "")
            expect(
                "maintainer",
                f"pushes a {CONFIG} with an unquoted version",
                f"lts/config {conclusion}: {title}: {problem.strip()}",
                conclusion == "failure" and f"{CONFIG}:3:" in problem,
            )

            fixed = await push("main", {CONFIG: VALID_CONFIG}, "Quote the version", "maintainer")
            conclusion, title, _ = config_run(fixed)
            expect(
                "maintainer",
                "quotes the version and pushes again",
                f"lts/config {conclusion}: {title}",
                conclusion == "success",
            )

            last_push = sandbox.deliveries_of("push")[-1]
            calls_before = len(sandbox.calls)
            again = sandbox.redeliver(last_push.guid)
            await sandbox.settle(bot)
            runs = sandbox.check_runs(REPO, fixed, name="lts/config")
            answer = json.loads(again.response or "{}").get("status")
            expect(
                "GitHub",
                "redelivers that push (same X-GitHub-Delivery)",
                f"HTTP {again.status} {answer}; "
                f"{len(sandbox.calls) - calls_before} API calls; {len(runs)} lts/config run",
                again.status == 202 and answer == "duplicate" and len(runs) == 1,
            )

            await _play_triage(sandbox, bot, expect)
            await _play_gates(sandbox, bot, expect)
            await _play_sla(sandbox, bot, expect)
            await _play_release(sandbox, bot, expect)

            status, body = await _deliver(
                session, sandbox.webhook_url, key, "push", {}, signature="sha256=" + "0" * 64
            )
            expect(
                "someone",
                "posts a delivery with a forged signature",
                f"HTTP {status} {body.get('error')}",
                status == 401,
            )

            async with session.get(f"{base}/healthz") as resp:
                health = await resp.json()
            expect(
                "operator",
                "asks GET /healthz",
                f"HTTP {resp.status} {health}",
                resp.status == 200 and health.get("status") == "ok",
            )
            async with session.get(f"{base}/metrics") as resp:
                text = await resp.text()
            wanted = _metric_lines(text, "lts_bot_webhook_deliveries_total")
            published = [
                ln for ln in _metric_lines(text, "lts_bot_releases_total") if "published" in ln
            ]
            released = [
                ln
                for ln in text.splitlines()
                if ln.startswith("lts_bot_time_to_release_hours_count")
            ]
            triaged = [
                ln
                for ln in text.splitlines()
                if ln.startswith("lts_bot_time_to_triage_hours_count")
            ]
            expect(
                "operator",
                "scrapes GET /metrics",
                f"{len(wanted)} delivery counters; {'; '.join(published)}; "
                f"{'; '.join(released)}; {len(triaged)} time-to-triage series",
                resp.status == 200
                and bool(wanted)
                and len(published) == 2
                and len(released) == 2
                and bool(triaged),
            )
    finally:
        drained = await bot.stop(grace=5)
        await sandbox.stop()
    expect("operator", "stops the service (the SIGTERM path)", f"drained={drained}", drained)
    calls = {f"{m} {e}": n for (m, e), n in sorted(sandbox.calls.by_endpoint().items())}
    ok = timeline.summary({"github_api_calls": sum(calls.values()), "by_endpoint": calls})
    if not ok and not json_output:
        stream.write("\nService log:\n" + service_log.getvalue())
    return 0 if ok else 1


async def _play_triage(sandbox: Sandbox, bot: Bot, expect: Callable[..., None]) -> None:
    """Intake and triage of one ticket, from the contributor's and the triager's side."""
    sandbox.set_permission(REPO, "triager", "triage")
    issue = await sandbox.open_issue(
        REPO, user="contributor", title="Crash on an empty config", body=ISSUE_BODY
    )
    await sandbox.settle(bot)
    number = issue.number
    labels = sandbox.labels_on(REPO, number)
    ask = _bot_comment(sandbox, number, "<!-- lts-bot:needs-info -->")
    missing = [
        ln.strip("- *").split(":")[0].strip("* ") for ln in ask.splitlines() if ln.startswith("- ")
    ]
    expect(
        "contributor",
        f"opens #{number} with an incomplete report",
        f"labels {labels}; one comment asks for: {', '.join(missing)}",
        "needs-info" in labels and bool(missing),
    )

    await sandbox.edit_issue(REPO, number, user="contributor", body=FILLED_IN)
    await sandbox.settle(bot)
    labels = sandbox.labels_on(REPO, number)
    asks = _bot_comments(sandbox, number, "<!-- lts-bot:needs-info -->")
    expect(
        "contributor",
        "fills in the missing fields (the traceback names a CVE)",
        f"labels {labels}; the same needs-info comment now says all is there",
        "needs-info" not in labels and "security" in labels and len(asks) == 1,
    )

    await _say(
        sandbox,
        bot,
        number,
        "contributor",
        "/severity critical",
    )
    replies = _replies(sandbox, number)
    expect(
        "contributor",
        "tries /severity critical without the triage role",
        replies[-1].splitlines()[0] if replies else "no answer",
        bool(replies) and "triage role" in replies[-1],
    )

    comment = await _say(
        sandbox,
        bot,
        number,
        "triager",
        "/severity critical\n/affects v1.4 v1.3\n"
        "/check reproduced=yes exploit=no workaround=no api-change=no effort=small\n"
        "/assign @triager",
    )
    labels = sandbox.labels_on(REPO, number)
    reactions = [
        r.content for c in sandbox.comments_on(REPO, number) if c.id == comment for r in c.reactions
    ]
    expect(
        "triager",
        "/severity critical, /affects v1.4 v1.3, /check ..., /assign @triager",
        f"labels {labels}; reaction {reactions}",
        "severity/critical" in labels and "affects/v1.3" in labels and reactions == ["+1"],
    )

    await _say(
        sandbox, bot, number, "triager", "/triage backport security fix\n/backport v1.4 v1.3"
    )
    labels = sandbox.labels_on(REPO, number)
    status = _bot_comment(sandbox, number, "<!-- lts-bot:status -->")
    plan = [ln for ln in status.splitlines() if "lts/v1." in ln]
    sla = next((ln for ln in status.splitlines() if "Triage" in ln and "UTC" in ln), "")
    expect(
        "triager",
        "/triage backport security fix, /backport v1.4 v1.3",
        f"labels {labels}; status comment plans {len(plan)} patch branches; SLA: "
        + " ".join(sla.replace("|", " ").split()),
        "backport/v1.4" in labels and "backport/v1.3" in labels and len(plan) >= 2,
    )


# The ticket is named in the title, not with "Fixes #1": GitHub would close it on merge,
# while the LTS process keeps it open until the fix has shipped on every planned line.
FIX_BODY = """\
An empty config file made `load` crash; it now reads as an empty config.

Changelog: Fix a crash on an empty config (CVE-2026-31337)
"""
CONFIG_PY = "def load(text):\n    return parse(text)\n"
FIXED_PY = "def load(text):\n    return parse(text) if text else {}\n"
# v1.3 is security-only and parses strictly: the same line differs there.
STRICT_PY = "def load(text):\n    return parse(text, strict=True)\n"
RESOLVED_PY = "def load(text):\n    return parse(text, strict=True) if text else {}\n"


async def _play_gates(sandbox: Sandbox, bot: Bot, expect: Callable[..., None]) -> None:
    """The fix lands on main; lts-bot backports it; gates, approvals, merge, a hand backport."""
    for login in ("reviewer", "qa", "release-manager"):
        sandbox.add_user(login)
    sandbox.set_permission(REPO, "reviewer", "write")
    sandbox.set_permission(REPO, "contributor", "write")
    sandbox.set_permission(REPO, "maintainer", "maintain")
    sandbox.add_team("acme", "qa", ["qa"])
    sandbox.add_team("acme", "release", ["release-manager"])
    await sandbox.push_commits(
        REPO, "main", {"src/config.py": CONFIG_PY}, message="Add the loader", author="maintainer"
    )
    for version in ("1.4", "1.3"):
        await sandbox.create_branch(
            REPO, f"release-lts/v{version}", from_ref="main", user="maintainer"
        )
    await sandbox.push_commits(
        REPO,
        "release-lts/v1.3",
        {"src/config.py": STRICT_PY},
        message="Parse strictly on 1.3",
        author="maintainer",
    )
    await sandbox.settle(bot)

    await sandbox.push_commits(
        REPO,
        "fix-empty-config",
        {"src/config.py": FIXED_PY},
        message="Fix the crash on an empty config",
        author="contributor",
    )
    fix = await sandbox.open_pr(
        REPO,
        user="contributor",
        head="fix-empty-config",
        title="Fix the crash on an empty config (#1)",
        body=FIX_BODY,
    )
    await sandbox.review(REPO, fix.number, user="reviewer", state="APPROVE")
    await sandbox.merge_pr(REPO, fix.number, method="squash", user="maintainer")
    await sandbox.settle(bot)
    pulls = {
        it.pull.base_ref: it.pull
        for it in sandbox.world.repo_by_name(REPO).issues.values()
        if it.pull is not None and it.pull.base_ref.startswith("release-lts/")
    }
    v14 = pulls.get("release-lts/v1.4")
    matrix = _bot_comment(sandbox, fix.number, "<!-- lts-bot:backports -->")
    rows = [" ".join(ln.replace("|", " ").split()) for ln in matrix.splitlines() if "v1." in ln]
    expect(
        "maintainer",
        f"squash-merges fix #{fix.number} on main (for ticket #1)",
        f"lts-bot opens #{v14.number if v14 else '?'} "
        f"({v14.head_ref if v14 else '-'}); matrix: {'; '.join(rows)}",
        v14 is not None
        and v14.head_ref == "lts/v1.4/issue-1"
        and "release-lts/v1.3" not in pulls
        and "backport-conflict/v1.3" in sandbox.labels_on(REPO, fix.number),
    )
    how = _bot_comment(sandbox, fix.number, "<!-- lts-bot:backport-conflict v1.3")
    command = next((ln for ln in how.splitlines() if "git cherry-pick -x" in ln), "")
    expect(
        "lts-bot",
        "explains the v1.3 conflict on the fix",
        f"files: src/config.py; by hand: {command.strip()}",
        "src/config.py" in how and bool(command),
    )
    if v14 is None:
        return

    runs = _gate_runs(sandbox, v14.head_sha)
    expect(
        "reviewer",
        f"reads the checks on #{v14.number} (the bot asked for their review)",
        "; ".join(f"{name} {conclusion}" for name, (conclusion, _) in runs.items()),
        runs.get("lts/branch-name", ("",))[0] == "success"
        and runs.get("lts/commit-message", ("",))[0] == "success"
        and runs.get("lts/backport-fidelity", ("",))[0] == "success"
        and runs.get("lts/gate", ("",))[0] == "failure"
        and "reviewer" in {u.login for u in v14.requested_reviewers},
    )
    expect(
        "reviewer",
        "reads lts/approvals on the backport PR",
        runs.get("lts/approvals", ("", ""))[1],
        runs.get("lts/approvals", ("",))[0] == "failure",
    )

    await sandbox.review(REPO, v14.number, user="reviewer", state="APPROVE")
    await sandbox.comment(REPO, v14.number, user="qa", body="/approve qa")
    await sandbox.comment(REPO, v14.number, user="release-manager", body="/approve release-manager")
    await sandbox.comment(REPO, v14.number, user="maintainer", body="/approve security")
    await sandbox.settle(bot)
    runs = _gate_runs(sandbox, v14.head_sha)
    expect(
        "reviewer, QA, release manager, security",
        "approve, /approve qa, /approve release-manager, /approve security",
        "; ".join(f"{name} {conclusion}" for name, (conclusion, _) in runs.items()),
        runs.get("lts/approvals", ("",))[0] == "success"
        and runs.get("lts/gate", ("",))[0] == "success",
    )

    await sandbox.merge_pr(REPO, v14.number, method="squash", user="release-manager")
    await sandbox.settle(bot)
    labels = sandbox.labels_on(REPO, 1)
    status = _bot_comment(sandbox, 1, "<!-- lts-bot:status -->")
    plan = [
        " ".join(ln.replace("|", " ").split())
        for ln in status.splitlines()
        if ln.startswith("| v1.")
    ]
    expect(
        "release manager",
        f"merges #{v14.number} into release-lts/v1.4",
        f"ticket #1 labelled backported/v1.4; plan: {'; '.join(plan)}",
        "backported/v1.4" in labels and any("merged" in row for row in plan),
    )

    pushed = await sandbox.push_commits(
        REPO,
        "lts/v1.3/issue-1",
        {"src/config.py": RESOLVED_PY},
        message=(
            "Fix the crash on an empty config\n\n"
            f"(cherry picked from commit {fix.merge_commit_sha})\n"
            "Backport to v1.3\nRefs #1\n"
            "Changelog: Fix a crash on an empty config (CVE-2026-31337)"
        ),
        author="contributor",
        from_ref="release-lts/v1.3",
    )
    hand = await sandbox.open_pr(
        REPO,
        user="contributor",
        head="lts/v1.3/issue-1",
        base="release-lts/v1.3",
        title="[v1.3] Fix the crash on an empty config",
    )
    await sandbox.settle(bot)
    fidelity = sandbox.check_runs(REPO, pushed.after, name="lts/backport-fidelity")
    matrix = _bot_comment(sandbox, fix.number, "<!-- lts-bot:backports -->")
    expect(
        "contributor",
        f"resolves the v1.3 conflict by hand and opens #{hand.number}",
        f"matrix links it; lts/backport-fidelity "
        f"{fidelity[0].conclusion if fidelity else 'missing'}: "
        f"{fidelity[0].output.get('title') if fidelity else ''}",
        f"#{hand.number}" in matrix
        and "backport-conflict/v1.3" not in sandbox.labels_on(REPO, fix.number)
        and bool(fidelity)
        and fidelity[0].conclusion == "failure",
    )
    await sandbox.comment(
        REPO, hand.number, user="release-manager", body="/approve release-manager"
    )
    await sandbox.settle(bot)
    gate = sandbox.check_runs(REPO, pushed.after, name="lts/gate")
    line = next(
        (ln for ln in (gate[0].output.get("summary") or "").splitlines() if "fidelity" in ln)
        if gate
        else iter(()),
        "",
    )
    expect(
        "release manager",
        "reviews the difference and signs off with /approve release-manager",
        " ".join(line.replace("[", " ").replace("]", " ").split())[:160],
        "accepted by @release-manager" in line,
    )


async def _play_sla(sandbox: Sandbox, bot: Bot, expect: Callable[..., None]) -> None:
    """Time passes on a critical ticket nobody triages: a reminder, then the escalation."""
    sandbox.add_user("lead")
    sandbox.add_team("acme", "leads", ["lead"])
    issue = await sandbox.open_issue(
        REPO, user="contributor", title="Data loss on restart", body=FILLED_IN
    )
    await _say(sandbox, bot, issue.number, "triager", "/severity critical\n/assign @triager")
    sandbox.advance_clock(hours=3, minutes=10)
    report = await bot.sweep_now()
    await sandbox.settle(bot)
    reminder = _bot_comment(sandbox, issue.number, "<!-- lts-bot:reminder triage:remind")
    first = next((ln for ln in reminder.splitlines()[1:] if ln.strip()), "")
    expect(
        "clock",
        f"3h10m pass on critical #{issue.number}; the sweep runs ({len(report.items)} items)",
        first[:160],
        "@triager" in reminder,
    )
    await bot.sweep_now()
    await sandbox.settle(bot)
    again = _bot_comments(sandbox, issue.number, "<!-- lts-bot:reminder triage:remind")
    expect(
        "clock",
        "the sweep runs again",
        f"{len(again)} reminder on #{issue.number}: each is posted once",
        len(again) == 1,
    )
    sandbox.advance_clock(hours=1)
    await bot.sweep_now()
    await sandbox.settle(bot)
    breach = _bot_comment(sandbox, issue.number, "<!-- lts-bot:reminder triage:breach")
    labels = sandbox.labels_on(REPO, issue.number)
    expect(
        "clock",
        "the 4h triage deadline passes",
        f"labels {[x for x in labels if x.startswith('sla/')]}; escalated: "
        + ("@acme/leads mentioned" if "@acme/leads" in breach else "no escalation"),
        "sla/breached" in labels and "@acme/leads" in breach,
    )


async def _play_release(sandbox: Sandbox, bot: Bot, expect: Callable[..., None]) -> None:
    """Both lines ship the fix: staged, checked, published, watched 48 h, ticket closed."""
    repo = sandbox.world.repo_by_name(REPO)
    hand = next(
        (
            it.pull
            for it in repo.issues.values()
            if it.pull is not None and it.pull.base_ref == "release-lts/v1.3" and it.state == "open"
        ),
        None,
    )
    if hand is None:
        expect("release manager", "finds the v1.3 backport PR", "none open", False)
        return
    await sandbox.review(REPO, hand.number, user="reviewer", state="APPROVE")
    await _say(sandbox, bot, hand.number, "qa", "/approve qa")
    await _say(sandbox, bot, hand.number, "maintainer", "/approve security")
    await sandbox.merge_pr(REPO, hand.number, method="squash", user="release-manager")
    await sandbox.settle(bot)
    expect(
        "release manager",
        f"merges #{hand.number} into release-lts/v1.3 once reviewer, QA and security signed off",
        f"ticket #1 labels: {[x for x in sandbox.labels_on(REPO, 1) if 'ported/' in x]}",
        "backported/v1.3" in sandbox.labels_on(REPO, 1),
    )

    await _say(sandbox, bot, 1, "release-manager", "/release v1.4\n/release v1.3")
    tracking = {
        it.title.removeprefix("LTS release "): it.number
        for it in repo.issues.values()
        if any(label.name == "lts/release" for label in it.labels)
    }
    drafts = {r.tag_name: r for r in repo.releases.values() if r.draft}
    notes = drafts["v1.4.0"].body or "" if "v1.4.0" in drafts else ""
    advisories = sandbox.advisories(REPO)
    expect(
        "release manager",
        "/release v1.4 and /release v1.3 on ticket #1",
        f"tracking issues {', '.join(f'#{n} ({t})' for t, n in sorted(tracking.items()))}; "
        f"draft releases {sorted(drafts)}; notes open with "
        f"{next((ln for ln in notes.splitlines() if ln.startswith('- **CVE')), '?')[:70]!r}; "
        f"{len(advisories)} draft security advisories",
        set(tracking) == {"v1.4.0", "v1.3.0"}
        and set(drafts) == {"v1.4.0", "v1.3.0"}
        and "### Security" in notes
        and "CVE-2026-31337" in notes
        and len(advisories) == 2,
    )
    expect(
        "release manager",
        f"reads the v1.4.0 checklist on #{tracking.get('v1.4.0')}",
        _checklist_summary(sandbox, tracking.get("v1.4.0", 0)),
        "- [ ]" in _body(sandbox, tracking.get("v1.4.0", 0)),
    )

    for line in ("1.4", "1.3"):
        head = await sandbox.branch_head(REPO, f"release-lts/v{line}")
        if head is not None:
            await sandbox.complete_check(REPO, head, "ci / test")
        wheel = f"widgets-{line}.0-py3-none-any.whl".encode()
        digest = hashlib.sha256(wheel).hexdigest()
        await sandbox.attach_release_asset(
            REPO, f"v{line}.0", f"widgets-{line}.0-py3-none-any.whl", wheel, user="release-manager"
        )
        await sandbox.attach_release_asset(
            REPO,
            f"v{line}.0",
            "SHA256SUMS",
            f"{digest}  widgets-{line}.0-py3-none-any.whl\n".encode(),
            user="release-manager",
        )
    await bot.sweep_now()
    await sandbox.settle(bot)
    expect(
        "CI, release manager",
        "CI passes on both branch heads; wheels and SHA256SUMS attached; the sweep runs",
        _checklist_summary(sandbox, tracking.get("v1.4.0", 0)),
        all("- [ ]" not in _body(sandbox, n) for n in tracking.values()),
    )

    for tag in ("v1.4.0", "v1.3.0"):
        await sandbox.publish_release(REPO, tag, user="release-manager")
    await sandbox.settle(bot)
    told = _bot_comments(sandbox, 1, "<!-- lts-bot:released ")
    labels = [x for x in sandbox.labels_on(REPO, 1) if x.startswith("released/")]
    status = [
        c
        for n in tracking.values()
        for c in _bot_comments(sandbox, n, "<!-- lts-bot:internal-status ")
    ]
    expect(
        "release manager",
        "publishes both releases",
        f"ticket #1: {len(told)} release notes, labels {labels}; "
        f"{len(status)} internal status messages on the tracking issues",
        len(told) == 2 and len(labels) == 2 and len(status) == 2,
    )

    before = sandbox.issue(REPO, 1).state
    sandbox.advance_clock(hours=49)
    await bot.sweep_now()
    await sandbox.settle(bot)
    states = {f"#{n}": sandbox.issue(REPO, n).state for n in (1, *sorted(tracking.values()))}
    expect(
        "clock",
        "48 h pass without a regression report; the sweep runs",
        f"ticket #1 {before} -> {states['#1']}, with a final note; tracking issues closed: "
        f"{states}",
        before == "open" and all(state == "closed" for state in states.values()),
    )

    gh = bot.services.github.installation(
        await report_cli.installation_of(bot.services.github.app(), REPO) or 0
    )
    now = datetime.fromtimestamp(bot.services.clock.time(), tz=UTC)
    owner, name = REPO.split("/")
    result = await report_cli.compute(bot.services, gh, REPO, since=None, now=now)
    number, outcome = await report_cli.post_report(
        gh, owner, name, report.render_markdown(result, repo=REPO), now
    )
    every = result.group("all")
    conflicts = every.backports.conflict_rate
    rate = "—" if conflicts is None else f"{conflicts:.0%}"
    triage = report.format_hours(every.time_to_triage.median)
    expect(
        "release manager",
        f"runs lts-bot report --repo {REPO} --post",
        f"{every.tickets} tickets; time to triage {triage} "
        f"(median); {every.breaches.total} SLA breach; "
        f"{every.releases.published if every.releases else 0} releases, "
        f"{every.releases.withdrawn if every.releases else 0} rolled back; backport conflict rate "
        f"{rate}; weekly report issue #{number} {outcome}",
        outcome == "created" and every.tickets >= 2 and every.breaches.total == 1,
    )


def _body(sandbox: Sandbox, number: int) -> str:
    try:
        return sandbox.issue(REPO, number).body or ""
    except KeyError:
        return ""


def _checklist_summary(sandbox: Sandbox, number: int) -> str:
    items = [ln for ln in _body(sandbox, number).splitlines() if ln.startswith("- [")]
    done = sum(ln.startswith("- [x]") for ln in items)
    left = [
        ln.removeprefix("- [ ] ").split(" — ")[0].lstrip("❌ ")
        for ln in items
        if ln.startswith("- [ ]")
    ]
    return f"{done}/{len(items)} done" + (f"; open: {'; '.join(left)}" if left else "")


def _gate_runs(sandbox: Sandbox, sha: str) -> dict[str, tuple[str, str]]:
    out = {}
    for name in (
        "lts/branch-name",
        "lts/commit-message",
        "lts/backport-fidelity",
        "lts/approvals",
        "lts/gate",
    ):
        runs = sandbox.check_runs(REPO, sha, name=name)
        if len(runs) == 1:
            out[name] = (str(runs[0].conclusion), str(runs[0].output.get("title")))
    return out


async def _say(sandbox: Sandbox, bot: Bot, number: int, who: str, body: str) -> int:
    comment = await sandbox.comment(REPO, number, user=who, body=body)
    await sandbox.settle(bot)
    return comment.id


def _bot_comments(sandbox: Sandbox, number: int, marker: str) -> list[str]:
    return [
        c.body
        for c in sandbox.comments_on(REPO, number)
        if c.user.login.endswith("[bot]") and c.body.startswith(marker)
    ]


def _bot_comment(sandbox: Sandbox, number: int, marker: str) -> str:
    found = _bot_comments(sandbox, number, marker)
    return found[0] if found else ""


def _replies(sandbox: Sandbox, number: int) -> list[str]:
    return [
        c.body
        for c in sandbox.comments_on(REPO, number)
        if c.user.login.endswith("[bot]") and not c.body.startswith("<!-- lts-bot:")
    ]


def _metric_lines(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name + "{")]
