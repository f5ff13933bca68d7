"""Slash commands in issue and pull-request comments: the grammar, the parser and their docs."""

from __future__ import annotations

import bisect
import difflib
import functools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeVar, get_args

# GitHub refuses comment bodies over 65,536 characters, so anything longer did not come
# from GitHub; reading no further keeps the parser's work bounded whatever it is given.
MAX_BODY_CHARS = 65_536
MAX_COMMANDS = 20
# Bounds what one command can ask for (backports to open, users to assign).
MAX_LIST_ARGS = 20
# Below this difflib ratio an unknown "/word" is taken for prose ("/etc/hosts") and gets
# no reply; above it, it is a typo worth answering.
DID_YOU_MEAN_CUTOFF = 0.75
# Longer than any verb could plausibly be misspelled; skips difflib on long words.
_MAX_VERB_CHARS = 40

Who = Literal[
    "anyone", "author", "triage", "reviewer", "qa", "release-manager", "security", "eng-lead"
]
SeverityLevel = Literal["critical", "high", "medium", "low"]
TriageDecision = Literal["backport", "defer", "reject"]
Effort = Literal["small", "medium", "large"]
ApprovalRole = Literal["qa", "release-manager", "security", "eng-lead"]
SlaAction = Literal["pause", "resume"]

SEVERITIES: tuple[SeverityLevel, ...] = get_args(SeverityLevel)
TRIAGE_DECISIONS: tuple[TriageDecision, ...] = get_args(TriageDecision)
EFFORTS: tuple[Effort, ...] = get_args(Effort)
APPROVAL_ROLES: tuple[ApprovalRole, ...] = get_args(ApprovalRole)
SLA_ACTIONS: tuple[SlaAction, ...] = get_args(SlaAction)
CHECK_KEYS = ("reproduced", "exploit", "workaround", "api-change", "effort")

_TRIAGE: tuple[Who, ...] = ("triage",)
_ANY_ROLE: tuple[Who, ...] = ("triage", "reviewer", "qa", "release-manager", "security", "eng-lead")


# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Command:
    """One command read from a comment: `line` is 1-based, `raw` the stripped line text."""

    verb: ClassVar[str] = ""
    line: int
    raw: str

    @property
    def spec(self) -> CommandSpec:
        return _SPECS[self.verb]

    @property
    def roles(self) -> tuple[Who, ...]:
        """Holding any one of these roles lets the commenter run this command."""
        return self.spec.roles


@dataclass(frozen=True, kw_only=True)
class SeverityCommand(Command):
    verb: ClassVar[str] = "severity"
    level: SeverityLevel


@dataclass(frozen=True, kw_only=True)
class AffectsCommand(Command):
    verb: ClassVar[str] = "affects"
    versions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RemoveAffectsCommand(Command):
    verb: ClassVar[str] = "remove-affects"
    versions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TriageCommand(Command):
    verb: ClassVar[str] = "triage"
    decision: TriageDecision
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class BackportCommand(Command):
    verb: ClassVar[str] = "backport"
    versions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class RemoveBackportCommand(Command):
    verb: ClassVar[str] = "remove-backport"
    versions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SecurityCommand(Command):
    verb: ClassVar[str] = "security"


@dataclass(frozen=True, kw_only=True)
class RegressionCommand(Command):
    verb: ClassVar[str] = "regression"


@dataclass(frozen=True, kw_only=True)
class CheckCommand(Command):
    """Triage checklist answers; None means the comment did not answer that item."""

    verb: ClassVar[str] = "check"
    reproduced: bool | None = None
    exploit: bool | None = None
    workaround: bool | None = None
    api_change: bool | None = None
    effort: Effort | None = None


@dataclass(frozen=True, kw_only=True)
class AssignCommand(Command):
    verb: ClassVar[str] = "assign"
    users: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class UnassignCommand(Command):
    verb: ClassVar[str] = "unassign"
    users: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SlaCommand(Command):
    verb: ClassVar[str] = "sla"
    action: SlaAction
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class StatusCommand(Command):
    verb: ClassVar[str] = "status"


@dataclass(frozen=True, kw_only=True)
class HelpCommand(Command):
    verb: ClassVar[str] = "help"


@dataclass(frozen=True, kw_only=True)
class ApproveCommand(Command):
    verb: ClassVar[str] = "approve"
    role: ApprovalRole
    cancel: bool = False

    @property
    def roles(self) -> tuple[Who, ...]:
        # Signing off (or withdrawing) as QA takes the QA role, not any approver role.
        return (self.role,)


@dataclass(frozen=True, kw_only=True)
class HoldCommand(Command):
    verb: ClassVar[str] = "hold"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class UnholdCommand(Command):
    verb: ClassVar[str] = "unhold"


@dataclass(frozen=True, kw_only=True)
class FastTrackCommand(Command):
    verb: ClassVar[str] = "fast-track"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReleaseCommand(Command):
    """A release of a line ("1.4": its next patch) or of one version ("1.4.2")."""

    verb: ClassVar[str] = "release"
    version: str

    @property
    def line_version(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True, kw_only=True)
class RollbackCommand(Command):
    verb: ClassVar[str] = "rollback"
    version: str
    reason: str


@dataclass(frozen=True)
class CommandError:
    """A line that tried to be a command and failed; `message` says what would work."""

    line: int
    raw: str
    message: str
    verb: str | None = None  # the known verb it used, None for an unknown one


@dataclass(frozen=True)
class ParseResult:
    """Commands and errors in the order written; `chars_read` of the body were parsed."""

    commands: tuple[Command, ...] = ()
    errors: tuple[CommandError, ...] = ()
    chars_read: int = 0


# --- argument grammar --------------------------------------------------------------------


class _Problem(Exception):
    """Wrong arguments; the message is shown to the commenter."""


_TOKEN_RE = re.compile(r"\S+")
_LINE_RE = re.compile(r"[vV]?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")
_RELEASE_RE = re.compile(r"[vV]?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(?:\.(0|[1-9][0-9]{0,5}))?")
_LOGIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")

_T = TypeVar("_T", bound=str)


@dataclass(frozen=True)
class _Args:
    spec: CommandSpec
    line: int
    raw: str
    text: str

    @property
    def words(self) -> list[str]:
        return _TOKEN_RE.findall(self.text)

    def rest(self, index: int) -> str:
        """The words from `index` on: a free-form reason, with runs of spaces collapsed."""
        return " ".join(self.words[index:])


def _q(text: str) -> str:
    # Error replies quote what was written; a whole pasted paragraph helps nobody.
    return f'"{text[:39]}…"' if len(text) > 40 else f'"{text}"'


def _missing(a: _Args, what: str, form: str = "") -> _Problem:
    return _Problem(f"/{form or a.spec.verb} needs {what}; usage: {a.spec.usage}")


def _no_more(a: _Args, count: int) -> None:
    words = a.words
    if len(words) > count:
        raise _Problem(f"unexpected {_q(words[count])}; usage: {a.spec.usage}")


def _no_args(a: _Args, form: str = "", skip: int = 0) -> None:
    words = a.words
    if len(words) > skip:
        form = form or a.spec.verb
        raise _Problem(f'/{form} takes no arguments, got {_q(words[skip])}; write just "/{form}"')


def _choose(value: str, choices: tuple[_T, ...], what: str, of: str = "") -> _T:
    wanted = value.lower()
    for choice in choices:
        if choice == wanted:
            return choice
    of = f" for {of}" if of else ""
    raise _Problem(f"unknown {what} {_q(value)}{of}; use one of: {', '.join(choices)}")


def _list(a: _Args, what: str) -> list[str]:
    # Commas are accepted as separators too: people write "v1.4, v1.3".
    items = [part for word in a.words for part in word.split(",") if part]
    if not items:
        raise _missing(a, f"at least one {what}")
    if len(items) > MAX_LIST_ARGS:
        raise _Problem(f"too many {what}s ({len(items)}); give at most {MAX_LIST_ARGS}")
    return items


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return tuple(seen.values())


def _line_version(text: str) -> str:
    match = _LINE_RE.fullmatch(text)
    if match is not None:
        return f"{match[1]}.{match[2]}"
    release = _RELEASE_RE.fullmatch(text)
    if release is not None:
        raise _Problem(f"{_q(text)} is a release; name its line: v{release[1]}.{release[2]}")
    raise _Problem(f"{_q(text)} is not a version; write a line such as v1.4")


def _versions(a: _Args) -> tuple[str, ...]:
    return _dedupe(_line_version(item) for item in _list(a, "version"))


def _users(a: _Args) -> tuple[str, ...]:
    logins = []
    for item in _list(a, "user"):
        login = item.removeprefix("@")
        if item.startswith("@") and "/" in login:
            raise _Problem(f"{_q(item)} is a team; /{a.spec.verb} takes users, such as @octocat")
        if not _LOGIN_RE.fullmatch(login):
            raise _Problem(f"{_q(item)} is not a GitHub user; write @login")
        if not item.startswith("@"):
            # A bare word is more likely prose ("/assign to @alice") than a login.
            raise _Problem(f"{_q(item)} is not a mention; write @{login}")
        logins.append(login)
    return _dedupe(logins)


def _parse_severity(a: _Args) -> Command:
    words = a.words
    if not words:
        raise _missing(a, "a severity")
    level = _choose(words[0], SEVERITIES, "severity")
    _no_more(a, 1)
    return SeverityCommand(line=a.line, raw=a.raw, level=level)


def _parse_affects(a: _Args) -> Command:
    return AffectsCommand(line=a.line, raw=a.raw, versions=_versions(a))


def _parse_remove_affects(a: _Args) -> Command:
    return RemoveAffectsCommand(line=a.line, raw=a.raw, versions=_versions(a))


def _parse_backport(a: _Args) -> Command:
    return BackportCommand(line=a.line, raw=a.raw, versions=_versions(a))


def _parse_remove_backport(a: _Args) -> Command:
    return RemoveBackportCommand(line=a.line, raw=a.raw, versions=_versions(a))


def _parse_triage(a: _Args) -> Command:
    words = a.words
    if not words:
        raise _missing(a, "a decision")
    decision = _choose(words[0], TRIAGE_DECISIONS, "decision")
    return TriageCommand(line=a.line, raw=a.raw, decision=decision, reason=a.rest(1))


def _parse_security(a: _Args) -> Command:
    _no_args(a)
    return SecurityCommand(line=a.line, raw=a.raw)


def _parse_regression(a: _Args) -> Command:
    _no_args(a)
    return RegressionCommand(line=a.line, raw=a.raw)


def _parse_check(a: _Args) -> Command:
    flags: dict[str, bool] = {}
    effort: Effort | None = None
    for item in _list(a, "answer"):
        written, equals, value = item.partition("=")
        key = _choose(written.replace("_", "-"), CHECK_KEYS, "checklist item")
        if not equals or not value:
            values = "small|medium|large" if key == "effort" else "yes|no"
            raise _Problem(f"{key} needs a value; write {key}={values}")
        if key in flags or (key == "effort" and effort is not None):
            raise _Problem(f"{key} is given twice; give each answer once")
        if key == "effort":
            effort = _choose(value, EFFORTS, "effort")
        else:
            flags[key] = _choose(value, ("yes", "no"), "answer", of=key) == "yes"
    return CheckCommand(
        line=a.line,
        raw=a.raw,
        reproduced=flags.get("reproduced"),
        exploit=flags.get("exploit"),
        workaround=flags.get("workaround"),
        api_change=flags.get("api-change"),
        effort=effort,
    )


def _parse_assign(a: _Args) -> Command:
    return AssignCommand(line=a.line, raw=a.raw, users=_users(a))


def _parse_unassign(a: _Args) -> Command:
    return UnassignCommand(line=a.line, raw=a.raw, users=_users(a))


def _parse_sla(a: _Args) -> Command:
    words = a.words
    if not words:
        raise _missing(a, "pause or resume")
    action = _choose(words[0], SLA_ACTIONS, "sla action")
    if action == "resume":
        _no_args(a, "sla resume", skip=1)
        return SlaCommand(line=a.line, raw=a.raw, action="resume")
    reason = a.rest(1)
    if not reason:
        raise _missing(a, "a reason", "sla pause")
    return SlaCommand(line=a.line, raw=a.raw, action="pause", reason=reason)


def _parse_status(a: _Args) -> Command:
    _no_args(a)
    return StatusCommand(line=a.line, raw=a.raw)


def _parse_help(a: _Args) -> Command:
    _no_args(a)
    return HelpCommand(line=a.line, raw=a.raw)


def _parse_approve(a: _Args) -> Command:
    words = a.words
    cancel = bool(words) and words[0].lower() == "cancel"
    if cancel:
        words = words[1:]
    if not words:
        raise _missing(a, "a role", "approve cancel" if cancel else "")
    role = _choose(words[0], APPROVAL_ROLES, "role")
    _no_more(a, 2 if cancel else 1)
    return ApproveCommand(line=a.line, raw=a.raw, role=role, cancel=cancel)


def _parse_hold(a: _Args) -> Command:
    return HoldCommand(line=a.line, raw=a.raw, reason=a.rest(0))


def _parse_unhold(a: _Args) -> Command:
    _no_args(a)
    return UnholdCommand(line=a.line, raw=a.raw)


def _parse_fast_track(a: _Args) -> Command:
    reason = a.rest(0)
    if not reason:
        raise _missing(a, "a reason")
    return FastTrackCommand(line=a.line, raw=a.raw, reason=reason)


def _release_version(text: str, *, full: bool) -> str:
    match = _RELEASE_RE.fullmatch(text)
    if match is None or (full and match[3] is None):
        example = "a release such as v1.4.2" if full else "v1.4 (the line) or v1.4.2"
        raise _Problem(f"{_q(text)} is not a release version; write {example}")
    return ".".join(part for part in match.groups() if part is not None)


def _parse_release(a: _Args) -> Command:
    words = a.words
    if not words:
        raise _missing(a, "a version")
    version = _release_version(words[0], full=False)
    _no_more(a, 1)
    return ReleaseCommand(line=a.line, raw=a.raw, version=version)


def _parse_rollback(a: _Args) -> Command:
    words = a.words
    if not words:
        raise _missing(a, "a version and a reason")
    version = _release_version(words[0], full=True)
    reason = a.rest(1)
    if not reason:
        raise _missing(a, "a reason")
    return RollbackCommand(line=a.line, raw=a.raw, version=version, reason=reason)


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandSpec:
    """One verb: its argument syntax, what it does and who may run it."""

    verb: str
    args_syntax: str
    summary: str
    roles: tuple[Who, ...]  # holding any one of them is enough
    example: str
    parse: Callable[[_Args], Command] = field(repr=False, compare=False)
    # approve: the commenter must hold the role the argument names, checked by the caller.
    role_from_argument: bool = False

    @property
    def usage(self) -> str:
        return f"/{self.verb} {self.args_syntax}".rstrip()

    @property
    def who(self) -> str:
        """The roles in words, for help and docs."""
        if self.role_from_argument:
            return f"the role named ({', '.join(self.roles)})"
        if set(self.roles) == set(_ANY_ROLE):
            return "any role holder"
        return " or ".join(self.roles)

    def allowed_for(self, roles: AbstractSet[str]) -> bool:
        """Whether holding `roles` lets someone run it (for listing, not for authorizing)."""
        return "anyone" in self.roles or not roles.isdisjoint(self.roles)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        verb="severity",
        args_syntax="critical|high|medium|low",
        summary="Set the issue's severity, which sets its triage SLA; a later one replaces it.",
        roles=_TRIAGE,
        example="/severity high",
        parse=_parse_severity,
    ),
    CommandSpec(
        verb="affects",
        args_syntax="vX.Y [vX.Y ...]",
        summary="Mark LTS lines as affected (labels `vX.Y`).",
        roles=_TRIAGE,
        example="/affects v1.4 v1.3",
        parse=_parse_affects,
    ),
    CommandSpec(
        verb="remove-affects",
        args_syntax="vX.Y [vX.Y ...]",
        summary="Unmark LTS lines as affected.",
        roles=_TRIAGE,
        example="/remove-affects v1.3",
        parse=_parse_remove_affects,
    ),
    CommandSpec(
        verb="triage",
        args_syntax="backport|defer|reject [reason]",
        summary="Record the triage decision, with an optional reason.",
        roles=_TRIAGE,
        example="/triage defer waiting for a reproducer",
        parse=_parse_triage,
    ),
    CommandSpec(
        verb="backport",
        args_syntax="vX.Y [vX.Y ...]",
        summary="On a ticket: plan backports to LTS lines; fixes of it already merged are "
        "backported at once (again after a conflict or failure). On a pull request into the "
        "default branch (also for a release manager or eng lead): backport it now if merged, "
        "else queue the lines as `backport/vX.Y` labels until it merges.",
        roles=_TRIAGE,
        example="/backport v1.4 v1.3",
        parse=_parse_backport,
    ),
    CommandSpec(
        verb="remove-backport",
        args_syntax="vX.Y [vX.Y ...]",
        summary="Withdraw LTS lines from a ticket's backport plan, or a pull request's queued "
        "`backport/vX.Y` labels; backport pull requests already opened stay open.",
        roles=_TRIAGE,
        example="/remove-backport v1.3",
        parse=_parse_remove_backport,
    ),
    CommandSpec(
        verb="security",
        args_syntax="",
        summary="Flag the issue as security-sensitive: a security sign-off becomes required.",
        roles=_TRIAGE,
        example="/security",
        parse=_parse_security,
    ),
    CommandSpec(
        verb="regression",
        args_syntax="",
        summary="Flag the issue as a regression.",
        roles=_TRIAGE,
        example="/regression",
        parse=_parse_regression,
    ),
    CommandSpec(
        verb="check",
        args_syntax="key=value ...",
        summary="Answer triage checklist items: reproduced, exploit, workaround, api-change "
        "(yes or no) and effort (small, medium or large), any subset.",
        roles=_TRIAGE,
        example="/check reproduced=yes workaround=no effort=small",
        parse=_parse_check,
    ),
    CommandSpec(
        verb="assign",
        args_syntax="@user [@user ...]",
        summary="Assign people as owners.",
        roles=_TRIAGE,
        example="/assign @octocat",
        parse=_parse_assign,
    ),
    CommandSpec(
        verb="unassign",
        args_syntax="@user [@user ...]",
        summary="Remove assignees.",
        roles=_TRIAGE,
        example="/unassign @octocat",
        parse=_parse_unassign,
    ),
    CommandSpec(
        verb="sla",
        args_syntax="pause <reason> | resume",
        summary="Pause the SLA clock with a reason, or resume it.",
        roles=_TRIAGE,
        example="/sla pause waiting for the reporter",
        parse=_parse_sla,
    ),
    CommandSpec(
        verb="status",
        args_syntax="",
        summary="Show where the issue or pull request stands in the LTS process.",
        roles=("anyone",),
        example="/status",
        parse=_parse_status,
    ),
    CommandSpec(
        verb="help",
        args_syntax="",
        summary="List the commands you may use.",
        roles=("anyone",),
        example="/help",
        parse=_parse_help,
    ),
    CommandSpec(
        verb="approve",
        args_syntax="[cancel] qa|release-manager|security|eng-lead",
        summary="Sign off on a pull request in the role named; `cancel` withdraws the sign-off.",
        roles=APPROVAL_ROLES,
        example="/approve qa",
        parse=_parse_approve,
        role_from_argument=True,
    ),
    CommandSpec(
        verb="hold",
        args_syntax="[reason]",
        summary="Block merging the pull request, with an optional reason.",
        roles=_ANY_ROLE,
        example="/hold until the 1.4.3 release is out",
        parse=_parse_hold,
    ),
    CommandSpec(
        verb="unhold",
        args_syntax="",
        summary="Lift a hold.",
        roles=_ANY_ROLE,
        example="/unhold",
        parse=_parse_unhold,
    ),
    CommandSpec(
        verb="fast-track",
        args_syntax="<reason>",
        summary="Take the emergency fast-track path; a post-facto audit becomes required.",
        roles=("eng-lead",),
        example="/fast-track actively exploited CVE",
        parse=_parse_fast_track,
    ),
    CommandSpec(
        verb="release",
        args_syntax="vX.Y[.Z]",
        summary="Stage the next patch release of a line (vX.Y) or a given version (vX.Y.Z): "
        "tracking issue with the pre-release checklist, draft release with notes. A version "
        "that skips patch numbers needs an eng lead to give the command.",
        roles=("release-manager",),
        example="/release v1.4",
        parse=_parse_release,
    ),
    CommandSpec(
        verb="rollback",
        args_syntax="vX.Y.Z <reason>",
        summary="Withdraw a published release, with a reason: marked withdrawn with the "
        "downgrade command, an incident issue with the rollback runbook, tickets told.",
        roles=("release-manager",),
        example="/rollback v1.4.2 crashes on start-up",
        parse=_parse_rollback,
    ),
)

_SPECS: dict[str, CommandSpec] = {spec.verb: spec for spec in COMMANDS}
VERBS: tuple[str, ...] = tuple(_SPECS)


def spec_for(verb: str) -> CommandSpec | None:
    """The spec of a verb ("severity", "/Severity"), or None if it is not a command."""
    return _SPECS.get(verb.lower().removeprefix("/"))


# --- finding command lines in Markdown ---------------------------------------------------
#
# A line-by-line pass over the block structure (CommonMark's rules, simplified in the
# direction of reading fewer commands) drops code, quotes and HTML; inline code and
# comments are then masked per paragraph. Every step is linear in the text.

_Item = Command | CommandError

_FENCE_RE = re.compile(r"`{3,}|~{3,}")
_HEADING_RE = re.compile(r"#{1,6}(?:[ \t]|$)")
_LIST_ITEM_RE = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)")
_RAW_HTML_RE = re.compile(r"<(pre|script|style|textarea)(?:[ \t>]|$)", re.IGNORECASE)
_INLINE_RE = re.compile(r"`+|<!--")
_BACKTICKS_RE = re.compile(r"`+")
_SLASH_RE = re.compile(r"/([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")
_WORD_RE = re.compile(r"/?([A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")


def _indent(line: str) -> tuple[int, int]:
    """Columns of leading whitespace (tabs to the next multiple of 4) and its length."""
    column = 0
    for index, char in enumerate(line):
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            return column, index
    return column, len(line)


def _fence_open(rest: str) -> tuple[str, int] | None:
    match = _FENCE_RE.match(rest)
    if match is None:
        return None
    if match[0][0] == "`" and "`" in rest[match.end() :]:
        return None  # a backtick fence's info string has no backticks: this is inline code
    return match[0][0], len(match[0])


def _closes(rest: str, fence: tuple[str, int]) -> bool:
    char, length = fence
    marker = rest.rstrip(" \t")
    return len(marker) >= length and marker.count(char) == len(marker)


def _html_block(rest: str) -> tuple[str, bool] | None:
    """For a line opening a raw HTML block: its end marker and whether this line ends it."""
    if rest.startswith("<!--"):
        return "-->", rest.find("-->", 2) >= 0  # "<!-->" is a whole comment
    match = _RAW_HTML_RE.match(rest)
    if match is None:
        return None
    end = f"</{match[1].lower()}>"
    return end, end in rest.lower()


def _is_break(rest: str) -> bool:
    marks = rest.replace(" ", "").replace("\t", "")
    return len(marks) >= 3 and marks[0] in "-*_" and marks.count(marks[0]) == len(marks)


def _quote_content(rest: str) -> str:
    """What is left of a block-quote line once every `>` marker is removed."""
    at = 0
    while True:
        marker = at
        while marker < len(rest) and rest[marker] == " ":
            marker += 1
        if marker == len(rest) or rest[marker] != ">":
            return rest[at:]
        at = marker + 1
        if rest.startswith(" ", at):
            at += 1


def _inline_masks(text: str) -> list[tuple[int, int, bool]]:
    """Code spans and HTML comments in a paragraph, left to right: (start, end, is_comment)."""
    runs: dict[int, list[int]] = {}
    for match in _BACKTICKS_RE.finditer(text):
        runs.setdefault(len(match[0]), []).append(match.start())
    masks: list[tuple[int, int, bool]] = []
    comments_possible = True
    pos = 0
    while (found := _INLINE_RE.search(text, pos)) is not None:
        start, marker = found.start(), found[0]
        if marker == "<!--":
            end = text.find("-->", start + 2) if comments_possible else -1
            if end < 0:
                # No "-->" anywhere after this: no later "<!--" closes either, and not
                # looking again keeps many unclosed openers linear.
                comments_possible = False
                pos = start + 4
                continue
            masks.append((start, end + 3, True))
            pos = end + 3
            continue
        # An odd number of backslashes escapes the first backtick of an opening run.
        slashes = 0
        while start - slashes > 0 and text[start - slashes - 1] == "\\":
            slashes += 1
        opener = len(marker) - slashes % 2
        closers = runs.get(opener, [])
        index = bisect.bisect_left(closers, found.end())
        if opener and index < len(closers):
            masks.append((found.end() - opener, closers[index] + opener, False))
            pos = closers[index] + opener
        else:
            pos = found.end()  # no closing run of the same length: literal backticks
    return masks


def _masks_from(masks: list[tuple[int, int, bool]], index: int) -> Iterator[tuple[int, int, bool]]:
    # Iterating from an index, not over a slice: a slice per line would copy the rest.
    for at in range(index, len(masks)):
        yield masks[at]


def _paragraph(lines: list[tuple[int, str]], mention: re.Pattern[str]) -> Iterator[_Item]:
    candidates = []
    for index, (_, line) in enumerate(lines):
        indent, start = _indent(line)
        if indent <= 3 and line[start : start + 1] in ("/", "@"):
            candidates.append((index, start))
    if not candidates:
        return
    text = "\n".join(line for _, line in lines)
    masks = _inline_masks(text) if "`" in text or "<!--" in text else []
    mask_starts = [start for start, _, _ in masks]
    offsets = []
    offset = 0
    for _, line in lines:
        offsets.append(offset)
        offset += len(line) + 1
    for index, start in candidates:
        number, line = lines[index]
        begin = offsets[index] + start
        at = bisect.bisect_right(mask_starts, begin) - 1
        if at >= 0 and begin < masks[at][1]:
            continue  # the line starts inside inline code or a comment
        # Comments inside the command line are dropped from its arguments; code is kept
        # as written. Only masks starting on this line can reach into it (see above).
        line_start, line_end = offsets[index], offsets[index] + len(line)
        pieces, kept = [], 0
        for mask_start, mask_end, is_comment in _masks_from(masks, at + 1):
            if mask_start >= line_end:
                break
            if is_comment:
                pieces += [line[kept : mask_start - line_start], " "]
                kept = min(mask_end, line_end) - line_start
        visible = "".join(pieces) + line[kept:]
        item = _command(number, line.strip(), visible[start:], mention)
        if item is not None:
            yield item


@functools.lru_cache(maxsize=1024)
def _did_you_mean(word: str) -> str | None:
    close = difflib.get_close_matches(word, VERBS, n=1, cutoff=DID_YOU_MEAN_CUTOFF)
    return close[0] if close else None


def _command(number: int, raw: str, rest: str, mention: re.Pattern[str]) -> _Item | None:
    slashed = rest.startswith("/")
    if slashed:
        match = _SLASH_RE.match(rest)
    else:
        addressed = mention.match(rest)
        if addressed is None:
            return None
        rest = rest[addressed.end() :].lstrip()
        match = _WORD_RE.match(rest)
    if match is None:
        return None
    word = match[1]
    spec = _SPECS.get(word.lower())
    if spec is None:
        # Prose such as "/etc/hosts" is never answered. Neither is "@lts-bot please ...":
        # talk addressed to the bot is common and "please" is close enough to "release".
        if not slashed or len(word) > _MAX_VERB_CHARS:
            return None
        close = _did_you_mean(word.lower())
        if close is None:
            return None
        return CommandError(
            number, raw, f"unknown command {_q('/' + word)}; did you mean /{close}?"
        )
    try:
        return spec.parse(_Args(spec, number, raw, rest[match.end() :]))
    except _Problem as exc:
        return CommandError(number, raw, str(exc), spec.verb)


def _items(text: str, slug: str) -> Iterator[_Item]:
    """Every command or failed command in `text`, lazily, in order."""
    mention = re.compile(rf"@{re.escape(slug)}(?:\[bot\])?[:,]?(?=\s)", re.IGNORECASE)
    paragraph: list[tuple[int, str]] = []
    fence: tuple[str, int] | None = None
    quote_fence: tuple[str, int] | None = None
    html_end: str | None = None
    lazy = False  # the last line was quoted paragraph text, which unmarked lines continue

    def flush() -> Iterator[_Item]:
        if paragraph:
            yield from _paragraph(paragraph, mention)
            paragraph.clear()

    for number, line in enumerate(text.split("\n"), start=1):
        indent, start = _indent(line)
        rest = line[start:]
        if fence is not None:
            if indent <= 3 and _closes(rest, fence):
                fence = None
            continue
        if html_end is not None:
            if html_end in line.lower():
                html_end = None
            continue
        if not rest:
            yield from flush()
            lazy, quote_fence = False, None
            continue
        if indent >= 4:
            # Never a command itself; it continues a paragraph, or else is indented code
            # or a lazy quote line, whose backticks and "<!--" must not affect anything.
            if paragraph:
                paragraph.append((number, line))
            continue
        if rest.startswith(">"):
            yield from flush()
            content = _quote_content(rest)
            content_indent, content_start = _indent(content)
            inner = content[content_start:]
            if quote_fence is not None:
                if content_indent <= 3 and _closes(inner, quote_fence):
                    quote_fence = None
                lazy = False
            elif content_indent <= 3 and (opened := _fence_open(inner)) is not None:
                quote_fence, lazy = opened, False
            else:
                lazy = bool(inner)
            continue
        quote_fence = None  # an unmarked line ends the quote and any code inside it
        opened = _fence_open(rest)
        if opened is not None:
            yield from flush()
            fence, lazy = opened, False
            continue
        html = _html_block(rest)
        if html is not None:
            yield from flush()
            lazy = False
            html_end = None if html[1] else html[0]
            continue
        interrupts = _HEADING_RE.match(rest) is not None or _is_break(rest)
        list_item = not interrupts and _LIST_ITEM_RE.match(rest) is not None
        if lazy:
            if not (interrupts or list_item):
                continue  # GitHub shows it inside the quote above
            lazy = False
        if interrupts:
            yield from flush()
            continue  # a heading or rule never holds a command and ends the paragraph
        if list_item:
            yield from flush()
        paragraph.append((number, line))
    yield from flush()


def _head(body: str) -> str:
    """The part of `body` that is read: whole lines within the first MAX_BODY_CHARS."""
    if len(body) <= MAX_BODY_CHARS:
        return body
    head = body[:MAX_BODY_CHARS]
    if body[MAX_BODY_CHARS] not in "\r\n":
        # A line cut short could read as a different command ("/release v1.4.1" from
        # "v1.4.12"), so the partial last line is dropped.
        head = head[: max(head.rfind("\n"), head.rfind("\r")) + 1]
    return head


def _normalise_newlines(head: str) -> str:
    return head.replace("\r\n", "\n").replace("\r", "\n")


def _collect(items: Iterable[_Item], max_commands: int, chars_read: int) -> ParseResult:
    commands: list[Command] = []
    errors: list[CommandError] = []
    for item in items:
        if len(commands) + len(errors) >= max_commands:
            message = (
                f"too many commands in one comment: only the first {max_commands} are read; "
                "post the rest in another comment"
            )
            errors.append(CommandError(item.line, item.raw, message))
            break
        if isinstance(item, Command):
            commands.append(item)
        else:
            errors.append(item)
    return ParseResult(tuple(commands), tuple(errors), chars_read)


def parse_comment(
    body: str, *, app_slug: str = "lts-bot", max_commands: int = MAX_COMMANDS
) -> ParseResult:
    """Read the commands in a comment body; nothing here decides who may run them."""
    head = _head(body)
    return _collect(_items(_normalise_newlines(head), app_slug), max_commands, len(head))


def changed_commands(
    old_body: str, new_body: str, *, app_slug: str = "lts-bot", max_commands: int = MAX_COMMANDS
) -> ParseResult:
    """The commands of an edited comment whose line text is not in the old body."""
    # A multiset, so that adding a second identical line still runs it once more.
    before = Counter(item.raw for item in _items(_normalise_newlines(_head(old_body)), app_slug))

    def fresh(items: Iterator[_Item]) -> Iterator[_Item]:
        for item in items:
            if before[item.raw] > 0:
                before[item.raw] -= 1
            else:
                yield item

    head = _head(new_body)
    return _collect(fresh(_items(_normalise_newlines(head), app_slug)), max_commands, len(head))


# --- help and reference ------------------------------------------------------------------


def help_text(allowed_roles: AbstractSet[str] | None = None) -> str:
    """A Markdown list of the commands someone holding `allowed_roles` may run (None: all)."""
    lines = ["Write each command at the start of its own line:", ""]
    for spec in COMMANDS:
        if allowed_roles is None or spec.allowed_for(allowed_roles):
            lines.append(f"- `{spec.usage}`: {spec.summary}")
    return "\n".join(lines) + "\n"


_REFERENCE_HEAD = """\
# Slash commands

<!-- Generated from bot/commands.py by `python -m bot.commands > docs/commands.md`. -->

Commands are written in issue and pull-request comments, one per line, each at the start
of its line (up to three spaces of indentation are fine). A comment may hold up to
{max_commands}; they run in the order written. `@lts-bot severity high` is the same as
`/severity high`. Verbs and fixed words are case-insensitive. Versions are written `v1.4`
or `1.4` and must name a line configured in `.github/lts.yml`; lists take spaces or
commas (`/affects v1.4, v1.3`).

lts-bot never reads commands from fenced code blocks (three or more backticks or tildes),
indented code blocks, block quotes (including a quote's unmarked continuation lines), HTML
comments (`<!-- ... -->`) or inline code. A line that starts with a slash but no command,
such as `/etc/hosts` or a path, is left alone; one that is close to a command, such as
`/sevrity high`, gets a reply naming the likely command, and so does a command with wrong
arguments. `@lts-bot` followed by anything but a command is conversation and gets no
reply. When a comment is edited, only commands on new or changed lines run. Only the first
{max_chars:,} characters of a comment are read (GitHub's limit).

Who holds each role is configured under `roles` in `.github/lts.yml`; see
[configuration.md](configuration.md). "Any role holder" means someone holding any of:
{any_role}.
"""


def _cell(text: str) -> str:
    # A pipe ends a table cell even inside a code span unless escaped.
    return text.replace("|", "\\|")


def render_reference() -> str:
    """The Markdown of docs/commands.md, generated from COMMANDS."""
    out = [
        _REFERENCE_HEAD.format(
            max_commands=MAX_COMMANDS, max_chars=MAX_BODY_CHARS, any_role=", ".join(_ANY_ROLE)
        ),
        "| Command | Arguments | Who may run it | Effect |",
        "| --- | --- | --- | --- |",
    ]
    for spec in COMMANDS:
        arguments = f"`{_cell(spec.args_syntax)}`" if spec.args_syntax else "none"
        out.append(f"| `/{spec.verb}` | {arguments} | {spec.who} | {_cell(spec.summary)} |")
    out += ["", "## Examples", "", "```text"]
    out += [spec.example for spec in COMMANDS]
    out += ["```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render_reference())
