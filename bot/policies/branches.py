"""The `lts/branch-name` check run: a PR into an LTS line comes from `lts/vX.Y/issue-N`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import BRANCH_PREFIX, LineConfig, RepoConfig
from bot.decisions import CheckRunDecision, clip
from bot.markdown import code, code_block
from bot.ticket import BACKPORT_PREFIX, TRIAGE_PREFIX, TicketState

# Naming scheme: `docs/process.md`'s `lts/vX.Y/issue-N`, with an optional suffix:
#
#     lts/v<X.Y>/issue-<N>[-<suffix>]
#
# - `X.Y` is the line's version as written in `.github/lts.yml` and must be the version of
#   the pull request's base branch `release-lts/vX.Y`.
# - `N` is the LTS ticket: an issue (not a pull request) of this repository, triaged
#   `triage/backport`, with `backport/vX.Y` among its targets.
# - The optional suffix keeps several pull requests of one ticket for one line apart:
#   `lts/v1.4/issue-123-2`, `lts/v1.4/issue-123-docs`. It is a hyphen and then 1-64
#   letters, digits, dots, underscores or hyphens, starting with a letter or digit. A slash
#   (`issue-123/2`) is refused on purpose: git cannot hold `lts/v1.4/issue-123` and
#   `lts/v1.4/issue-123/2` at the same time, because one ref would be a directory of the other.
#
# Only the head branch's *name* is read, so pull requests from forks are checked the same
# way; a head label `owner:branch` and a `refs/heads/` prefix are accepted and dropped.
#
# The ticket is judged from its signed status-comment record (`TicketState`) when the handler
# found one, otherwise from its labels (`triage/backport`, `backport/vX.Y`): the labels are
# the searchable index of the same state.

CHECK_NAME = "lts/branch-name"
PATCH_PREFIX = "lts/"
MAX_SUFFIX_CHARS = 64
# Names are shown in titles and summaries; a ref longer than this is shown cut.
_SHOW_REF_CHARS = 200

_VERSION = r"(?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3})"
# GitHub issue numbers are 32-bit; the digit bound also keeps int() cheap on hostile input.
_ISSUE = r"[1-9][0-9]{0,9}"
_SUFFIX = rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_SUFFIX_CHARS - 1}}}"
_PATCH_RE = re.compile(rf"lts/v({_VERSION})/issue-({_ISSUE})(?:-({_SUFFIX}))?")
# The explicit `issue-N` token, wherever it sits: enough to know which issue to read even
# when the rest of the name is off (`lts/1.4/issue-123`, `lts/v1.4/issue-123/2`).
_ISSUE_TOKEN_RE = re.compile(rf"(?:^|/)issue-({_ISSUE})(?![0-9])", re.IGNORECASE)
_MAX_ISSUE = 2**31 - 1


@dataclass(frozen=True)
class PatchBranch:
    """A parsed patch branch name: line version "X.Y", ticket number, optional suffix."""

    version: str
    issue: int
    suffix: str | None = None

    @property
    def name(self) -> str:
        tail = f"-{self.suffix}" if self.suffix else ""
        return f"{PATCH_PREFIX}v{self.version}/issue-{self.issue}{tail}"


@dataclass(frozen=True)
class TicketSnapshot:
    """What the handler read about issue N: whether it exists, is a PR, its state and labels."""

    number: int
    exists: bool
    is_pull_request: bool = False
    state: TicketState | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class BranchSnapshot:
    """A pull request's base and head branch names and the ticket its head names, if read."""

    base_ref: str
    head_ref: str
    ticket: TicketSnapshot | None = None


def _branch_name(ref: str) -> str:
    # A head label "owner:branch" names a fork's branch; git refs cannot contain ":".
    name = ref.rpartition(":")[2] if ":" in ref else ref
    return name.removeprefix("refs/heads/")


def parse_patch_branch(ref: str) -> PatchBranch | None:
    """Parse `lts/vX.Y/issue-N[-suffix]` (also `refs/heads/…` or `owner:…`); None otherwise."""
    match = _PATCH_RE.fullmatch(_branch_name(ref))
    if match is None or int(match[2]) > _MAX_ISSUE:
        return None
    return PatchBranch(match[1], int(match[2]), match[3])


def ticket_number(head_ref: str) -> int | None:
    """The issue a head branch names with `issue-N`, even if the rest of the name is wrong."""
    name = _branch_name(head_ref)
    patch = parse_patch_branch(name)
    if patch is not None:
        return patch.issue
    match = _ISSUE_TOKEN_RE.search(name)
    if match is None or int(match[1]) > _MAX_ISSUE:
        return None
    return int(match[1])


def base_line(base_ref: str, config: RepoConfig) -> LineConfig | None:
    """The configured line whose branch is exactly this base (`release-lts/v1.4`)."""
    name = base_ref.removeprefix("refs/heads/")
    return next((line for line in config.lines if line.branch == name), None)


# --- evaluation --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    title: str
    detail: str
    fix: str


def evaluate(snapshot: BranchSnapshot, config: RepoConfig) -> CheckRunDecision:
    """Success when the head names this line and a ticket targeting it; failure saying why."""
    line = base_line(snapshot.base_ref, config)
    if line is None:
        return _not_lts(snapshot.base_ref, config)
    head = _branch_name(snapshot.head_ref)
    patch = parse_patch_branch(head)
    number = patch.issue if patch else ticket_number(head)
    expected = f"{PATCH_PREFIX}{line.label}/issue-{number if number else '<N>'}"
    if patch is not None and patch.suffix:
        expected += f"-{patch.suffix}"

    problems: list[_Problem] = []
    if patch is None:
        problems.append(_name_problem(head, line, expected))
    elif patch.version != line.version:
        problems.append(_version_problem(patch, line, expected, config))
    if number is not None:
        problems += _ticket_problems(number, snapshot.ticket, line)

    if problems or patch is None:
        return _failure(problems, expected, line)
    title = f"{patch.name} is the patch branch of #{patch.issue} for {line.label}"
    summary = (
        f"The head branch {code(patch.name)} follows `lts/vX.Y/issue-N` for "
        f"{code(line.branch)}, and #{patch.issue} is an issue triaged "
        f"`{TRIAGE_PREFIX}backport` with `{BACKPORT_PREFIX}{line.label}` among its targets."
    )
    return CheckRunDecision(CHECK_NAME, "success", clip(title, 255), clip(summary))


def _not_lts(base_ref: str, config: RepoConfig) -> CheckRunDecision:
    name = base_ref.removeprefix("refs/heads/")
    configured = ", ".join(code(line.branch) for line in config.lines) or "none"
    if name.startswith(BRANCH_PREFIX):
        title = f"{_show(name)} is not a configured LTS line"
        why = (
            f"The base branch {code(_show(name))} looks like an LTS branch, but no entry in "
            "`lines:` of `.github/lts.yml` maintains it (the line may have been removed)."
        )
    else:
        title = f"Base branch {_show(name)} is not an LTS branch"
        why = f"The base branch {code(_show(name))} is not an LTS branch."
    summary = (
        f"{why} Patch-branch names are only checked on pull requests into a configured "
        f"`{BRANCH_PREFIX}X.Y` branch. Configured LTS branches: {configured}."
    )
    return CheckRunDecision(CHECK_NAME, "neutral", clip(title, 255), clip(summary))


def _name_problem(head: str, line: LineConfig, expected: str) -> _Problem:
    reason = _why_not_patch_branch(head, line)
    return _Problem(
        f"Head branch should be named {_show(expected)}",
        f"The head branch {code(_show(head))} is not a patch branch name: {reason}.",
        _rename_fix(head, expected, line),
    )


def _why_not_patch_branch(head: str, line: LineConfig) -> str:
    """Say which part of the name breaks `lts/vX.Y/issue-N[-suffix]`, first part first."""
    if not head:
        return "it is empty"
    if parse_patch_branch(head.lower()) is not None:
        return "git branch names are case-sensitive and the scheme is lowercase"
    parts = head.split("/")
    if parts[0] != "lts":
        return f"it must start with `{PATCH_PREFIX}`"
    if len(parts) < 3:
        return "it needs three parts, `lts/`, the line `vX.Y` and `issue-N`"
    version = parts[1]
    if re.fullmatch(_VERSION, version):
        return f"the version needs a `v`: `v{version}`"
    if not re.fullmatch(rf"v{_VERSION}", version):
        return f"{code(_show(version))} is not a line version such as `{line.label}`"
    issue = parts[2]
    token = re.match(rf"issue-({_ISSUE})(?![0-9])", issue)
    if token is None or int(token[1]) > _MAX_ISSUE:
        if re.match(r"issue-0", issue):
            return "the issue number must not start with 0"
        if re.match(r"issue-[0-9]", issue):
            return "the number after `issue-` is too large to be an issue number"
        return f"{code(_show(issue))} must be `issue-N`, N being the LTS ticket's number"
    rest = issue[token.end() :]
    if len(parts) > 3:
        return (
            "the suffix must be joined with a hyphen, not a slash "
            f"(`{token[0]}-{_show(parts[3], 20)}`): git cannot hold both "
            f"`lts/{version}/{token[0]}` and branches below it"
        )
    if not rest.startswith("-"):
        return (
            "a suffix after the issue number starts with a hyphen: "
            f"{code(_show(f'{token[0]}-{rest}', 80))}"
        )
    if rest == "-":
        return "it ends with a hyphen; drop it or add a suffix such as `-2`"
    return (
        f"the suffix {code(_show(rest[1:], 80))} may hold only letters, digits, `.`, `_` "
        f"and `-`, start with a letter or digit, and be at most {MAX_SUFFIX_CHARS} characters"
    )


def _version_problem(
    patch: PatchBranch, line: LineConfig, expected: str, config: RepoConfig
) -> _Problem:
    other = config.line(patch.version)
    if other is not None:
        alternative = (
            f" If the change is meant for v{patch.version}, keep the name and change the pull "
            f"request's base to {code(other.branch)} instead (**Edit** next to the title)."
        )
    else:
        alternative = f" v{patch.version} is not a configured LTS line."
    return _Problem(
        f"Branch is for v{patch.version}, the base is {line.branch}",
        f"The head branch {code(patch.name)} names line v{patch.version}, but the pull "
        f"request goes into {code(line.branch)} ({line.label}).{alternative}",
        _rename_fix(patch.name, expected, line),
    )


def _rename_fix(head: str, expected: str, line: LineConfig) -> str:
    first = (
        "Use the number of the LTS ticket (the issue triaged `triage/backport`) for `<N>`. "
        if "<N>" in expected
        else ""
    )
    # A name too long to show is left for the author to fill in rather than cut wrongly.
    old = _shell(head) if 0 < len(head) <= _SHOW_REF_CHARS else "<branch>"
    new = _shell(expected)
    return (
        f"{first}Rename the branch and push it, then open a new pull request from it into "
        f"{code(line.branch)} and close this one (GitHub cannot change a pull request's "
        "head branch):\n\n"
        + code_block(f"git branch -m {old} {new}\ngit push -u origin {new}", "shell")
    )


def _ticket_problems(
    number: int, ticket: TicketSnapshot | None, line: LineConfig
) -> list[_Problem]:
    where = f"on #{number}"
    if ticket is None or ticket.number != number:
        return [
            _Problem(
                f"Issue #{number} could not be read",
                f"lts-bot could not read issue #{number}, so it cannot tell whether it is an "
                f"LTS ticket for {line.label}.",
                "Re-run this check; if it fails again, ask a maintainer to look at lts-bot.",
            )
        ]
    if not ticket.exists:
        return [
            _Problem(
                f"Issue #{number} does not exist",
                f"The branch names issue #{number}, which does not exist in this repository.",
                "Name the branch after the LTS ticket's number (see the expected name).",
            )
        ]
    if ticket.is_pull_request:
        return [
            _Problem(
                f"#{number} is a pull request, not an issue",
                f"The branch names #{number}, which is a pull request. A patch branch names "
                "the LTS ticket: the issue triaged for backport, not a pull request.",
                "Name the branch after the LTS ticket's issue number.",
            )
        ]
    decision, targets = _ticket_plan(ticket)
    problems: list[_Problem] = []
    if decision != "backport":
        now = code(_show(TRIAGE_PREFIX + decision, 60)) if decision else "not triaged yet"
        problems.append(
            _Problem(
                f"Issue #{number} is not triaged for backport",
                f"Issue #{number} is {now}; a patch branch needs a ticket triaged "
                f"`{TRIAGE_PREFIX}backport`.",
                f"A triager decides by commenting `/triage backport` {where}; then re-run "
                "this check.",
            )
        )
    if line.version not in targets:
        others = ", ".join(_show(f"v{v}", 60) for v in targets) or "none"
        problems.append(
            _Problem(
                f"Issue #{number} does not target {line.label}",
                f"Issue #{number} lacks `{BACKPORT_PREFIX}{line.label}`: its backport targets "
                f"are {others}.",
                f"A triager adds the line by commenting `/backport {line.label}` {where}; "
                "then re-run this check.",
            )
        )
    return problems


def _ticket_plan(ticket: TicketSnapshot) -> tuple[str | None, tuple[str, ...]]:
    if ticket.state is not None:
        return ticket.state.decision, ticket.state.backport
    decisions = sorted(
        label.removeprefix(TRIAGE_PREFIX)
        for label in ticket.labels
        if label.startswith(TRIAGE_PREFIX)
    )
    decision = "backport" if "backport" in decisions else (decisions[0] if decisions else None)
    targets = tuple(
        label.removeprefix(BACKPORT_PREFIX + "v")
        for label in ticket.labels
        if label.startswith(BACKPORT_PREFIX + "v")
    )
    return decision, targets


def _failure(problems: list[_Problem], expected: str, line: LineConfig) -> CheckRunDecision:
    title = problems[0].title
    if len(problems) > 1:
        title += f" (+{len(problems) - 1} more)"
    out = [
        f"Pull requests into {code(line.branch)} come from a branch named "
        f"`lts/{line.label}/issue-N` (N: the LTS ticket), optionally with a suffix such as "
        f"`-2` to keep several pull requests apart. Expected here: {code(expected)}.",
        "",
    ]
    for index, problem in enumerate(problems, 1):
        out += [f"### {index}. {problem.title}", "", problem.detail, "", problem.fix, ""]
    return CheckRunDecision(CHECK_NAME, "failure", clip(title, 255), clip("\n".join(out).rstrip()))


# --- formatting --------------------------------------------------------------------------


def _show(text: str, limit: int = _SHOW_REF_CHARS) -> str:
    text = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shell(text: str) -> str:
    # Refs may hold characters the shell reads ($, `, ', ;): quote unless plainly safe.
    if re.fullmatch(r"[A-Za-z0-9._/+-]+", text):
        return text
    return "'" + _show(text).replace("'", "'\\''") + "'"
