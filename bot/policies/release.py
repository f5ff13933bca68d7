"""Releases of LTS lines: versions, notes, advisory, pre-release checklist and rollback texts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from bot.decisions import clip
from bot.markdown import code, plural
from bot.policies.backport import MAX_BODY_CHARS
from bot.policies.commit_message import MAX_MESSAGE_CHARS, changelog_line
from bot.policies.gate import APPROVALS_CHECK, GREEN
from bot.policies.gate import CHECK_NAME as GATE_CHECK
from bot.ticket import RELEASED_PREFIX, SEVERITIES, Severity

# A release of line X.Y is cut from `release-lts/vX.Y` and tagged `vX.Y.Z` (or `vX.Y.Z-lts`,
# one scheme per repository). Everything here is pure: the handler reads the tags, the
# merged PRs, the check runs and the draft release, and applies the texts and decisions.

TagFormat = Literal["vX.Y.Z", "vX.Y.Z-lts"]
TAG_FORMATS: tuple[TagFormat, ...] = ("vX.Y.Z", "vX.Y.Z-lts")

# GitHub refuses a release body above 125,000 characters.
RELEASE_BODY_LIMIT = 125_000
# GitHub refuses a security advisory summary above 1,024 characters.
ADVISORY_SUMMARY_LIMIT = 1_024
WITHDRAWN_PREFIX = "[withdrawn] "
WITHDRAWN_START = "<!-- lts-bot:withdrawn -->"
WITHDRAWN_END = "<!-- /lts-bot:withdrawn -->"

# A changelog entry is one line of the notes; a commit trailer can be any length.
_ENTRY_CHARS = 500
# Entries are cut to this when the notes would not fit otherwise.
_SHORT_ENTRY_CHARS = 100
# PRs (or assets) named in a checklist item's detail or a status; the rest are counted.
_LISTED = 20
# Entries of the advisory's impact list; an advisory names a handful of fixes, not hundreds.
_ADVISORY_ENTRIES = 50
# Names, SHAs, URLs and contacts come from configuration or GitHub; bounded all the same.
_FIELD_CHARS = 300


# --- versions ----------------------------------------------------------------------------

# Up to four digits each and no leading zeros: a longer or padded number is no version here.
_NUMBER = r"(0|[1-9][0-9]{0,3})"
_TAG_RES: dict[TagFormat, re.Pattern[str]] = {
    "vX.Y.Z": re.compile(rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}"),
    "vX.Y.Z-lts": re.compile(rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}-lts"),
}
_LINE_RE = re.compile(rf"[vV]?{_NUMBER}\.{_NUMBER}")
_ARG_RE = re.compile(rf"[vV]?{_NUMBER}\.{_NUMBER}(?:\.{_NUMBER}(?:-[lL][tT][sS])?)?")


@dataclass(frozen=True, order=True)
class ReleaseVersion:
    """A patch release `X.Y.Z` of line `X.Y`; ordered by number, so 1.4.10 follows 1.4.9."""

    major: int
    minor: int
    patch: int

    @property
    def line(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def tag(self, fmt: TagFormat) -> str:
        return f"v{self}-lts" if fmt == "vX.Y.Z-lts" else f"v{self}"


def parse_tag(tag: str, fmt: TagFormat) -> ReleaseVersion | None:
    """The version of a tag in exactly `fmt`; None for anything else, pre-releases included."""
    match = _TAG_RES[fmt].fullmatch(tag)
    if match is None:
        return None
    return ReleaseVersion(int(match[1]), int(match[2]), int(match[3]))


def parse_version_arg(text: str) -> tuple[str, ReleaseVersion | None] | None:
    """The argument of `/release`: `(line, None)` for `v1.4`, `(line, version)` for `v1.4.3`.

    `v` and the `-lts` suffix are optional, whatever the repository's tag format: the
    command names a version, the format only decides how it is tagged.
    """
    match = _ARG_RE.fullmatch(text.strip())
    if match is None:
        return None
    line = f"{int(match[1])}.{int(match[2])}"
    if match[3] is None:
        return line, None
    return line, ReleaseVersion(int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class VersionDecision:
    """The version to release on a line, or why not.

    `error` with `version` None refuses the request. `error` with `version` set and
    `needs_eng_lead` allows it for an eng lead only, `error` saying why.
    """

    line: str
    version: ReleaseVersion | None
    previous: ReleaseVersion | None
    needs_eng_lead: bool = False
    error: str = ""


def next_version(
    line: str, tags: Iterable[str], fmt: TagFormat, requested: ReleaseVersion | None = None
) -> VersionDecision:
    """The next patch release of `line` after its tags in `fmt`, or a check of `requested`."""
    parsed = _LINE_RE.fullmatch(line.strip())
    if parsed is None:
        shown = " ".join(line.split())[:40]
        return VersionDecision(
            shown, None, None, error=f"{code(shown)} is not an LTS line; name one such as v1.4."
        )
    major, minor = int(parsed[1]), int(parsed[2])
    line = f"{major}.{minor}"
    released = {
        version
        for version in (parse_tag(tag, fmt) for tag in tags)
        if version is not None and version.line == line
    }
    previous = max(released, default=None)
    upcoming = ReleaseVersion(major, minor, previous.patch + 1 if previous else 0)
    if requested is None or requested == upcoming:
        return VersionDecision(line, upcoming, previous)

    wanted, following = requested.tag(fmt), upcoming.tag(fmt)
    if requested.line != line:
        error = (
            f"{wanted} is not a release of v{line}; "
            f"the next patch release of v{line} is {following}."
        )
        return VersionDecision(line, None, previous, error=error)
    if previous is not None and requested <= previous:
        latest = previous.tag(fmt)
        if requested == previous:
            error = (
                f"{wanted} is already released; the next patch release of v{line} is {following}."
            )
        elif requested in released:
            error = (
                f"{wanted} is already released; the latest release of v{line} is {latest}, "
                f"so the next patch release is {following}."
            )
        else:
            # A gap in the tags: releasing it now would put an older version after a newer.
            error = (
                f"{wanted} is older than {latest}, the latest release of v{line}; "
                f"the next patch release is {following}."
            )
        return VersionDecision(line, None, previous, error=error)
    error = (
        f"{wanted} skips {following}; LTS lines take patch releases one at a time. "
        "An eng lead must give this command to release it anyway."
    )
    return VersionDecision(line, requested, previous, needs_eng_lead=True, error=error)


# --- the changelog line of a merged PR -----------------------------------------------------

_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
# `Changelog: text`, `Changelog line: text`, optionally bold or as a list item; the bot's
# backport PRs write `Changelog line:` alone, with the line quoted further down.
_BODY_CHANGELOG_RE = re.compile(
    r"[ \t]*(?:[-*+][ \t]+)?(?:\*\*)?changelog([ \t]+line)?[ \t]*:(?:\*\*)?[ \t]*(.*)",
    re.IGNORECASE,
)
_QUOTE_RE = re.compile(r"[ \t]*(?:>[ \t]?)+")
_BACKTICKS_RE = re.compile(r"`+")


def changelog_of(pr_body: str, commit_messages: Sequence[str]) -> str | None:
    """The PR's release-note line; None when it has no usable one.

    A commit's `Changelog:` trailer, the last commit's first, else the PR description's
    `Changelog:` or `Changelog line:` (outside code and HTML comments). The bot's backport
    PRs put `Changelog line:` alone and quote the line further down; that is read too.
    """
    for message in reversed(commit_messages):
        text = _usable(changelog_line(_bounded(message)))
        if text:
            return text
    return _body_changelog(pr_body)


def _bounded(message: str) -> str:
    # Read as `lts/commit-message` reads it, so a trailer the check accepted is found here.
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    half = MAX_MESSAGE_CHARS // 2
    return f"{message[:half]}\n\n{message[-half:]}"


def _body_changelog(body: str) -> str | None:
    text = body[:MAX_BODY_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    # PR templates keep their examples in HTML comments and code fences.
    lines = _outside_fences(_HTML_COMMENT_RE.sub("", text).split("\n"))
    for index, line in enumerate(lines):
        match = _BODY_CHANGELOG_RE.fullmatch(line)
        if match is None:
            continue
        value = match[2]
        if not value.strip() and match[1]:
            # A heading: the line is the next non-empty one, unless a new heading comes first.
            value = next((later for later in lines[index + 1 :] if later.strip()), "")
            if value.lstrip().startswith("#"):
                value = ""
            # The bot's backport PRs quote it.
            quoted = _QUOTE_RE.match(value)
            value = value[quoted.end() if quoted else 0 :]
        found = _usable(_unspanned(value.strip()))
        if found:
            return found
    return None


def _outside_fences(lines: list[str]) -> list[str]:
    kept: list[str] = []
    fence: tuple[str, int] | None = None
    for line in lines:
        match = _FENCE_RE.match(line)
        if fence is None:
            # A backtick fence's info string may not hold backticks (CommonMark).
            if match and not (match[1][0] == "`" and "`" in match[2]):
                fence = (match[1][0], len(match[1]))
                kept.append("")
                continue
            kept.append(line)
        else:
            if match and match[1][0] == fence[0] and len(match[1]) >= fence[1]:
                fence = None if not match[2].strip() else fence
            # Blank, so a heading's "next non-empty line" never reaches into the code.
            kept.append("")
    return kept


def _unspanned(value: str) -> str:
    """The value without backticks when it is one code span, as the bot's backport PRs show it."""
    # By hand rather than with a regex: a long run of backticks would make one quadratic.
    fence = len(value) - len(value.lstrip("`"))
    closing = len(value) - len(value.rstrip("`"))
    if not fence or fence != closing or len(value) <= 2 * fence:
        return value
    inner = value[fence:-fence]
    if any(len(run) == fence for run in _BACKTICKS_RE.findall(inner)):
        return value  # the span closes before the end: it is not one span
    # `bot.markdown.code` pads a text that starts or ends with a backtick by one blank.
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    return inner


def _usable(text: str | None) -> str | None:
    if text is None:
        return None
    line = _one_line(text, 10 * _ENTRY_CHARS)
    # A template's `<one line for the release notes>` left as it was says nothing.
    if not line or (line.startswith("<") and line.endswith(">")):
        return None
    return line


def _one_line(text: str, limit: int) -> str:
    """Text on one line: control characters and runs of blanks become one space; clipped."""
    text = "".join(ch if ch.isprintable() else " " for ch in text[: limit * 4])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _inline(text: str, limit: int = _FIELD_CHARS) -> str:
    """Free text (a reason, a title) on one Markdown line, with no HTML or markers in it."""
    text = _one_line(text, limit)
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    return text


# --- what a release holds ----------------------------------------------------------------


@dataclass(frozen=True)
class IncludedChange:
    """A PR merged into the line's branch since the previous release."""

    pr: int
    title: str
    url: str
    merge_sha: str
    changelog: str | None
    tickets: tuple[int, ...] = ()
    security: bool = False
    cves: tuple[str, ...] = ()
    severity: str | None = None


@dataclass(frozen=True)
class ReleaseContext:
    """Everything the release's texts say: where, which version, and what it includes.

    `changes` come in merge order; the notes keep that order except for Security, which is
    sorted by CVE.
    """

    repo: str
    repo_url: str
    line: str
    branch: str
    version: ReleaseVersion
    tag: str
    previous_tag: str | None
    head_sha: str
    package: str
    contact: str
    changes: tuple[IncludedChange, ...]

    @property
    def security_changes(self) -> tuple[IncludedChange, ...]:
        """Security changes, those with CVEs first in CVE order, then by PR number."""
        return tuple(sorted((c for c in self.changes if c.security), key=_security_key))

    @property
    def fixes(self) -> tuple[IncludedChange, ...]:
        """Other changes that have a changelog line."""
        return tuple(c for c in self.changes if not c.security and c.changelog is not None)

    @property
    def undocumented(self) -> tuple[IncludedChange, ...]:
        """Changes without a changelog line, security changes included."""
        return tuple(c for c in self.changes if c.changelog is None)

    @property
    def tickets(self) -> tuple[int, ...]:
        return tuple(sorted({ticket for change in self.changes for ticket in change.tickets}))

    @property
    def compare_url(self) -> str:
        base = self.repo_url.rstrip("/")
        if self.previous_tag is None:
            return f"{base}/commits/{quote(self.tag)}"
        return f"{base}/compare/{quote(self.previous_tag)}...{quote(self.tag)}"

    @property
    def release_url(self) -> str:
        return f"{self.repo_url.rstrip('/')}/releases/tag/{quote(self.tag)}"


_CVE_RE = re.compile(r"CVE-([0-9]{4})-([0-9]{4,19})", re.IGNORECASE)


def _cve_key(cve: str) -> tuple[int, int, int, str]:
    # By year and number, so CVE-2024-10000 follows CVE-2024-9999; odd ids last.
    match = _CVE_RE.fullmatch(cve.strip())
    if match is None:
        return (1, 0, 0, cve)
    return (0, int(match[1]), int(match[2]), "")


def _cves(change: IncludedChange) -> list[str]:
    return sorted({cve.strip().upper() for cve in change.cves if cve.strip()}, key=_cve_key)


def _security_key(change: IncludedChange) -> tuple[int, tuple[int, int, int, str], int]:
    cves = _cves(change)
    if not cves:
        return (1, (0, 0, 0, ""), change.pr)
    return (0, _cve_key(cves[0]), change.pr)


def _severity(change: IncludedChange) -> Severity | None:
    value = (change.severity or "").strip().lower()
    return next((s for s in SEVERITIES if s == value), None)


def _shell_word(text: str) -> str:
    # Package names with extras or markers need quotes in a shell; plain names read better bare.
    if re.fullmatch(r"[A-Za-z0-9._=+-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def upgrade_command(package: str, version: ReleaseVersion | str) -> str:
    """`pip install --upgrade <package>==<version>`, quoted for a shell where needed."""
    spec = f"{_one_line(package, _FIELD_CHARS)}=={version}"
    return f"pip install --upgrade {_shell_word(spec)}"


def _install_command(package: str, version: str) -> str:
    return f"pip install {_shell_word(f'{_one_line(package, _FIELD_CHARS)}=={version}')}"


# --- release notes -----------------------------------------------------------------------


def release_notes(ctx: ReleaseContext, *, advisory: AdvisoryDraft | None = None) -> str:
    """The GitHub release's body: summary, Security, Fixes, Other, build manifest.

    With `advisory`, its text is a section of the notes (for when the repository's security
    advisories cannot be drafted). Within GitHub's limit: entries are shortened first, then
    every list is cut to the same length with a line counting the rest.
    """
    for chars in (_ENTRY_CHARS, _SHORT_ENTRY_CHARS):
        text = _notes(ctx, advisory, chars, None)
        if len(text) <= RELEASE_BODY_LIMIT:
            return text
    longest = max(len(ctx.changes), len(ctx.tickets))
    low, high = 0, longest
    # The length grows with the number of entries shown: find the most that fit.
    while low < high:
        middle = (low + high + 1) // 2
        if len(_notes(ctx, advisory, _SHORT_ENTRY_CHARS, middle)) <= RELEASE_BODY_LIMIT:
            low = middle
        else:
            high = middle - 1
    return clip(_notes(ctx, advisory, _SHORT_ENTRY_CHARS, low), RELEASE_BODY_LIMIT)


def _notes(
    ctx: ReleaseContext, advisory: AdvisoryDraft | None, chars: int, most: int | None
) -> str:
    line = f"v{ctx.line.removeprefix('v')}"
    security, fixes = ctx.security_changes, ctx.fixes
    other = tuple(c for c in ctx.undocumented if not c.security)
    # Tags are git refs in the repository's format: plain text reads best here.
    tag = _one_line(ctx.tag, _FIELD_CHARS)
    out = [_summary(len(ctx.changes), len(security), line), ""]
    if ctx.previous_tag is None:
        affected = f"none, {tag} is the first release of {line}"
    else:
        previous = _one_line(ctx.previous_tag, _FIELD_CHARS)
        affected = f"{previous} and earlier releases of {line} ({previous} -> {tag})"
    out += [
        f"- **Affected versions:** {affected}",
        f"- **Upgrade:** {code(upgrade_command(ctx.package, ctx.version))}",
        f"- **Changelog:** {ctx.compare_url}",
    ]
    if security:
        out += ["", "### Security", ""]
        out += _folded([_entry(c, chars, security=True) for c in security], most)
    if fixes:
        out += ["", "### Fixes", ""]
        out += _folded([_entry(c, chars) for c in fixes], most)
    if other:
        out += [
            "",
            "### Other",
            "",
            "These pull requests have no `Changelog:` line; their titles are shown instead.",
            "",
        ]
        out += _folded([_entry(c, chars) for c in other], most)
    if advisory is not None:
        out += ["", advisory_markdown(advisory)]
    out += ["", *_manifest(ctx, most)]
    return "\n".join(out) + "\n"


def _summary(changes: int, security: int, line: str) -> str:
    if changes == 0:
        return f"No changes in {line}."
    text = f"Fixes {plural(changes, 'issue')} in {line}"
    if security:
        fix = "security fix" if security == 1 else "security fixes"
        text += f", including {security:,} {fix}"
    return text + "."


def _entry(change: IncludedChange, chars: int, *, security: bool = False) -> str:
    if change.changelog is not None:
        text = _one_line(change.changelog, chars)
    else:
        text = _one_line(change.title, chars) or f"Pull request #{change.pr}"
        if security:
            text += " (no `Changelog:` line)"
    refs = [_pr_link(change)]
    if change.tickets:
        label = "ticket" if len(change.tickets) == 1 else "tickets"
        refs.append(f"{label} " + ", ".join(f"#{t}" for t in change.tickets))
    prefix = ""
    if security:
        severity = _severity(change)
        if severity is not None:
            refs.append(f"severity {severity}")
        cves = _cves(change)
        if cves:
            prefix = ", ".join(_show_cve(cve) for cve in cves) + ": "
    return f"- {prefix}{text} ({', '.join(refs)})"


def _show_cve(cve: str) -> str:
    return f"**{cve}**" if _CVE_RE.fullmatch(cve) else code(_one_line(cve, 40))


def _pr_link(change: IncludedChange) -> str:
    url = _one_line(change.url, _FIELD_CHARS)
    # GitHub links a bare `#N` itself; a link keeps working when the text is copied elsewhere.
    plain = url and not any(ch in url for ch in " ()<>")
    return f"[#{change.pr}]({url})" if plain else f"#{change.pr}"


def _folded(lines: list[str], most: int | None) -> list[str]:
    if most is None or len(lines) <= most:
        return lines
    return [*lines[:most], f"- … and {len(lines) - most:,} more"]


def _manifest(ctx: ReleaseContext, most: int | None) -> list[str]:
    tickets = [f"#{t}" for t in ctx.tickets]
    if most is not None and len(tickets) > most:
        tickets = [*tickets[:most], f"… and {len(tickets) - most:,} more"]
    if ctx.previous_tag is None:
        previous = f"none (first release of v{ctx.line.removeprefix('v')})"
    else:
        previous = code(_one_line(ctx.previous_tag, _FIELD_CHARS))
    out = [
        "## Build manifest",
        "",
        f"- **Tag:** {code(_one_line(ctx.tag, _FIELD_CHARS))}",
        f"- **Commit:** {code(_one_line(ctx.head_sha, _FIELD_CHARS))}",
        f"- **Branch:** {code(_one_line(ctx.branch, _FIELD_CHARS))}",
        f"- **Previous version:** {previous}",
        f"- **Tickets:** {', '.join(tickets) or 'none'}",
        f"- **Pull requests:** {len(ctx.changes):,}",
    ]
    if ctx.changes:
        rows = [
            f"| {_pr_link(c)} | {code(_one_line(c.merge_sha, _FIELD_CHARS))} |" for c in ctx.changes
        ]
        if most is not None and len(rows) > most:
            rows = [*rows[:most], f"| … and {len(rows) - most:,} more | |"]
        out += ["", "| Pull request | Merge commit |", "| --- | --- |", *rows]
    return out


# --- security advisory ---------------------------------------------------------------------

AdvisorySeverity = Severity


@dataclass(frozen=True)
class AdvisoryDraft:
    """A repository security advisory for the release's security fixes."""

    summary: str
    description: str
    severity: AdvisorySeverity
    cve_id: str | None
    vulnerable_range: str
    patched: str


def advisory_draft(ctx: ReleaseContext) -> AdvisoryDraft | None:
    """The seed's security advisory for the release; None when it fixes nothing security."""
    security = ctx.security_changes
    if not security:
        return None
    known = [s for s in (_severity(c) for c in security) if s is not None]
    # SEVERITIES runs from critical down; unknown severities are taken as high, to be safe.
    severity: Severity = min(known, key=SEVERITIES.index) if known else "high"
    cves = sorted({cve for c in security for cve in _cves(c)}, key=_cve_key)
    valid = [cve for cve in cves if _CVE_RE.fullmatch(cve)]
    version = ctx.version
    # A line's first release has no earlier version on the line: the range is left open.
    first = version.patch == 0
    vulnerable = f"< {version}" if first else f">= {version.line}.0, < {version}"
    package = _one_line(ctx.package, _FIELD_CHARS)
    texts = [_impact_text(c) for c in security]
    if len(texts) == 1:
        summary = f"{package} {version} fixes a security issue: {texts[0]}"
    else:
        summary = f"{package} {version} fixes {len(texts):,} security issues: " + "; ".join(texts)
    impact = [_entry(c, _ENTRY_CHARS, security=True) for c in security]
    upgrade = upgrade_command(ctx.package, version)
    description = "\n".join(
        [
            "### Impact",
            "",
            *_folded(impact, _ADVISORY_ENTRIES),
            "",
            "### Mitigation",
            "",
            f"Upgrade to {version}. No workaround is known.",
            "",
            "### Details",
            "",
            f"- **CVE:** {', '.join(cves) if cves else 'not yet assigned'}",
            f"- **Severity:** {severity}",
            f"- **Affected versions:** {code(vulnerable)} (on v{version.line})",
            f"- **Patched versions:** {code(str(version))}",
            f"- **Upgrade:** {code(upgrade)}",
            f"- **Release:** [{_one_line(ctx.tag, _FIELD_CHARS)}]({ctx.release_url})",
            "- **Disclosure timeline:** to be filled in (dates, if the disclosure is coordinated)",
            f"- **Contact:** {_inline(ctx.contact) or 'the maintainers'}",
        ]
    )
    return AdvisoryDraft(
        summary=_one_line(summary, ADVISORY_SUMMARY_LIMIT),
        description=description,
        severity=severity,
        cve_id=valid[0] if valid else None,
        vulnerable_range=vulnerable,
        patched=str(version),
    )


def _impact_text(change: IncludedChange) -> str:
    return _one_line(change.changelog or change.title, _SHORT_ENTRY_CHARS) or f"#{change.pr}"


def advisory_request(draft: AdvisoryDraft, package: str) -> dict[str, object]:
    """The body of `POST /repos/{owner}/{repo}/security-advisories` for the draft."""
    body: dict[str, object] = {
        "summary": _one_line(draft.summary, ADVISORY_SUMMARY_LIMIT),
        "description": draft.description,
        "severity": draft.severity,
        "vulnerabilities": [
            {
                "package": {"ecosystem": "pip", "name": package},
                "vulnerable_version_range": draft.vulnerable_range,
                "patched_versions": draft.patched,
            }
        ],
    }
    if draft.cve_id is not None:
        body["cve_id"] = draft.cve_id
    return body


# Published notes are public: an advisory drafted into them must be moved out first when
# the vulnerability is still under embargo.
ADVISORY_DRAFT_WARNING = (
    "> [!CAUTION]\n"
    "> **Draft, not for publication as is.** lts-bot could not file this as a repository "
    "security advisory (the App lacks the *Repository security advisories: write* "
    "permission). Move it into an advisory, or agree its disclosure with the security "
    "reviewer, and remove this section before publishing the release."
)


def advisory_markdown(draft: AdvisoryDraft) -> str:
    """The advisory as a section of the release notes, when it cannot be a GitHub advisory."""
    return "\n".join(
        [
            "## Security advisory",
            "",
            ADVISORY_DRAFT_WARNING,
            "",
            f"**{_inline(draft.summary, 1_024)}**",
            "",
            draft.description,
        ]
    )


# --- internal status -----------------------------------------------------------------------


def internal_status(
    ctx: ReleaseContext,
    *,
    state: str,
    published_at: datetime | None,
    assets: Sequence[str] = (),
    known_issues: Sequence[str] = (),
    rollback: str = "not needed",
    owners: Sequence[str] = (),
    tracking_issue: int | None = None,
) -> str:
    """The seed's internal status of the release, for the tracking issue and the team."""
    if published_at is None:
        time = "not published"
    else:
        # A naive time is taken as UTC: the snapshot holds GitHub's times, which are UTC.
        aware = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
        time = aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    tag = _one_line(ctx.tag, _FIELD_CHARS)
    ticket = f" (release ticket #{tracking_issue})" if tracking_issue is not None else ""
    download = f"{ctx.repo_url.rstrip('/')}/releases/download/{quote(ctx.tag)}/"
    artifacts = ", ".join(
        f"[{_inline(name)}]({download}{quote(name)})" for name in assets[:_LISTED]
    )
    if len(assets) > _LISTED:
        artifacts += f", … and {len(assets) - _LISTED:,} more"
    issues = [_inline(issue) for issue in known_issues if issue.strip()]
    people = [_mention(owner) for owner in owners if owner.strip()]
    out = [
        f"### Internal status: {tag}",
        "",
        f"- **Release:** [{tag}]({ctx.release_url}){ticket}",
        f"- **Time:** {time}",
        f"- **Artifacts:** {artifacts or 'none published'}",
        f"- **Rollout:** {_inline(state) or 'unknown'}",
        f"- **Known issues:** {'; '.join(issues) if issues else 'none'}",
        f"- **Rollback:** {_inline(rollback) or 'not needed'}",
        f"- **Owners:** {', '.join(people) if people else 'none named'}",
    ]
    return "\n".join(out)


def _mention(login: str) -> str:
    return "@" + _one_line(login, 100).removeprefix("@")


# --- pre-release checklist -----------------------------------------------------------------

ItemState = Literal["done", "pending", "failed", "n/a"]
ArtifactKind = Literal["checksums", "signatures", "sbom"]
# `(name, status, conclusion)` of a check run; a status other than `completed` is running.
CheckRun = tuple[str, str, str | None]


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the pre-release checklist: a stable key, its title, state and why."""

    key: str
    title: str
    state: ItemState
    detail: str = ""


@dataclass(frozen=True)
class ChangeChecks:
    """An included PR's checks: conclusions of `lts/gate` and `lts/approvals` (None: no run)."""

    pr: int
    gate: str | None
    approvals: str | None
    security: bool = False
    security_approved: bool = False


@dataclass(frozen=True)
class ChecklistInput:
    """The facts the checklist is decided from; the default is a release with nothing ready.

    `head_checks` holds `(name, status, conclusion)` of each check run on the branch head,
    oldest first (a later run of a name replaces an earlier one). `advisory_ready` is None
    when the release has no security changes.
    """

    branch: str
    changes: tuple[ChangeChecks, ...] = ()
    head_checks: tuple[CheckRun, ...] = ()
    required_checks: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    require_artifacts: tuple[ArtifactKind, ...] = ("checksums",)
    previous_tag: str | None = None
    previous_release_ok: bool = False
    notes_ready: bool = False
    advisory_ready: bool | None = None
    undocumented: tuple[int, ...] = ()


_CHECKSUM_SUFFIXES = (".sha256",)
_CHECKSUM_NAMES = frozenset({"sha256sums", "sha256sums.txt"})
_SIGNATURE_SUFFIXES = (".sig", ".asc", ".sigstore", ".sigstore.json", ".minisig")
_SBOM_SUFFIXES = (".spdx", ".spdx.json", ".cdx.json", ".cyclonedx.json", ".cdx.xml")
AssetKind = Literal["artifact", "checksums", "signatures", "sbom"]


def asset_kind(name: str) -> AssetKind:
    """What a release asset is, by its name: signature, checksum, SBOM or else artifact."""
    lower = name.strip().lower()
    # Checked in this order: `sbom.spdx.json.sig` is a signature, `x.whl.sha256` a checksum.
    if lower.endswith(_SIGNATURE_SUFFIXES):
        return "signatures"
    if lower.endswith(_CHECKSUM_SUFFIXES) or lower in _CHECKSUM_NAMES:
        return "checksums"
    if lower.endswith(_SBOM_SUFFIXES) or "sbom" in lower:
        return "sbom"
    return "artifact"


def checklist(inp: ChecklistInput) -> tuple[ChecklistItem, ...]:
    """The pre-release checklist, in the order of `docs/process.md`."""
    return (
        _merged_gated(inp),
        _approvals(inp),
        _ci(inp),
        _security(inp),
        *_artifacts(inp),
        _rollback(inp),
        _changelog(inp),
        _communication(inp),
    )


def ready(items: Iterable[ChecklistItem]) -> bool:
    """Whether every item is done or not applicable."""
    return all(item.state in ("done", "n/a") for item in items)


def render_checklist(items: Iterable[ChecklistItem]) -> str:
    """The checklist as a Markdown task list; failed items marked ❌."""
    out = []
    for item in items:
        box = "[x]" if item.state in ("done", "n/a") else "[ ]"
        mark = "❌ " if item.state == "failed" else ""
        title = item.title + (" (not applicable)" if item.state == "n/a" else "")
        detail = f" — {item.detail}" if item.detail else ""
        out.append(f"- {box} {mark}{title}{detail}")
    return "\n".join(out)


def _prs(numbers: Sequence[int]) -> str:
    listed = ", ".join(f"#{n}" for n in numbers[:_LISTED])
    if len(numbers) > _LISTED:
        listed += f" and {len(numbers) - _LISTED:,} more"
    return listed


def _pr_check(
    key: str, title: str, check: str, conclusions: list[tuple[int, str | None]]
) -> ChecklistItem:
    failed = [pr for pr, conclusion in conclusions if conclusion and conclusion != "success"]
    missing = [pr for pr, conclusion in conclusions if not conclusion]
    parts = []
    if failed:
        parts.append(f"{code(check)} is not green on {_prs(failed)}")
    if missing:
        parts.append(f"no {code(check)} run yet on {_prs(missing)}")
    if parts:
        return ChecklistItem(key, title, "failed" if failed else "pending", "; ".join(parts))
    every = "the PR has" if len(conclusions) == 1 else f"all {len(conclusions):,} PRs have"
    return ChecklistItem(key, title, "done", f"{every} a green {code(check)}")


def _merged_gated(inp: ChecklistInput) -> ChecklistItem:
    title = f"All PRs for the release merged into {code(inp.branch)} through `lts/gate`"
    if not inp.changes:
        since = f"since {inp.previous_tag}" if inp.previous_tag else "yet"
        return ChecklistItem(
            "merged-gated", title, "failed", f"no PRs merged into {inp.branch} {since}"
        )
    return _pr_check("merged-gated", title, GATE_CHECK, [(c.pr, c.gate) for c in inp.changes])


def _approvals(inp: ChecklistInput) -> ChecklistItem:
    title = "Every PR has its required approvals"
    if not inp.changes:
        return ChecklistItem("approvals", title, "pending", "no PRs to approve")
    return _pr_check(
        "approvals", title, APPROVALS_CHECK, [(c.pr, c.approvals) for c in inp.changes]
    )


def _ci(inp: ChecklistInput) -> ChecklistItem:
    title = "CI is green on the branch head"
    latest: dict[str, tuple[str, str | None]] = {}
    for name, status, conclusion in inp.head_checks:
        latest.pop(name, None)
        latest[name] = (status, conclusion)
    failed = [
        f"{code(name)} ({conclusion or 'no conclusion'})"
        for name, (status, conclusion) in latest.items()
        if status == "completed" and conclusion not in GREEN
    ]
    running = [code(name) for name, (status, _) in latest.items() if status != "completed"]
    missing = [code(name) for name in dict.fromkeys(inp.required_checks) if name not in latest]
    parts = []
    if failed:
        parts.append("failed: " + ", ".join(failed))
    if running:
        parts.append("running: " + ", ".join(running))
    if missing:
        parts.append("required but not reported: " + ", ".join(missing))
    if parts:
        return ChecklistItem("ci", title, "failed" if failed else "pending", "; ".join(parts))
    if not latest:
        # A head without any check proves nothing; a release needs CI to have run.
        return ChecklistItem("ci", title, "pending", "no check has reported on the branch head")
    return ChecklistItem("ci", title, "done", f"{plural(len(latest), 'check')} passed")


def _security(inp: ChecklistInput) -> ChecklistItem:
    title = "Security sign-off on every security fix"
    security = [c for c in inp.changes if c.security]
    if not security:
        return ChecklistItem("security", title, "n/a", "no security fixes in this release")
    waiting = [c.pr for c in security if not c.security_approved]
    if waiting:
        return ChecklistItem(
            "security", title, "pending", f"waiting for a security sign-off on {_prs(waiting)}"
        )
    return ChecklistItem(
        "security", title, "done", f"signed off on {_prs([c.pr for c in security])}"
    )


def _artifacts(inp: ChecklistInput) -> tuple[ChecklistItem, ChecklistItem, ChecklistItem]:
    kinds = [asset_kind(name) for name in inp.assets]
    count = {kind: kinds.count(kind) for kind in ("artifact", "checksums", "signatures", "sbom")}
    required = set(inp.require_artifacts)

    title = "Artifacts built, with checksums" if "checksums" in required else "Artifacts built"
    lacking = []
    if not count["artifact"]:
        lacking.append("no artifact is attached to the draft release")
    if "checksums" in required and not count["checksums"]:
        lacking.append("no checksum file (`*.sha256` or `SHA256SUMS`)")
    if lacking:
        artifacts = ChecklistItem("artifacts", title, "pending", "; ".join(lacking))
    else:
        detail = plural(count["artifact"], "artifact")
        if "checksums" in required:
            detail += f" and {plural(count['checksums'], 'checksum file')}"
        artifacts = ChecklistItem("artifacts", title, "done", detail)

    def optional(kind: ArtifactKind, title: str, expected: str) -> ChecklistItem:
        if kind not in required:
            return ChecklistItem(kind, title, "n/a", "not required by this repository")
        if not count[kind]:
            return ChecklistItem(kind, title, "pending", f"no {expected} is attached")
        return ChecklistItem(kind, title, "done", plural(count[kind], "file"))

    return (
        artifacts,
        optional(
            "signatures",
            "Artifacts signed",
            "signature (`.sig`, `.asc`, `.sigstore`, `.sigstore.json` or `.minisig`)",
        ),
        optional("sbom", "SBOM attached", "SBOM (SPDX or CycloneDX)"),
    )


def _rollback(inp: ChecklistInput) -> ChecklistItem:
    title = "The previous release is available for a rollback"
    if inp.previous_tag is None:
        return ChecklistItem("rollback", title, "n/a", "first release of the line")
    previous = code(_one_line(inp.previous_tag, _FIELD_CHARS))
    if inp.previous_release_ok:
        return ChecklistItem("rollback", title, "done", f"{previous} is published")
    return ChecklistItem(
        "rollback",
        title,
        "failed",
        f"{previous} is missing, a draft or withdrawn: publish a safe release to fall back to",
    )


def _changelog(inp: ChecklistInput) -> ChecklistItem:
    title = "Every PR has a changelog line"
    if inp.undocumented:
        return ChecklistItem(
            "changelog",
            title,
            "failed",
            f"no `Changelog:` line on {_prs(inp.undocumented)}: their titles are listed under "
            "Other in the release notes",
        )
    return ChecklistItem("changelog", title, "done")


def _communication(inp: ChecklistInput) -> ChecklistItem:
    security = any(c.security for c in inp.changes)
    title = "Release note and security advisory drafted" if security else "Release note drafted"
    lacking = []
    if not inp.notes_ready:
        lacking.append("the release note is not drafted")
    if security and not inp.advisory_ready:
        lacking.append("the security advisory is not drafted")
    if lacking:
        return ChecklistItem("communication", title, "pending", "; ".join(lacking))
    return ChecklistItem("communication", title, "done")


# --- rollback ------------------------------------------------------------------------------


def withdrawn_name(name: str | None, tag: str) -> str:
    """The release's name marked withdrawn, once however often it is applied."""
    base = name if name and name.strip() else tag
    return base if base.startswith(WITHDRAWN_PREFIX) else WITHDRAWN_PREFIX + base


def _version_of(tag: str) -> str:
    for fmt in TAG_FORMATS:
        version = parse_tag(tag, fmt)
        if version is not None:
            return str(version)
    return _one_line(tag, _FIELD_CHARS).removeprefix("v").removesuffix("-lts")


def _line_of(tag: str) -> str:
    version = _version_of(tag)
    return "v" + ".".join(version.split(".")[:2])


def _go_back(tag: str, safe_tag: str | None, package: str) -> str:
    if safe_tag is None:
        return (
            f"There is no earlier release of {_line_of(tag)} to go back to: stay on the version "
            "you ran before, or wait for a fixed release."
        )
    command = _install_command(package, _version_of(safe_tag))
    return f"Go back to {code(_one_line(safe_tag, _FIELD_CHARS))}: {code(command)}"


def withdrawn_body(
    body: str | None, *, tag: str, reason: str, safe_tag: str | None, package: str
) -> str:
    """The release body with a warning that it is withdrawn on top, replacing an earlier one."""
    rest = (body or "").lstrip()
    # Only a block at the very start is ours: the notes below may quote the markers.
    if rest.startswith(WITHDRAWN_START):
        end = rest.find(WITHDRAWN_END)
        if end >= 0:
            rest = rest[end + len(WITHDRAWN_END) :].lstrip()
    shown = code(_one_line(tag, _FIELD_CHARS))
    block = [
        WITHDRAWN_START,
        "> [!WARNING]",
        f"> **{shown} is withdrawn.** Reason: {_inline(reason) or 'none given'}",
        ">",
        f"> {_go_back(tag, safe_tag, package)}",
        WITHDRAWN_END,
    ]
    return "\n".join(block) + ("\n\n" + rest if rest else "\n")


def incident_title(tag: str) -> str:
    return f"Rollback of {_one_line(tag, _FIELD_CHARS)}"


def incident_body(
    *,
    tag: str,
    reason: str,
    actor: str,
    safe_tag: str | None,
    package: str,
    tracking_issue: int | None,
) -> str:
    """The incident issue of a rollback: the rollback runbook to tick off, then the postmortem."""
    shown = code(_one_line(tag, _FIELD_CHARS))
    version = _version_of(tag)
    ticket = f" (release ticket #{tracking_issue})" if tracking_issue is not None else ""
    sources = f"the tracking issue #{tracking_issue}, " if tracking_issue is not None else ""
    if safe_tag is None:
        users = _go_back(tag, None, package)
        smoke = "Re-run the smoke tests on the version users fall back to, and watch health."
    else:
        safe = code(_one_line(safe_tag, _FIELD_CHARS))
        command = code(_install_command(package, _version_of(safe_tag)))
        users = (
            f"Direct users to the pinned previous version {safe} ({command}), or re-publish "
            "it if the registry lost it."
        )
        smoke = f"Re-run the smoke tests on {safe} and watch health for 48 to 72 hours."
    out = [
        f"{_mention(actor)} rolled back {shown}{ticket}: {_inline(reason) or 'no reason given'}.",
        "",
        "## Rollback",
        "",
        "- [ ] Stop the staged rollout and tell the release manager and the on-call SRE.",
        f"- [ ] Mark {code(version)} deprecated in the registry: yank it (on PyPI, the "
        "release's Options menu, Yank), so `pip` installs it only when pinned exactly.",
        f"- [ ] {users}",
        "- [ ] Run remediation scripts only where they are safe: never reverse a data "
        "migration blindly.",
        f"- [ ] {smoke}",
        "- [ ] Notify stakeholders: users, the security contact if the release fixed a "
        "vulnerability, and the internal status.",
        "",
        "## Postmortem",
        "",
        "### Timeline",
        "",
        f"_From {sources}the release's PRs, CI runs and logs: when it shipped, when the "
        "problem was noticed, when it was rolled back._",
        "",
        "### Root cause",
        "",
        "### Contributing factors",
        "",
        "### Corrective actions",
        "",
        "| Action (test, process change, automation) | Owner | Deadline |",
        "| --- | --- | --- |",
        "|  |  |  |",
        "",
        "### Follow-up",
        "",
        "- [ ] Postmortem shared",
        "- [ ] Runbooks updated",
    ]
    return "\n".join(out)


def references_release(
    text: str, version: ReleaseVersion, tag: str, tracking_issue: int | None
) -> bool:
    """Whether an issue's title and body name the release.

    They do with the tag, `X.Y.Z` as a whole version (`v` allowed), or `#<tracking issue>`.
    """
    # Not part of a longer version: 11.4.3, 1.4.30, 1.4.3.1, 1.4.3-rc1 and 1.4.3+local are
    # other versions.
    after = r"(?![\w]|[.+-][\w])"
    options = [
        rf"(?<![\w.]){re.escape(tag)}{after}",
        rf"(?<![\w.])v?{re.escape(str(version))}{after}",
    ]
    if tracking_issue is not None:
        options.append(rf"(?<![\w/&])#{tracking_issue}(?![\w])")
    pattern = re.compile("|".join(options), re.IGNORECASE)
    return pattern.search(text[: 2 * MAX_BODY_CHARS]) is not None


@dataclass(frozen=True)
class PublishedRelease:
    """A release as the rollback sees it: its tag, and whether it can be gone back to."""

    tag: str
    draft: bool = False
    name: str | None = None

    @property
    def withdrawn(self) -> bool:
        return (self.name or "").startswith(WITHDRAWN_PREFIX)


def safe_release(
    version: ReleaseVersion, releases: Iterable[PublishedRelease], fmt: TagFormat
) -> str | None:
    """The tag to go back to: the newest published, not withdrawn release of the line
    before `version`; None when the line has none.
    """
    best: ReleaseVersion | None = None
    for rel in releases:
        if rel.draft or rel.withdrawn:
            continue
        parsed = parse_tag(rel.tag, fmt)
        if parsed is None or parsed.line != version.line or parsed >= version:
            continue
        if best is None or parsed > best:
            best = parsed
    return best.tag(fmt) if best else None


def unshipped_lines(planned: Iterable[str], labels: Iterable[str]) -> tuple[str, ...]:
    """The planned lines ("1.3") without a `released/vX.Y.Z` label yet, as "v1.3"."""
    names = list(labels)
    return tuple(
        f"v{line}"
        for line in planned
        if not any(name.startswith(f"{RELEASED_PREFIX}v{line}.") for name in names)
    )
