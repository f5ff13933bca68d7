"""The `lts/commit-message` check run: every commit names its ticket, changelog and LTS line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.config import RepoConfig
from bot.decisions import CHECK_TEXT_LIMIT, CheckRunDecision, clip
from bot.markdown import code, code_block, plural

# Every commit of a pull request into `release-lts/vX.Y` follows the template in
# `docs/process.md` (see `EXAMPLE`):
#
# - it references the ticket: `#N` (also `owner/repo#N` for this repository) or the issue's
#   URL `https://<host>/<owner>/<repo>/issues/N`, anywhere in the message;
# - it carries exactly one `Changelog: <text>` trailer: non-empty, on one line, in the
#   message's last paragraph (any line there of the form `Key: value` is a trailer, so the
#   template's `Backport to vX.Y` and the `(cherry picked from commit …)` line that
#   `git cherry-pick -x` adds may share that paragraph);
# - it has a line `Backport to vX.Y` naming the base branch's line.
#
# Merge commits (two or more parents) are skipped: they carry no change of their own.
#
# The work is bounded whatever the pull request holds: a message longer than
# `MAX_MESSAGE_CHARS` is read as its first and last halves of that size (the trailers are at
# the end, the ticket is usually at the start), and at most `MAX_LISTED` offending commits
# are described; the summary says when either happened.

CHECK_NAME = "lts/commit-message"
MAX_LISTED = 250
MAX_MESSAGE_CHARS = 64 * 1024
CHANGELOG_KEY = "changelog"
BODY_PLACEHOLDER = "<why the change is needed and what it does>"
CHANGELOG_PLACEHOLDER = "<one line for the release notes>"

_SUBJECT_CHARS = 72
_SHOW_CHARS = 60
# Room kept after the list of offenders for the truncation notes.
_SUMMARY_BUDGET = CHECK_TEXT_LIMIT - 2_000

# A trailer line: a token of letters, digits and hyphens, optional blanks, a colon. A value
# starting with "//" is a URL on its own line ("https://…"), not a trailer.
_TRAILER_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:(?!//)[ \t]*(.*)")
_MISPLACED_CHANGELOG_RE = re.compile(r"^[ \t]*changelog[ \t]*:", re.IGNORECASE | re.MULTILINE)
# Loose on purpose, to point at near misses ("Backport to 1.4", "backported to v1.4"). One
# blank-or-hyphen class between the words: two optional runs in a row backtrack
# quadratically on a long line of blanks.
_BACKPORT_LINE_RE = re.compile(
    r"^[ \t]*(backport(?:ed)?[ \t-]*to\b[^\n]*)", re.IGNORECASE | re.MULTILINE
)
_REPO_URL_RE = re.compile(r"(https?://[^/\s]+)/([^/\s]+)/([^/\s]+?)(?:\.git)?/*")


@dataclass(frozen=True)
class CommitInfo:
    """One commit of the pull request: its sha, full message and number of parents."""

    sha: str
    message: str
    parents: int = 1


# --- message parsing ---------------------------------------------------------------------


def _lines(message: str) -> list[str]:
    return message.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_trailers(message: str) -> dict[str, list[str]]:
    """The `Key: value` lines of the message's last paragraph, by lower-cased key.

    As in git, the first paragraph (the subject) never holds trailers, and a line starting
    with a blank continues the trailer above it (kept as a second line of its value, so a
    wrapped value can be told apart). Lines of the paragraph that are not trailers are
    skipped rather than disqualifying the block; CRLF and trailing blanks are ignored.
    """
    lines = [line.rstrip() for line in _lines(message)]
    while lines and not lines[-1]:
        lines.pop()
    start = len(lines)
    while start > 0 and lines[start - 1]:
        start -= 1
    if not any(lines[:start]):
        return {}
    found: list[tuple[str, list[str]]] = []
    for line in lines[start:]:
        if found and found[-1][1] and line[:1] in (" ", "\t"):
            found[-1][1].append(line.strip())
            continue
        match = _TRAILER_RE.fullmatch(line)
        if match is None:
            # An empty list marks "no trailer above", so the next indented line is prose.
            found.append(("", []))
            continue
        found.append((match[1].lower(), [match[2].strip()]))
    trailers: dict[str, list[str]] = {}
    for key, parts in found:
        if key:
            trailers.setdefault(key, []).append("\n".join(part for part in parts if part))
    return trailers


def changelog_line(message: str) -> str | None:
    """The text of the message's one `Changelog:` trailer, if it is there, non-empty, one line."""
    values = parse_trailers(message).get(CHANGELOG_KEY, [])
    if len(values) != 1 or not values[0] or "\n" in values[0]:
        return None
    return values[0]


def example_message(
    ticket: int | None, version: str, summary: str, *, changelog: str | None = None
) -> str:
    """A message following the template: `summary (#N)`, body, `Changelog:`, `Backport to`."""
    ref = f"#{ticket}" if ticket is not None else "#<N>"
    subject = " ".join(summary.split()) or "<short summary>"
    if ticket is None or not _reference_re(ticket, "").search(subject):
        subject = f"{subject} ({ref})"
    return "\n".join(
        [
            subject,
            "",
            BODY_PLACEHOLDER,
            "",
            f"Changelog: {changelog or CHANGELOG_PLACEHOLDER}",
            f"Backport to v{version.removeprefix('v')}",
        ]
    )


def _reference_re(ticket: int | None, repo_url: str) -> re.Pattern[str]:
    number = str(ticket) if ticket is not None else "[1-9][0-9]*"
    # GitHub links "#123" only after a non-word character; "a/b#123" is another repository.
    options = [rf"(?<![\w/&])#{number}(?![\w])"]
    repo = _REPO_URL_RE.fullmatch(repo_url.strip())
    if repo is not None:
        site, owner, name = repo.groups()
        options.append(rf"(?<![\w.-]){re.escape(owner)}/{re.escape(name)}#{number}(?![\w])")
        options.append(rf"{re.escape(f'{site}/{owner}/{name}')}/issues/{number}(?![0-9])")
    return re.compile("|".join(options), re.IGNORECASE)


# The template filled in, as `docs/process.md` shows it.
EXAMPLE = example_message(123, "1.4", "Fix the crash on an empty configuration file")


def _bounded(message: str) -> tuple[str, bool]:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message, False
    half = MAX_MESSAGE_CHARS // 2
    return f"{message[:half]}\n\n{message[-half:]}", True


# --- evaluation --------------------------------------------------------------------------

_TICKET, _CHANGELOG, _BACKPORT = "ticket", "changelog", "backport"


@dataclass(frozen=True)
class _Verdict:
    sha: str
    subject: str
    problems: tuple[str, ...]
    lacks: frozenset[str]
    changelog: str | None


@dataclass(frozen=True)
class _Rules:
    ticket: int | None
    version: str
    reference: re.Pattern[str]
    reference_text: str


def evaluate(
    commits: Sequence[CommitInfo],
    *,
    ticket: int | None,
    base_version: str,
    repo_url: str,
    config: RepoConfig,
) -> CheckRunDecision:
    """Success when every non-merge commit follows the template; failure listing the rest."""
    line = config.line(base_version)
    if line is None:
        title = f"v{_show(base_version.removeprefix('v'))} is not a configured LTS line"
        summary = (
            "Commit messages are only checked on pull requests into a branch of a line "
            "listed in `lines:` of `.github/lts.yml`."
        )
        return CheckRunDecision(CHECK_NAME, "neutral", clip(title, 255), summary)
    url = _REPO_URL_RE.fullmatch(repo_url.strip())
    issue = f"{url[1]}/{url[2]}/{url[3]}/issues/" if url else "<repository URL>/issues/"
    rules = _Rules(
        ticket,
        line.version,
        _reference_re(ticket, repo_url),
        f"`#{ticket}` or `{issue}{ticket}`" if ticket is not None else f"`#N` or `{issue}N`",
    )

    checked = merges = truncated = 0
    offenders: list[_Verdict] = []
    changelogs: list[str] = []
    for commit in commits:
        if commit.parents >= 2:
            merges += 1
            continue
        checked += 1
        text, cut = _bounded(commit.message)
        truncated += cut
        verdict = _check(commit.sha, text, rules)
        if verdict.problems:
            offenders.append(verdict)
        elif len(changelogs) < MAX_LISTED:
            changelogs.append(verdict.changelog or "")

    skipped = f" ({plural(merges, 'merge commit')} skipped)" if merges else ""
    notes = _notes(truncated, ticket)
    if checked == 0:
        title = "No commits to check" + skipped
        summary = "The pull request has no commits other than merge commits." + notes
        return CheckRunDecision(CHECK_NAME, "neutral", clip(title, 255), clip(summary))
    if not offenders:
        return _success(checked, skipped, changelogs, rules, notes)
    return _failure(offenders, checked, skipped, rules, line.branch, notes)


def _check(sha: str, text: str, rules: _Rules) -> _Verdict:
    problems: list[str] = []
    lacks: set[str] = set()
    if not rules.reference.search(text):
        problems.append("no reference to the ticket")
        lacks.add(_TICKET)
    values = parse_trailers(text).get(CHANGELOG_KEY, [])
    changelog = _changelog_problem(text, values)
    if changelog:
        problems.append(changelog)
        lacks.add(_CHANGELOG)
    backport = _backport_problem(text, rules.version)
    if backport:
        problems.append(backport)
        lacks.add(_BACKPORT)
    subject = _subject(text) if problems else ""
    good = values[0] if values and not changelog else None
    return _Verdict(sha, subject, tuple(problems), frozenset(lacks), good)


def _changelog_problem(text: str, values: list[str]) -> str | None:
    if not values:
        if _MISPLACED_CHANGELOG_RE.search(text):
            return (
                "its `Changelog:` line is not in the last paragraph "
                "(put it at the end, after a blank line)"
            )
        return "no `Changelog:` line"
    if len(values) > 1:
        return f"{len(values)} `Changelog:` lines (keep one)"
    value = values[0]
    if not value:
        return "an empty `Changelog:` line"
    if "\n" in value:
        return "a `Changelog:` line that continues on the next line (keep it to one line)"
    if value.startswith("<") and value.endswith(">"):
        return f"the template's placeholder as `Changelog:` ({code(_show(value))})"
    return None


def _backport_problem(text: str, version: str) -> str | None:
    wanted = f"backport to v{version}"
    near: str | None = None
    for match in _BACKPORT_LINE_RE.finditer(text):
        said = " ".join(match[1][:200].split())
        if said.lower().rstrip(".") == wanted:
            return None
        near = near or said
    if near is None:
        return f"no `Backport to v{version}` line"
    return f"{code(_show(near))} instead of `Backport to v{version}`"


def _subject(text: str) -> str:
    for line in _lines(text):
        if line.strip():
            return line.strip()
    return ""


def _notes(truncated: int, ticket: int | None) -> str:
    out = []
    if ticket is None:
        out.append(
            "The head branch names no ticket (see `lts/branch-name`), so any issue "
            "reference `#N` is accepted here."
        )
    if truncated:
        half = MAX_MESSAGE_CHARS // 2
        out.append(
            f"{plural(truncated, 'commit message')} longer than {MAX_MESSAGE_CHARS:,} "
            f"characters: lts-bot read the first and last {half:,} characters of each."
        )
    return "".join(f"\n\n{note}" for note in out)


def _requirements(rules: _Rules, branch: str) -> list[str]:
    return [
        f"Every commit of a pull request into {code(branch)}, merge commits aside, needs:",
        "",
        f"- a reference to the ticket: {rules.reference_text};",
        f"- a `Changelog: {CHANGELOG_PLACEHOLDER}` line in the message's last paragraph;",
        f"- the line `Backport to v{rules.version}`.",
    ]


def _success(
    checked: int, skipped: str, changelogs: list[str], rules: _Rules, notes: str
) -> CheckRunDecision:
    ref = f"#{rules.ticket}" if rules.ticket is not None else "the ticket"
    every, s_ = ("The commit", "s") if checked == 1 else (f"All {checked:,} commits", "")
    title = f"{every} name{s_} {ref}, a changelog line and v{rules.version}{skipped}"
    out = [
        f"{every} reference{s_} {ref}, carr{'ies' if s_ else 'y'} a `Changelog:` line and "
        f"say{s_} `Backport to v{rules.version}`.",
        "",
        "Changelog lines:",
        "",
        *(f"- {code(_show(entry, 200))}" for entry in changelogs),
    ]
    if checked > len(changelogs):
        out.append(f"- … and {checked - len(changelogs):,} more")
    return CheckRunDecision(CHECK_NAME, "success", clip(title, 255), clip("\n".join(out) + notes))


def _failure(
    offenders: list[_Verdict],
    checked: int,
    skipped: str,
    rules: _Rules,
    branch: str,
    notes: str,
) -> CheckRunDecision:
    lacks = frozenset[str]().union(*(offender.lacks for offender in offenders))
    ref = f"#{rules.ticket}" if rules.ticket is not None else "#N"
    # What is missing, for the title and for the how-to line.
    elements = [
        (short, added)
        for key, short, added in (
            (_TICKET, ref, f"`{ref}`"),
            (_CHANGELOG, "Changelog line", "a `Changelog:` line"),
            (_BACKPORT, f"Backport to v{rules.version}", f"`Backport to v{rules.version}`"),
        )
        if key in lacks
    ]
    verb = "needs" if len(offenders) == 1 else "need"
    title = (
        f"{len(offenders):,} of {plural(checked, 'commit message')} {verb} fixing "
        f"({_and(short for short, _ in elements)}){skipped}"
    )
    first = offenders[0]
    example = example_message(
        rules.ticket, rules.version, _show(first.subject, 200), changelog=first.changelog
    )
    out = [
        f"**{len(offenders):,} of {plural(checked, 'commit')}** {verb} a fixed message{skipped}.",
        "",
        *_requirements(rules, branch),
        "",
        "### How to fix",
        "",
        f"Reword the listed commits to add {_and(added for _, added in elements)}: "
        f"`git rebase -i origin/{branch}` and mark each one `reword` (for the last commit "
        "alone, `git commit --amend` is enough), then `git push --force-with-lease`. "
        "Working from a fork, use the remote that points at this repository instead of "
        "`origin`.",
        "",
        f"For example, {code(_show(first.sha[:7], 12))} could read:",
        "",
        code_block(example),
        "",
        "### Commits to fix",
        "",
    ]
    size = sum(len(part) + 1 for part in out) + len(notes)
    listed = 0
    for offender in offenders[:MAX_LISTED]:
        subject = offender.subject
        shown = code(_show(subject, _SUBJECT_CHARS)) if subject else "(empty message)"
        entry = f"- {code(_show(offender.sha[:7], 12))} {shown}: " + "; ".join(offender.problems)
        if size + len(entry) + 1 > _SUMMARY_BUDGET:
            break
        out.append(entry)
        size += len(entry) + 1
        listed += 1
    if listed < len(offenders):
        out.append(f"- … and {len(offenders) - listed:,} more (the first {listed} are listed)")
    return CheckRunDecision(CHECK_NAME, "failure", clip(title, 255), clip("\n".join(out) + notes))


def _and(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --- formatting --------------------------------------------------------------------------


def _show(text: str, limit: int = _SHOW_CHARS) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"
