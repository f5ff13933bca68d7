"""The `lts/backport-fidelity` check run: a cherry-picked backport makes the original's change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.decisions import CheckRunDecision, Conclusion, clip
from bot.markdown import code, code_block, plural

# A backport into `release-lts/vX.Y` is made with `git cherry-pick -x` from fixes merged on
# main. It should add and remove the same lines in the same files as the original change;
# anything else (conflict markers, a line the original did not touch, another file) is
# something a person has to look at before it ships on an LTS line.
#
# The comparison works on GitHub's per-file `patch` text (GET /pulls/{n}/files, GET
# /commits/{sha}): per file, the multiset of added lines and of removed lines. Line numbers,
# hunk order and context lines are ignored on purpose: the LTS branch has drifted from
# main, so the same change lands at other positions with other context around it. Trailing
# whitespace and "\ No newline at end of file" are ignored too: they are what a cherry-pick
# across drifted branches changes without anyone meaning it.
#
# The work is bounded whatever the snapshot holds: at most `MAX_FILES` files of each side,
# `MAX_LINES_PER_FILE` lines (and `MAX_CHARS_PER_FILE` characters) of a file's patch and
# `MAX_LINES_PER_SIDE` lines (and `MAX_CHARS_PER_SIDE` characters) of each side are read. A
# file read only in part is compared by presence and status only, and the summary says so.

CHECK_NAME = "lts/backport-fidelity"

MAX_FILES = 10_000
MAX_LINES_PER_FILE = 20_000
MAX_CHARS_PER_FILE = 2_000_000
MAX_LINES_PER_SIDE = 200_000
MAX_CHARS_PER_SIDE = 20_000_000
# Diff lines quoted in the check run's text, across every section: enough to see the
# problem, few enough that the page stays readable.
MAX_SHOWN_LINES = 50
MAX_SHOWN_FILES = 20
MAX_SHOWN_REFS = 3

_LINE_CHARS = 200
_NAME_CHARS = 200
_MARKER_PREFIXES = ("<<<<<<<", ">>>>>>>", "|||||||")
# Lines git puts before the first hunk of a full `git diff`; GitHub's `patch` starts at the
# first `@@`, but a snapshot built from `git diff` output may carry them.
_FILE_HEADERS = (
    "diff ",
    "index ",
    "--- ",
    "+++ ",
    "new file mode",
    "deleted file mode",
    "old mode",
    "new mode",
    "similarity index",
    "dissimilarity index",
    "rename from",
    "rename to",
    "copy from",
    "copy to",
    "Binary files",
)
_APPROVE = "`/approve release-manager`"


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff as GitHub lists it: name, status, patch text and former name."""

    filename: str
    status: str = "modified"
    patch: str | None = None
    previous_filename: str | None = None


@dataclass(frozen=True)
class FidelitySnapshot:
    """The backport PR's files and, when its commits are cherry-picks, the original's."""

    backport: tuple[FileDiff, ...]
    # All picked commits together; None when no commit says "(cherry picked from commit …)".
    original: tuple[FileDiff, ...] | None
    # How the text names the original: ("#12",) or short shas.
    original_refs: tuple[str, ...] = ()
    # A listing hit GitHub's limits (3,000 files, patch omitted): the comparison is partial.
    truncated: bool = False


# --- reading patches ---------------------------------------------------------------------


def _changed_lines(
    patch: str, max_lines: int, max_chars: int
) -> tuple[list[tuple[str, str]], int, bool]:
    """The patch's added and removed lines as (sign, text), the lines read, whether it was cut.

    Text is what follows the sign, without trailing whitespace.
    """
    if max_lines <= 0 or max_chars <= 0:
        return [], 0, bool(patch)
    cut = len(patch) > max_chars
    lines = patch[:max_chars].split("\n", max_lines)
    if len(lines) > max_lines:
        # split() leaves the unread rest in the last piece; empty means nothing was left.
        rest = lines.pop()
        cut = cut or rest != ""
    elif cut:
        # The character cap fell inside the last line: half a line is no line.
        lines.pop()
    out: list[tuple[str, str]] = []
    in_hunk = False
    for line in lines:
        if line.startswith("@@"):
            in_hunk = True
        elif not in_hunk and line.startswith(_FILE_HEADERS):
            continue
        elif line[:1] in ("+", "-") and line:
            out.append((line[0], line[1:].rstrip()))
    return out, len(lines), cut


def _is_marker(text: str) -> bool:
    if text == "=======":
        return True
    return text[:7] in _MARKER_PREFIXES and (len(text) == 7 or text[7] == " ")


def conflict_markers(patch: str) -> list[str]:
    """The patch's added lines that are git conflict markers (`<<<<<<<`, `=======`, …)."""
    lines, _, _ = _changed_lines(patch, MAX_LINES_PER_FILE, MAX_CHARS_PER_FILE)
    return [text for sign, text in lines if sign == "+" and _is_marker(text)]


@dataclass
class _Budget:
    lines: int = MAX_LINES_PER_SIDE
    chars: int = MAX_CHARS_PER_SIDE


@dataclass(frozen=True)
class _Read:
    file: FileDiff
    added: Counter[str]
    removed: Counter[str]
    # The file has a patch but not all of it was read.
    cut: bool

    @property
    def compared(self) -> bool:
        return self.file.patch is not None and not self.cut


def _read(file: FileDiff, budget: _Budget) -> _Read:
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    if file.patch is None:
        return _Read(file, added, removed, cut=False)
    max_lines = min(MAX_LINES_PER_FILE, budget.lines)
    max_chars = min(MAX_CHARS_PER_FILE, budget.chars)
    lines, read, cut = _changed_lines(file.patch, max_lines, max_chars)
    budget.lines -= read
    budget.chars -= min(len(file.patch), max_chars)
    for sign, text in lines:
        (added if sign == "+" else removed)[text] += 1
    return _Read(file, added, removed, cut)


def _net_kind(statuses: Iterable[str]) -> str:
    """What a side does to a file in all: adds it, removes it or modifies it.

    Renamed, copied and changed files are modified as far as the change goes; what matters is
    whether a file comes into being or disappears. Several commits of the original may touch
    one file (added, then modified), so it is the sum that counts.
    """
    kinds = {status if status in ("added", "removed") else "modified" for status in statuses}
    if "added" in kinds and "removed" not in kinds:
        return "added"
    if "removed" in kinds and "added" not in kinds:
        return "removed"
    return "modified"


# --- comparing ---------------------------------------------------------------------------


@dataclass
class _Group:
    """The entries of both sides that name the same file (directly or through a rename)."""

    backport: list[_Read] = field(default_factory=list)
    original: list[_Read] = field(default_factory=list)

    @property
    def name(self) -> str:
        return (self.backport or self.original)[0].file.filename


@dataclass
class _Result:
    markers: list[tuple[str, list[str]]] = field(default_factory=list)
    extra_lines: list[tuple[str, Counter[str], Counter[str]]] = field(default_factory=list)
    extra_files: list[tuple[str, str]] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    missing_lines: list[tuple[str, Counter[str], Counter[str]]] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    no_patch: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    dropped: int = 0

    @property
    def differs(self) -> bool:
        return bool(self.markers or self.extra_lines or self.extra_files or self.statuses)

    @property
    def missing(self) -> bool:
        return bool(self.missing_lines or self.missing_files)


def _groups(backport: Sequence[_Read], original: Sequence[_Read]) -> list[_Group]:
    # Union-find over file names: an entry joins its name to its former name, so a file
    # renamed on either side (or on both) still meets its counterpart, and several commits
    # of the original touching one file add up.
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        parent.setdefault(name, name)
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for entry in (*backport, *original):
        root = find(entry.file.filename)
        if entry.file.previous_filename:
            other = find(entry.file.previous_filename)
            if other != root:
                parent[other] = root
    groups: dict[str, _Group] = {}
    for entry in backport:
        groups.setdefault(find(entry.file.filename), _Group()).backport.append(entry)
    for entry in original:
        groups.setdefault(find(entry.file.filename), _Group()).original.append(entry)
    return list(groups.values())


def _sum(counters: Iterable[Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return total


def _compare(backport: Sequence[FileDiff], original: Sequence[FileDiff]) -> _Result:
    result = _Result()
    result.dropped = max(0, len(backport) - MAX_FILES) + max(0, len(original) - MAX_FILES)
    backport_budget, original_budget = _Budget(), _Budget()
    ours = [_read(file, backport_budget) for file in backport[:MAX_FILES]]
    theirs = [_read(file, original_budget) for file in original[:MAX_FILES]]
    for group in _groups(ours, theirs):
        name = group.name
        added = _sum(entry.added for entry in group.backport)
        removed = _sum(entry.removed for entry in group.backport)
        their_added = _sum(entry.added for entry in group.original)
        their_removed = _sum(entry.removed for entry in group.original)
        # A marker line the original added itself (a merge tool's test fixture, a
        # reStructuredText underline) is part of the change, not a leftover conflict.
        markers = [
            line
            for line, count in (added - their_added).items()
            if _is_marker(line)
            for _ in range(count)
        ]
        if markers:
            result.markers.append((name, markers))
        entries = (*group.backport, *group.original)
        compared = all(entry.compared for entry in entries)
        if any(entry.cut for entry in entries):
            result.cut.append(name)
        elif not compared and group.backport and group.original:
            result.no_patch.append(name)
        if not group.original:
            kind = _net_kind(entry.file.status for entry in group.backport)
            result.extra_files.append((name, kind))
            continue
        if not group.backport:
            result.missing_files.append(name)
            continue
        our_kind = _net_kind(entry.file.status for entry in group.backport)
        their_kind = _net_kind(entry.file.status for entry in group.original)
        if our_kind != their_kind:
            result.statuses.append((name, our_kind, their_kind))
        if not compared:
            continue
        # Markers are reported above; listing them again as extra lines is noise.
        extra_added = Counter(
            {line: count for line, count in (added - their_added).items() if not _is_marker(line)}
        )
        extra_removed = removed - their_removed
        if extra_added or extra_removed:
            result.extra_lines.append((name, extra_removed, extra_added))
        missing_added, missing_removed = their_added - added, their_removed - removed
        if missing_added or missing_removed:
            result.missing_lines.append((name, missing_removed, missing_added))
    return result


# --- evaluation --------------------------------------------------------------------------


def evaluate(snapshot: FidelitySnapshot) -> CheckRunDecision:
    """Success when the backport makes the original's change; failure or neutral saying how not."""
    if snapshot.original is None:
        return _not_a_cherry_pick(snapshot.backport)
    result = _compare(snapshot.backport, snapshot.original)
    original = _original(snapshot.original_refs)
    notes = _notes(result, snapshot.truncated)
    partial = bool(snapshot.truncated or result.cut or result.dropped)
    intro = (
        f"lts-bot compares this backport's diff with {original} file by file: the lines "
        "each adds and removes, ignoring line numbers, order, context lines and trailing "
        "whitespace."
    )
    details = _details(result)
    if result.differs:
        return _failure(result, original, intro, notes, details)
    if result.missing:
        return _partial_backport(result, original, intro, notes, details, partial)
    if partial:
        title = f"Partial comparison: what was compared matches {original}"
        summary = f"{intro}\n\nNo difference was found, but not everything was compared."
        return _decision("neutral", title, summary + notes, details)
    title = f"Same change as {original}"
    summary = (
        f"{intro}\n\nThe backport adds and removes the same lines in the same files as "
        f"{original}: nothing more to check here."
    )
    return _decision("success", title, summary + notes, details)


def _failure(
    result: _Result, original: str, intro: str, notes: str, details: str
) -> CheckRunDecision:
    parts: list[str] = []
    found: list[str] = []
    actions: list[str] = []
    if result.markers:
        files = [name for name, _ in result.markers]
        count = sum(len(lines) for _, lines in result.markers)
        parts.append(f"conflict markers in {plural(len(files), 'file')}")
        found.append(
            f"- **{plural(count, 'conflict marker')}** left from the cherry-pick in "
            f"{plural(len(files), 'file')}: {_names(files)}."
        )
        actions.append(
            "resolve the conflict markers (edit the files, remove the `<<<<<<<`, `=======`, "
            "`|||||||` and `>>>>>>>` lines, amend the commit and push)"
        )
    if result.extra_lines:
        files = [name for name, _, _ in result.extra_lines]
        count = sum(r.total() + a.total() for _, r, a in result.extra_lines)
        parts.append(f"changes {plural(count, 'line')} the original did not")
        found.append(
            f"- **{plural(count, 'line')}** added or removed that the original did not add or "
            f"remove, in {plural(len(files), 'file')}: {_names(files)}."
        )
    if result.extra_files:
        files = [f"{_name(name)} ({kind})" for name, kind in result.extra_files]
        parts.append(f"touches {plural(len(files), 'file')} the original did not")
        found.append(
            f"- **{plural(len(files), 'file')}** that the original does not touch: "
            f"{_listed(files)}. A file with another name on this line than on main shows "
            "here too: say so in the pull request."
        )
    if result.statuses:
        files = [
            f"{_name(name)} ({ours} here, {theirs} in the original)"
            for name, ours, theirs in result.statuses
        ]
        parts.append(f"another status for {plural(len(files), 'file')}")
        found.append(
            f"- **{plural(len(files), 'file')}** added, removed or modified where the "
            f"original does otherwise: {_listed(files)}."
        )
    if result.extra_lines or result.extra_files or result.statuses:
        actions.append(
            "explain the extra changes in the pull request (an adaptation to this line is "
            "fine when it is said why) or drop them"
        )
    if result.missing:
        found += _missing_items(result, also=True)
    title = f"Differs from {original}: " + ", ".join(parts)
    summary = "\n".join(
        [
            intro,
            "",
            "It finds differences:",
            "",
            *found,
            "",
            "### How to fix",
            "",
            f"A person must review these differences: {'; '.join(actions)}. The gate stays "
            "red until this check passes or a release manager signs off on this head with "
            f"{_APPROVE}.",
        ]
    )
    return _decision("failure", title, summary + notes, details)


def _partial_backport(
    result: _Result, original: str, intro: str, notes: str, details: str, partial: bool
) -> CheckRunDecision:
    title = f"Partial backport: leaves out {_missing_phrase(result)} of {original}"
    if partial:
        title += " (comparison partial)"
    summary = "\n".join(
        [
            intro,
            "",
            f"The backport makes no change that {original} does not, but it leaves out "
            f"{_missing_phrase(result)}:",
            "",
            *_missing_items(result),
            "",
            "### What to do",
            "",
            "A backport may leave out a part that does not apply to this line, but a person "
            "should know: say in the pull request which parts are left out and why, or "
            "cherry-pick the rest of the change.",
        ]
    )
    return _decision("neutral", title, summary + notes, details)


def _not_a_cherry_pick(backport: Sequence[FileDiff]) -> CheckRunDecision:
    summary = (
        "No commit of this pull request carries the line `(cherry picked from commit <sha>)` "
        "that `git cherry-pick -x` adds, so there is no original change to compare it with. "
        "Commits that carry it are compared with the original commit on main, so a backport "
        "of a fix merged there should be made with `git cherry-pick -x <sha>`; a change made "
        "for this line alone needs nothing more here."
    )
    budget = _Budget()
    marked: list[str] = []
    for file in backport[:MAX_FILES]:
        read = _read(file, budget)
        if any(_is_marker(line) for line in read.added):
            marked.append(file.filename)
    if marked:
        # Not this check's verdict without an original to tell a marker from a heading
        # underline, but a leftover conflict is worth a look all the same.
        summary += (
            f"\n\nAdded lines that look like conflict markers, in "
            f"{plural(len(marked), 'file')}: {_names(marked)}."
        )
    return _decision("neutral", "Not a cherry-pick: nothing to compare", summary, None)


# --- formatting --------------------------------------------------------------------------


def _decision(
    conclusion: Conclusion, title: str, summary: str, text: str | None
) -> CheckRunDecision:
    return CheckRunDecision(CHECK_NAME, conclusion, clip(title, 255), clip(summary), text or None)


def _original(refs: Sequence[str]) -> str:
    if not refs:
        return "the original"
    shown = [_show(ref, 40) for ref in refs[:MAX_SHOWN_REFS]]
    more = len(refs) - len(shown)
    listed = ", ".join(shown) + (f" and {more:,} more" if more else "")
    return f"the original ({listed})"


def _missing_phrase(result: _Result) -> str:
    lines = sum(r.total() + a.total() for _, r, a in result.missing_lines)
    parts = []
    if lines:
        parts.append(plural(lines, "line"))
    if result.missing_files:
        parts.append(plural(len(result.missing_files), "file"))
    return " and ".join(parts)


def _missing_items(result: _Result, *, also: bool = False) -> list[str]:
    out = []
    pre = "Also left out" if also else "Left out"
    if result.missing_lines:
        files = [name for name, _, _ in result.missing_lines]
        lines = sum(r.total() + a.total() for _, r, a in result.missing_lines)
        out.append(
            f"- {pre}: **{plural(lines, 'line')}** the original adds or removes, in "
            f"{plural(len(files), 'file')}: {_names(files)}."
        )
    if result.missing_files:
        files = result.missing_files
        out.append(
            f"- {pre}: **{plural(len(files), 'file')}** the original touches: {_names(files)}."
        )
    return out


def _notes(result: _Result, truncated: bool) -> str:
    out: list[str] = []
    if truncated:
        out.append(
            "The comparison is partial: GitHub listed only part of the change (it returns at "
            "most 3,000 files and leaves out the diff of very large files), so compare the "
            "rest by hand."
        )
    if result.cut:
        out.append(
            f"Too long to compare line by line, so compared only by presence and status "
            f"({plural(len(result.cut), 'file')}; lts-bot reads at most "
            f"{MAX_LINES_PER_FILE:,} diff lines of a file and {MAX_LINES_PER_SIDE:,} of each "
            f"side): {_names(result.cut)}. Compare these by hand."
        )
    if result.dropped:
        out.append(
            f"{plural(result.dropped, 'file')} past the first {MAX_FILES:,} of a side "
            "were not compared at all."
        )
    if result.no_patch:
        out.append(
            "Not compared line by line, only by presence and status, because GitHub gives no "
            "diff text for them (binary files, very large diffs, renames without changes): "
            f"{_names(result.no_patch)}."
        )
    return "".join(f"\n\n{note}" for note in out)


def _details(result: _Result) -> str:
    """The differing lines, file by file, at most `MAX_SHOWN_LINES` of them in all."""
    sections: list[tuple[str, str, list[tuple[str, Counter[str], Counter[str]]]]] = [
        (
            "Conflict markers",
            "text",
            [(name, Counter(), Counter(lines)) for name, lines in result.markers],
        ),
        ("Lines the original did not add or remove", "diff", result.extra_lines),
        ("Lines of the original left out", "diff", result.missing_lines),
    ]
    total = shown = 0
    out: list[str] = []
    for heading, lang, entries in sections:
        blocks: list[str] = []
        for name, removed, added in entries:
            total += removed.total() + added.total()
            lines: list[str] = []
            for sign, counter in (("-", removed), ("+", added)):
                prefix = sign if lang == "diff" else ""
                for line, count in counter.items():
                    room = MAX_SHOWN_LINES - shown - len(lines)
                    lines += [prefix + _show(line, _LINE_CHARS)] * max(0, min(count, room))
            shown += len(lines)
            if lines:
                blocks += [f"#### {_name(name)}", "", code_block("\n".join(lines), lang), ""]
        if blocks:
            out += [f"### {heading}", "", *blocks]
    if total > shown:
        out.append(f"… and {plural(total - shown, 'more line')} (the first {shown} are shown).")
    return clip("\n".join(out).rstrip())


def _show(text: str, limit: int) -> str:
    # Tabs stay: they are code. Other control characters would garble the page.
    text = "".join(ch if ch.isprintable() or ch == "\t" else " " for ch in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(name: str) -> str:
    return code(_show(name, _NAME_CHARS))


def _listed(items: Sequence[str], render: Callable[[str], str] = str) -> str:
    shown = [render(item) for item in items[:MAX_SHOWN_FILES]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def _names(names: Sequence[str]) -> str:
    return _listed(names, _name)
