"""Automatic backports: what to cherry-pick, the messages, names and texts, and the matrix."""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.markdown import code, code_block
from bot.policies.commit_message import MAX_MESSAGE_CHARS, parse_trailers
from bot.ticket import BackportEntry, BackportStatus

# A fix merged on the default branch is cherry-picked onto `release-lts/vX.Y` for every
# line its ticket targets. Everything here is pure: the handler reads the commits, the PR
# and the ticket, and applies what these functions return.

PickMethod = Literal["squash", "rebase", "merge"]

BRANCH_PREFIX = "release-lts/v"
MAX_TITLE_CHARS = 256
MAX_CHANGELOG_CHARS = 200
MAX_DETAIL_CHARS = 300
# PR bodies and comments are read only this far: enough for any real description, and it
# bounds the regex work on a hostile one.
MAX_BODY_CHARS = 64 * 1024
# Commits listed by name in a PR body or a comment; the rest are counted.
MAX_LISTED_COMMITS = 50
# The fallback when neither the caller nor the original offers a changelog text.
_DEFAULT_CHANGELOG = "Backported fix"
_MAX_ISSUE = 2**31 - 1


@dataclass(frozen=True)
class CommitData:
    """A commit as GitHub's REST API gives it: enough to pick it and to recognise it."""

    sha: str
    parents: tuple[str, ...]
    tree: str
    message: str
    author_name: str
    author_email: str
    author_date: str = ""  # ISO string as GitHub gives it


@dataclass(frozen=True)
class PickPlan:
    """How the original PR was merged and the commits to cherry-pick, oldest first."""

    method: PickMethod
    commits: tuple[CommitData, ...]


# --- what to pick ------------------------------------------------------------------------


def plan_pick(
    merge_commit: CommitData, chain: Sequence[CommitData], pr_commits: Sequence[CommitData]
) -> PickPlan:
    """Tell a merge, a rebase and a squash apart, and choose the commits that carry the fix.

    `chain` is the default branch's history from `merge_commit` (newest first) and
    `pr_commits` the PR's own commits (oldest first). GitHub does not record which merge
    method was used, so it is read off the shape: a merge commit has two parents; a rebase
    leaves one new commit per PR commit with the same message and author; anything else with
    one parent is a squash.
    """
    if len(merge_commit.parents) >= 2:
        # The PR's commits are what the merge brought in; merges inside the PR (the default
        # branch merged into it) carry no change of their own and cannot be cherry-picked.
        return PickPlan("merge", tuple(c for c in pr_commits if len(c.parents) < 2))
    count = len(pr_commits)
    if count >= 2 and _is_rebase(merge_commit, chain, pr_commits):
        return PickPlan("rebase", tuple(reversed(chain[:count])))
    return PickPlan("squash", (merge_commit,))


def _is_rebase(
    merge_commit: CommitData, chain: Sequence[CommitData], pr_commits: Sequence[CommitData]
) -> bool:
    count = len(pr_commits)
    newest = list(chain[:count])
    if len(newest) < count or newest[0].sha != merge_commit.sha:
        return False
    # The rebased commits form a line: each is the only parent of the next. Without this a
    # squash whose message matched could borrow an unrelated commit from further down.
    for later, earlier in itertools.pairwise(newest):
        if later.parents != (earlier.sha,):
            return False
    return all(
        _same_change(rebased, original)
        for rebased, original in zip(reversed(newest), pr_commits, strict=True)
    )


def _same_change(rebased: CommitData, original: CommitData) -> bool:
    # A rebase keeps message and author (with the author date) and changes the committer;
    # a squash keeps the author but writes a new message and date.
    return (
        len(rebased.parents) == 1
        and rebased.message.rstrip() == original.message.rstrip()
        and rebased.author_name == original.author_name
        and rebased.author_email.lower() == original.author_email.lower()
        and rebased.author_date == original.author_date
    )


# --- which tickets a PR names ------------------------------------------------------------

_KEYWORD = r"(?<![\w-])(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)(?::[ \t]*|[ \t]+)"
_NUMBER = r"([1-9][0-9]{0,9})(?![\w-])"
# GitHub links `#N` only after a character that is not a word character, `/` or `&`.
_BARE_REF = rf"(?<![\w/&])#{_NUMBER}"
_QUALIFIED_REF = rf"(?<![\w./-])([A-Za-z0-9][\w.-]*/[\w.-]+)#{_NUMBER}"
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_BACKTICKS_RE = re.compile(r"`+")


def ticket_refs(title: str, body: str, *, repo_full_name: str, html_url: str) -> tuple[int, ...]:
    """The issues of this repository a PR names, in order of first appearance.

    Counted: closing keywords (`Fixes #12`, `closes: owner/repo#12`, `resolves <issue URL>`),
    any `#N` in the title, and links to this repository's issues anywhere in the body. Code
    spans, fenced code and HTML comments (where PR templates keep their examples) are
    skipped, as GitHub does not link references there.
    """
    url = re.escape(html_url.rstrip("/"))
    issue_url = rf"(?<![\w./-]){url}/issues/{_NUMBER}"
    this_repo = repo_full_name.lower()
    title_re = re.compile(rf"{_BARE_REF}|{_QUALIFIED_REF}|{issue_url}", re.IGNORECASE)
    body_re = re.compile(
        rf"{_KEYWORD}(?:#{_NUMBER}|([A-Za-z0-9][\w.-]*/[\w.-]+)#{_NUMBER}|{url}/issues/{_NUMBER})"
        rf"|{issue_url}",
        re.IGNORECASE,
    )
    found: list[int] = []
    for pattern, text in (
        (title_re, _strip_code(title[:MAX_BODY_CHARS])),
        (body_re, _strip_code(body[:MAX_BODY_CHARS])),
    ):
        for match in pattern.finditer(text):
            groups = match.groups()
            repo = next((g for g in groups if g is not None and "/" in g), None)
            if repo is not None and repo.lower() != this_repo:
                continue
            number = int(next(g for g in groups if g is not None and "/" not in g))
            if number <= _MAX_ISSUE and number not in found:
                found.append(number)
    return tuple(found)


def _strip_code(text: str) -> str:
    """The text without HTML comments, fenced code blocks and code spans."""
    text = _HTML_COMMENT_RE.sub("\x00", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept: list[str] = []
    fence: tuple[str, int] | None = None
    for line in text.split("\n"):
        match = _FENCE_RE.match(line)
        if fence is None:
            # A backtick fence's info string may not hold backticks (CommonMark).
            if match and not (match[1][0] == "`" and "`" in match[2]):
                fence = (match[1][0], len(match[1]))
                continue
            kept.append(line)
        elif (
            match and match[1][0] == fence[0] and len(match[1]) >= fence[1] and not match[2].strip()
        ):
            fence = None
    return _strip_spans("\n".join(kept))


def _strip_spans(text: str) -> str:
    # A code span runs from a backtick run to the next run of the same length. Pairing runs
    # through a table of "next run of this length" keeps this linear on hostile input,
    # where a regex would rescan the rest of the text from every unmatched run.
    runs = [(m.start(), m.end()) for m in _BACKTICKS_RE.finditer(text)]
    following: list[int | None] = [None] * len(runs)
    last: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1] - runs[index][0]
        following[index] = last.get(length)
        last[length] = index
    out: list[str] = []
    at = index = 0
    while index < len(runs):
        closing = following[index]
        if closing is None:
            index += 1
            continue
        out += [text[at : runs[index][0]], "\x00"]
        at = runs[closing][1]
        index = closing + 1
    out.append(text[at:])
    return "".join(out)


# --- the changelog line ------------------------------------------------------------------

_BODY_CHANGELOG_RE = re.compile(r"^[ \t]*changelog[ \t]*:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
# Applied to a title already on one line: `\s*` before the anchor would make a long run
# of blanks quadratic.
_PR_SUFFIX_RE = re.compile(r" ?\(#[0-9]+\)$")


def changelog_line(pr_title: str, pr_body: str, messages: Sequence[str]) -> str:
    """The release-note line: the PR body's `Changelog:`, a commit's, or the PR title."""
    body = _strip_code(pr_body[:MAX_BODY_CHARS])
    for match in _BODY_CHANGELOG_RE.finditer(body):
        text = _usable_changelog(match[1])
        if text:
            return text
    for message in messages:
        for value in parse_trailers(message[-MAX_MESSAGE_CHARS:]).get("changelog", []):
            text = _usable_changelog(value)
            if text:
                return text
    title = _one_line(pr_title, MAX_TITLE_CHARS * 4)
    return _one_line(_PR_SUFFIX_RE.sub("", title), MAX_CHANGELOG_CHARS)


def _usable_changelog(text: str) -> str:
    # A template's `<one line for the release notes>` left as it was says nothing.
    line = _one_line(text, MAX_CHANGELOG_CHARS)
    return "" if _is_placeholder(line) else line


def _is_placeholder(text: str) -> bool:
    return text.startswith("<") and text.endswith(">")


def _one_line(text: str, limit: int) -> str:
    """Text on one line: control characters and runs of blanks become one space; clipped."""
    text = "".join(ch if ch.isprintable() else " " for ch in text[: limit * 4])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- the backported commit message -------------------------------------------------------

_TRAILER_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:(?!//)[ \t]*(.*)")
_BACKPORT_TO_RE = re.compile(r"[ \t]*backport(?:ed)?[ \t-]*to\b", re.IGNORECASE)
_CHERRY_PICKED_RE = re.compile(r"[ \t]*\(cherry picked from commit [^)]*\)[ \t]*", re.IGNORECASE)
_DROPPED_KEYS = frozenset({"changelog"})
_MAX_SHARED_CHARS = 4 * 1024


def backport_message(
    original: str, *, sha: str, version: str, ticket: int, changelog: str, co_author: str | None
) -> str:
    """The original message made to pass `lts/commit-message` on line `version`.

    The original's own `Changelog:` and `Backport to` lines and any earlier
    `(cherry picked from commit …)` leave its last paragraph; what `git cherry-pick -x` would
    add, the line, the ticket and the changelog follow in the last paragraph, so they read
    as trailers. Other trailers (`Signed-off-by:`, `Co-authored-by:`) stay in that paragraph.
    Line endings become `\\n`, trailing blanks and repeated blank lines go, as `git commit`
    would clean them.
    """
    version = version.removeprefix("v")
    paragraphs = _paragraphs(original)
    trailers: list[str] = []
    if len(paragraphs) >= 2:
        last = _without_own_trailers(paragraphs.pop())
        # Trailers only: they join ours, so git and GitHub still read them (a co-author
        # stays credited). Prose keeps its own paragraph above ours, and so does a huge
        # block: the check reads a long message's end only, and a cut through a block we
        # share could turn part of a line into a second `Changelog:` trailer.
        if _all_trailers(last) and sum(len(line) + 1 for line in last) <= _MAX_SHARED_CHARS:
            trailers = last
        elif last:
            paragraphs.append(last)
    kept = "\n\n".join("\n".join(lines) for lines in paragraphs)
    picked = _one_line(sha, 64)
    if not kept:
        # A message of trailers only would leave ours as the subject, which holds none.
        kept = f"Backport of commit {picked[:12] or 'unknown'} to v{version}"
    ours = [f"(cherry picked from commit {picked})", f"Backport to v{version}"]
    before = "\n".join([kept, *trailers])
    # The check reads only both ends of a very long message and might miss the reference.
    if len(before) > MAX_MESSAGE_CHARS // 2 or not _references(before, ticket):
        ours.append(f"Refs #{ticket}")
    ours.append(f"Changelog: {_changelog_text(changelog, paragraphs, sha)}")
    author = _one_line(co_author or "", 300)
    if author and ("co-authored-by", author.lower()) not in _trailer_pairs(trailers):
        ours.append(f"Co-authored-by: {author}")
    return f"{kept}\n\n" + "\n".join([*trailers, *ours]) + "\n"


def _paragraphs(message: str) -> list[list[str]]:
    """Non-empty paragraphs of right-stripped lines, split the way the check splits them."""
    lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if line:
            # The subject starts the message: a check that reads only the first half of a
            # huge message must still find something there.
            current.append(line if paragraphs or current else line.lstrip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _without_own_trailers(lines: list[str]) -> list[str]:
    kept: list[str] = []
    dropping = False
    for line in lines:
        if dropping and line[:1] in (" ", "\t"):
            continue  # a continuation of a dropped trailer
        trailer = _TRAILER_RE.fullmatch(line)
        dropping = bool(
            (trailer and trailer[1].lower() in _DROPPED_KEYS)
            or _BACKPORT_TO_RE.match(line)
            or _CHERRY_PICKED_RE.fullmatch(line)
        )
        if not dropping:
            kept.append(line)
    return kept


def _all_trailers(lines: list[str]) -> bool:
    if not lines:
        return False
    after_trailer = False
    for line in lines:
        if line[:1] in (" ", "\t") and after_trailer:
            continue
        after_trailer = _TRAILER_RE.fullmatch(line) is not None
        if not after_trailer:
            return False
    return True


def _trailer_pairs(lines: list[str]) -> set[tuple[str, str]]:
    pairs = set()
    for line in lines:
        trailer = _TRAILER_RE.fullmatch(line)
        if trailer:
            pairs.add((trailer[1].lower(), _one_line(trailer[2], 300).lower()))
    return pairs


def _references(text: str, ticket: int) -> bool:
    # The bare form the `lts/commit-message` check accepts with any repository URL.
    return re.search(rf"(?<![\w/&])#{ticket}(?![\w])", text) is not None


def _changelog_text(changelog: str, paragraphs: list[list[str]], sha: str) -> str:
    subject = paragraphs[0][0] if paragraphs else ""
    for candidate in (changelog, subject, f"Backport of {sha[:12]}" if sha.strip() else ""):
        text = _one_line(candidate, MAX_CHANGELOG_CHARS)
        # The check refuses a template placeholder `<…>`; a text that merely looks like
        # one keeps its words without the brackets.
        while _is_placeholder(text):
            text = text[1:-1].strip()
        if text:
            return text
    return _DEFAULT_CHANGELOG


# --- names and texts ---------------------------------------------------------------------


def branch_name(version: str, ticket: int, taken: Collection[str]) -> str:
    """`lts/vX.Y/issue-N`, or the first of `-2`, `-3`, … not taken (several fixes, one line)."""
    base = f"lts/v{version.removeprefix('v')}/issue-{ticket}"
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def pr_title(version: str, original_title: str) -> str:
    """`[vX.Y] <original title>`, on one line and within GitHub's title length."""
    prefix = f"[v{version.removeprefix('v')}] "
    title = _one_line(original_title, MAX_TITLE_CHARS * 2)
    # A retry or a backport of a backport must not read `[v1.4] [v1.4] …`.
    while title.startswith(prefix):
        title = title[len(prefix) :].lstrip()
    return _one_line(prefix + (title or "Backport"), MAX_TITLE_CHARS)


_METHODS: dict[PickMethod, str] = {
    "squash": "The original was squash-merged; its one commit on the default branch is picked.",
    "rebase": (
        "The original was rebase-merged; its commits on the default branch are picked in order."
    ),
    "merge": (
        "The original was merged with a merge commit; its own commits are picked in order, "
        "leaving out merge commits inside it."
    ),
}


def pr_body(
    *,
    version: str,
    ticket: int,
    source: int,
    source_title: str,
    changelog: str,
    shas: Sequence[str],
    method: PickMethod,
    marker: str,
) -> str:
    """The backport PR's description: what it is, what was picked, and what to review."""
    version = version.removeprefix("v")
    branch = f"{BRANCH_PREFIX}{version}"
    out = [
        marker,
        f"Automatic backport of #{source} to {code(branch)} for ticket #{ticket}.",
        "",
        f"Original pull request: #{source} {code(_one_line(source_title, MAX_TITLE_CHARS))}",
        "",
        _METHODS[method],
        "",
        "Cherry-picked with `git cherry-pick -x` (oldest first):",
        "",
        *_commit_list(shas),
        "",
        "Changelog line:",
        "",
        f"> {code(_one_line(changelog, MAX_CHANGELOG_CHARS) or _DEFAULT_CHANGELOG)}",
        "",
        "### For reviewers",
        "",
        f"- The change is the one of #{source}: nothing missing, nothing added. "
        f"`lts/backport-fidelity` compares this pull request with the original and lists "
        "where they differ; a difference the older line needs is fine once it is explained.",
        f"- The change suits v{version}: a low-risk fix without API changes (a security-only "
        "line takes security fixes only).",
        f"- The tests cover the fix on v{version}, and CI is green.",
        "- The changelog line above reads well in the release notes.",
    ]
    return "\n".join(out)


def _commit_list(shas: Sequence[str]) -> list[str]:
    listed = [f"- {code(_one_line(sha, 64))}" for sha in shas[:MAX_LISTED_COMMITS]]
    if len(shas) > MAX_LISTED_COMMITS:
        listed.append(f"- … and {len(shas) - MAX_LISTED_COMMITS:,} more")
    return listed or ["- (none)"]


def conflict_comment(
    *,
    version: str,
    ticket: int,
    source: int,
    shas: Sequence[str],
    branch: str,
    base_branch: str,
    files: Sequence[str],
    remote: str = "origin",
    marker: str,
) -> str:
    """Why no backport PR was opened for a conflicting pick, and how to do it by hand."""
    label = f"v{version.removeprefix('v')}"
    out = [
        marker,
        f"### Backport of #{source} to {label} needs a hand",
        "",
        f"The cherry-pick of #{source} onto {code(base_branch)} conflicts, so lts-bot opened "
        f"no pull request for ticket #{ticket} on {label}.",
        "",
    ]
    if files:
        out += [
            "Files that changed on both sides since the original branched off; they are "
            "likely where the conflicts are, though GitHub does not say exactly which files "
            "conflict:",
            "",
            *(f"- {code(_one_line(name, 300))}" for name in files[:MAX_LISTED_COMMITS]),
        ]
        if len(files) > MAX_LISTED_COMMITS:
            out.append(f"- … and {len(files) - MAX_LISTED_COMMITS:,} more")
        out.append("")
    else:
        out += [
            "GitHub does not report which files conflict; `git cherry-pick` shows them.",
            "",
        ]
    picks = " ".join(_shell(sha) for sha in shas) or "<sha>"
    commands = "\n".join(
        [
            f"git fetch {_shell(remote)}",
            f"git switch -c {_shell(branch)} {_shell(f'{remote}/{base_branch}')}",
            f"git cherry-pick -x {picks}",
            "# resolve the conflicts, `git add` the files, then: git cherry-pick --continue",
            f"git push {_shell(remote)} {_shell(branch)}",
        ]
    )
    out += [
        "To backport it by hand:",
        "",
        code_block(commands, "sh"),
        "",
        f"Then open a pull request from {code(branch)} into {code(base_branch)} titled "
        f"`[{label}] …`. Each commit message needs `#{ticket}`, a `Changelog:` line and "
        f"`Backport to {label}` (`lts/commit-message` explains any that is missing).",
        "",
        f"If the conflict comes from a change {label} lacks, backport that first; once "
        f"{code(base_branch)} has moved, comment `/backport {label}` on #{ticket} and lts-bot "
        "tries again.",
    ]
    return "\n".join(out)


def failure_comment(*, version: str, ticket: int, source: int, reason: str, marker: str) -> str:
    """A backport that failed for a reason other than a conflict, and how to retry it."""
    label = f"v{version.removeprefix('v')}"
    return "\n".join(
        [
            marker,
            f"### Backport of #{source} to {label} failed",
            "",
            f"lts-bot could not backport #{source} to {label} for ticket #{ticket}: "
            f"{_one_line(reason, MAX_DETAIL_CHARS) or 'no reason was given'}.",
            "",
            f"Comment `/backport {label}` on #{ticket} to try again, or backport it by hand "
            f"on a branch `lts/{label}/issue-{ticket}`.",
        ]
    )


def _shell(text: str) -> str:
    # Branch and remote names may hold characters the shell reads: quote unless plainly safe.
    text = _one_line(text, 300)
    if re.fullmatch(r"[A-Za-z0-9._/+@:-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


# --- the backport matrix -----------------------------------------------------------------


def _status_text(status: BackportStatus, line: str) -> str:
    texts: dict[BackportStatus, str] = {
        "requested": "requested — waits for the fix to merge",
        "open": "PR open",
        "merged": "merged",
        "conflict": "conflict — needs a hand backport",
        "already-in": f"already in v{line}",
        "failed": "failed",
        "declined": "declined",
    }
    return texts[status]


def render_matrix(
    entries: Sequence[BackportEntry], targets: Sequence[str], *, source: int | None = None
) -> str:
    """The backport matrix as a Markdown table, newest line first; "" when there is none.

    With `source`, only that original PR's entries are shown (the matrix on the PR itself).
    A target line without an entry is still waiting for the fix to be merged.
    """
    shown = [e for e in entries if source is None or e.source == source]
    by_line: dict[str, list[BackportEntry]] = {}
    for version in targets:
        by_line.setdefault(version.removeprefix("v"), [])
    for entry in shown:
        by_line.setdefault(entry.line.removeprefix("v"), []).append(entry)
    if not by_line:
        return ""
    # Several originals for one ticket: each row says which one it comes from.
    name_source = source is None and len({e.source for e in shown}) > 1
    rows = ["| Line | Status | Backport | Notes |", "| --- | --- | --- | --- |"]
    for version in sorted(by_line, key=_version_key):
        line_entries = by_line[version]
        if not line_entries:
            rows.append(f"| v{_cell(version)} | {_status_text('requested', version)} | — |  |")
        for entry in line_entries:
            notes = [f"from #{entry.source}"] if name_source else []
            if entry.detail:
                notes.append(_cell(entry.detail))
            pr = f"#{entry.pr}" if entry.pr is not None else "—"
            rows.append(
                f"| v{_cell(version)} | {_status_text(entry.status, _cell(version))} | {pr} | "
                f"{'; '.join(notes)} |"
            )
    return "\n".join(rows)


def _version_key(version: str) -> tuple[int, tuple[int, ...], str]:
    # Newest first by number ("1.10" after "1.9"); anything unparsable goes last.
    parts = version.split(".")
    if all(part.isdigit() and len(part) <= 9 for part in parts):
        return (0, tuple(-int(part) for part in parts), version)
    return (1, (), version)


def _cell(text: str) -> str:
    return _one_line(text, MAX_DETAIL_CHARS).replace("|", "\\|")


def matrix_transition(
    entries: tuple[BackportEntry, ...], new: BackportEntry
) -> tuple[BackportEntry, ...]:
    """The matrix with `new` in place of the entry for its (line, original PR), or appended."""
    key = (new.line, new.source)
    if any((e.line, e.source) == key for e in entries):
        return tuple(new if (e.line, e.source) == key else e for e in entries)
    return (*entries, new)
