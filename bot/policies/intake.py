"""Intake of LTS requests: parse issue bodies, find missing fields, extract and auto-label."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

from bot.config import (
    DEFAULT_REQUIRED_FIELDS,
    INTAKE_FIELDS,
    FormKind,
    KeywordRules,
    RepoConfig,
)
from bot.ticket import (
    NEEDS_INFO_LABEL,
    REGRESSION_LABEL,
    SECURITY_LABEL,
    SEVERITIES,
    Severity,
    TicketState,
)

__all__ = [
    "CHECKBOX_HEADINGS",
    "FIELD_HINTS",
    "FIELD_LABELS",
    "FORM_FIELDS",
    "KIND_LABELS",
    "MAX_BODY_CHARS",
    "NEEDS_INFO_MARKER",
    "NO_RESPONSE",
    "REQUIRED_FIELDS",
    "TITLE_PREFIXES",
    "IntakeResult",
    "ParsedIssue",
    "detect_kind",
    "evaluate",
    "needs_info_comment",
    "parse_body",
]

# Only this much of a body is read: GitHub allows 65,536 characters, and everything below
# is linear in what is read, so a hostile body costs the same as a long honest one.
MAX_BODY_CHARS = 65_536
MAX_TITLE_CHARS = 1_024

NEEDS_INFO_MARKER = "<!-- lts-bot:needs-info -->"
# What GitHub writes under a form heading when the field was left empty.
NO_RESPONSE = "_No response_"

# Field name (as in `intake.required`) -> the label in the issue forms, which GitHub
# renders as the "### <label>" heading of the answer. The templates must use these.
FIELD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "description": "Description",
        "reproduction": "Steps to reproduce",
        "logs": "Logs or traceback",
        "environment": "Environment",
        "python-version": "Python version",
        "package-versions": "Package versions",
        "affected-versions": "Affected versions",
        "severity": "Severity",
        "cve": "CVE ID",
        "test-case": "Test case",
        "fix": "Fix to backport",
    }
)
REGRESSION_HEADING = "Regression"
DISCLOSURE_HEADING = "Public disclosure"
CHECKBOX_HEADINGS = (REGRESSION_HEADING, DISCLOSURE_HEADING)

# Each form's fields in the order the form asks for them (the order missing fields are
# listed in); the templates under templates/ISSUE_TEMPLATE/ follow it.
FORM_FIELDS: Mapping[FormKind, tuple[str, ...]] = MappingProxyType(
    {
        "bug": (
            "description",
            "reproduction",
            "logs",
            "test-case",
            "affected-versions",
            "python-version",
            "package-versions",
            "environment",
            "severity",
            "cve",
        ),
        "security": (
            "description",
            "cve",
            "affected-versions",
            "severity",
            "reproduction",
            "python-version",
            "package-versions",
            "environment",
            "logs",
            "test-case",
        ),
        "backport": (
            "fix",
            "description",
            "affected-versions",
            "severity",
            "cve",
            "test-case",
        ),
    }
)

REQUIRED_FIELDS: Mapping[FormKind, tuple[str, ...]] = MappingProxyType(DEFAULT_REQUIRED_FIELDS)

# Labels the forms put on the issues they create, and their title prefixes.
KIND_LABELS: Mapping[FormKind, str] = MappingProxyType(
    {"bug": "lts/bug", "security": "lts/security", "backport": "lts/backport"}
)
TITLE_PREFIXES: Mapping[FormKind, str] = MappingProxyType(
    {"bug": "[LTS bug]", "security": "[LTS security]", "backport": "[LTS backport]"}
)
# When an issue carries more than one kind's label, the more urgent kind wins.
_KIND_PRIORITY: tuple[FormKind, ...] = ("security", "backport", "bug")

# What to write for each field, for the needs-info comment.
FIELD_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "description": "what goes wrong, and what you expected instead",
        "reproduction": "numbered steps, from a fresh install, that make the problem happen",
        "logs": (
            "the full traceback or the relevant log lines in a code block "
            '(write "none" if there are none)'
        ),
        "environment": "operating system, and how the package is installed and run",
        "python-version": "the output of `python --version`, e.g. `3.11.9`",
        "package-versions": "the relevant lines of `pip freeze`, e.g. `requests==2.32.3`",
        "affected-versions": "the release(s) where you see it, e.g. `1.4.2`",
        "severity": "your guess: critical, high, medium or low (triage decides)",
        "cve": "the CVE ID, e.g. `CVE-2024-12345`, if one is assigned",
        "test-case": "a minimal test that fails now and passes once it is fixed",
        "fix": "a link to the merged pull request or commit on the main branch",
    }
)

# Other names people give these fields in free-form issues ("Steps to reproduce:",
# "## Traceback", "**OS:** Linux"), normalized as by _norm.
_ALIASES: dict[str, str] = {
    **{label.lower(): name for name, label in FIELD_LABELS.items()},
    **{
        alias: name
        for name, aliases in {
            "description": (
                "summary",
                "describe the bug",
                "bug description",
                "what happened",
                "problem",
                "details",
                "vulnerability",
                "why",
                "reason",
                "motivation",
            ),
            "reproduction": (
                "to reproduce",
                "reproduction",
                "reproduction steps",
                "repro",
                "repro steps",
                "how to reproduce",
                "reproducer",
                "steps",
                "proof of concept",
                "poc",
            ),
            "logs": (
                "logs",
                "log",
                "log output",
                "relevant log output",
                "traceback",
                "stack trace",
                "stacktrace",
                "error",
                "error output",
                "output",
            ),
            "environment": ("os", "operating system", "platform", "system"),
            "python-version": ("python", "python versions", "python interpreter"),
            "package-versions": (
                "packages",
                "package version",
                "dependencies",
                "pip freeze",
                "installed packages",
            ),
            "affected-versions": (
                "affected version",
                "affects",
                "version",
                "versions",
                "affected lts lines",
                "affected lines",
            ),
            "severity": ("severity guess", "impact"),
            "cve": ("cve", "cve id", "cve ids", "cve-id"),
            "test-case": ("testcase", "test", "tests", "failing test", "regression test"),
            "fix": ("fix", "upstream fix", "fixed by", "fixed in", "backport of", "commit"),
        }.items()
        for alias in aliases
    },
}
_FORM_HEADINGS = frozenset({*FIELD_LABELS.values(), *CHECKBOX_HEADINGS})
_CHECKBOX_KEYS = frozenset(h.lower() for h in CHECKBOX_HEADINGS)

# Every pattern below is matched line by line or with bounded repetition, so that none
# can backtrack more than a constant amount per character read.
_HEADING_RE = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_LABEL_RE = re.compile(
    r"[ \t]{0,3}(?:[-*+][ \t]{1,4})?(\*\*|__)?([A-Za-z][A-Za-z0-9 ()/_-]{0,40}?)[ \t]{0,4}"
    r"(\*\*|__)?[ \t]{0,4}:[ \t]{0,4}(?:\*\*|__)?[ \t]{0,4}(.*)"
)
_BARE_LABEL_RE = re.compile(
    r"[ \t]{0,3}(?:[-*+][ \t]{1,4})?(\*\*|__)?([A-Za-z][A-Za-z0-9 ()/_-]{0,40}?)[ \t]{0,4}"
    r"(?:\*\*|__)?[ \t]{0,4}"
)
_CHECKBOX_RE = re.compile(r"[ \t]{0,3}[-*+][ \t]{1,4}\[([ xX])\][ \t]{0,4}(.*)")
_ORDERED_RE = re.compile(r"[ \t]{0,3}\d{1,3}[.)][ \t]{1,8}\S")
_INLINE_CODE_RE = re.compile(r"`[^`\n]{0,4096}`")
_TRACEBACK = "traceback (most recent call last)"
_ERROR_LINE_RE = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_]{0,99}\.){0,10}[A-Za-z_][A-Za-z0-9_]{0,99}"
    r"(?:Error|Exception|Warning|Exit|Interrupt)(?::|$)"
    r"|E {2}"
)
_REPRO_CODE_RE = re.compile(r"(?:>>>|\$ |import |from [\w.]{1,100} import )")
_TEST_CODE_RE = re.compile(r"(?:async )?def test|assert ")
_CVE_RE = re.compile(r"(?<![A-Za-z0-9-])CVE-(\d{4})-(\d{4,19})(?![0-9A-Za-z])", re.IGNORECASE)
_PY_MENTION_RE = re.compile(
    r"(?<![\w.])(?:c?python|py)[ \t]{0,3}(?:version[ \t]{0,3}:?[ \t]{0,3})?v?"
    r"([23]\.\d{1,2}(?:\.\d{1,3})?(?:(?:a|b|rc)\d{1,2})?)(?![0-9A-Za-z])(?!\.[0-9])",
    re.IGNORECASE,
)
_BARE_PY_RE = re.compile(
    r"(?<![\w.])v?([23]\.\d{1,2}(?:\.\d{1,3})?(?:(?:a|b|rc)\d{1,2})?)(?![0-9A-Za-z])(?!\.[0-9])"
)
_PKG_PIN_RE = re.compile(
    r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]{0,99})(?:\[[A-Za-z0-9,._ -]{0,100}\])?"
    r"[ \t]{0,3}===?[ \t]{0,3}v?(\d[0-9A-Za-z.+!_-]{0,49})"
)
_PKG_LINE_RE = re.compile(
    r"[ \t]{0,3}(?:[-*+][ \t]{1,4})?`?([A-Za-z][A-Za-z0-9._-]{0,99})"
    r"(?:\[[A-Za-z0-9,._ -]{0,100}\])?`?[ \t]{0,8}(?:===?|:|[ \t])[ \t]{0,8}"
    r"`?v?(\d[0-9A-Za-z.+!_-]{0,49})`?[ \t]{0,8}"
)
_VERSION_RE = re.compile(
    r"(?<![\w.])[vV]?(\d{1,4})\.(\d{1,4})(?:\.(?:\d{1,6}|[xX*])){0,2}(?![\w*])(?!\.\d)"
)
_VERSION_MENTION_RE = re.compile(
    r"(?<![\w.-])(?:(?:versions?|releases?|lts)[ \t]{1,3}[vV]?|release-lts/[vV]|[vV](?=\d))"
    r"(\d{1,4})\.(\d{1,4})(?:\.(?:\d{1,6}|[xX*])){0,2}(?![\w*])(?!\.\d)",
    re.IGNORECASE,
)
_AFTER_PYTHON_RE = re.compile(r"(?:python|py)[ \t]{0,3}(?:version[ \t]{0,3}:?[ \t]{0,3})?$", re.I)
_SEVERITY_RE = re.compile(r"(?<!\w)(critical|high|medium|low)(?!\w)", re.IGNORECASE)
_REGRESSION_RE = re.compile(r"(?<![\w-])regression(?!\w)", re.IGNORECASE)
_NEGATION_RE = re.compile(r"(?:\bnot an?|\bno|\bnon)[ \t-]{1,3}$", re.IGNORECASE)
_OS_RE = re.compile(
    r"(?<!\w)(?:linux|ubuntu|debian|fedora|centos|rhel|red hat|alpine|arch linux|macos|"
    r"mac os|os x|osx|windows|win32|freebsd|openbsd|wsl2?|docker|kubernetes)(?!\w)",
    re.IGNORECASE,
)
_FIX_LINK_RE = re.compile(
    r"github\.com/[\w.-]{1,100}/[\w.-]{1,100}/(?:pull/\d{1,9}|commit/[0-9a-fA-F]{7,40})"
)


def _norm(text: str) -> str:
    """A heading or label as looked up in _ALIASES: lower case, no markup, one space."""
    return " ".join(text.lower().strip("*_ \t:?").split())


def _strip_html_comments(text: str) -> str:
    # Hand-rolled rather than a lazy regex, which is quadratic on many unclosed "<!--".
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) != -1:
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        if end == -1:
            pos = len(text)  # an unclosed comment hides the rest, as on GitHub
            break
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _fence_open(line: str) -> tuple[str, int] | None:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or stripped[:1] not in ("`", "~"):
        return None
    char = stripped[0]
    run = len(stripped) - len(stripped.lstrip(char))
    if run < 3 or (char == "`" and "`" in stripped[run:]):
        return None
    return char, run


def _fence_closes(line: str, char: str, run: int) -> bool:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    rest = stripped.lstrip(char)
    return len(stripped) - len(rest) >= run and not rest.strip()


def _answer(lines: Sequence[str]) -> str:
    """A form section's answer, or "" when it was left empty (also as an empty code block)."""
    text = "\n".join(lines).strip()
    if not text or text == NO_RESPONSE:
        return ""
    for line in lines:
        stripped = line.strip()
        if stripped and stripped != NO_RESPONSE and _fence_open(line) is None:
            return text
    return ""


@dataclass(frozen=True)
class ParsedIssue:
    """What an issue body says, field by field; free of any configuration."""

    # Field name -> the answer, for every field found (form section, label or heuristic).
    fields: Mapping[str, str]
    # Fields whose section is present but was left empty ("_No response_"): these count
    # as missing even if something elsewhere looks like an answer.
    empty: frozenset[str]
    # Checked options under the checkbox headings, by lower-cased heading.
    checked: Mapping[str, tuple[str, ...]]
    # Headings exactly as an issue form renders them, in order.
    form_headings: tuple[str, ...]
    # The text outside code blocks, inline code, HTML comments, form headings and
    # unchecked checkboxes: what keywords and "regression" are looked for in.
    prose: str
    # The body as read (at most MAX_BODY_CHARS, HTML comments removed), code included.
    text: str
    chars_read: int
    truncated: bool

    @property
    def is_form(self) -> bool:
        """Whether the body looks like an issue form's rendering (two or more headings)."""
        return len(set(self.form_headings)) >= 2


@dataclass
class _Capture:
    name: str
    lines: list[str] = field(default_factory=list)
    filled: bool = False  # kept up to date so a run of blank lines stays linear

    def add(self, line: str) -> None:
        self.lines.append(line)
        if not self.filled:
            stripped = line.strip()
            self.filled = bool(stripped) and stripped != NO_RESPONSE and not _fence_open(line)


class _Parser:
    """One pass over the lines of a body; each line costs a bounded amount of work."""

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}  # field -> lines of its first section
        self.labels: dict[str, str] = {}  # field -> first answer given by a label
        self.heuristic: dict[str, str] = {}  # field -> first answer found by a heuristic
        self.checked: dict[str, list[str]] = {}
        self.form_headings: list[str] = []
        self.prose: list[str] = []
        self.leftover: list[str] = []  # prose that belongs to no field: the description
        self.section: list[str] | None = None  # lines of the current field section
        self.section_key: str | None = None  # lower-cased heading of the current section
        self.capture: _Capture | None = None  # a "Label:" block being collected
        self.fence: tuple[str, int] | None = None
        self.code: list[str] = []
        self.ordered: list[str] = []

    def feed(self, line: str) -> None:
        if self.fence is not None:
            self._in_code(line)
            return
        if line.startswith("### ") and line[4:].strip() in _FORM_HEADINGS:
            self._heading(line[4:].strip(), exact=True)
            return
        if (opened := _fence_open(line)) is not None:
            self.fence = opened
            self.code = []
            self._add_to_targets(line)
            self._end_ordered()
            return
        heading = _HEADING_RE.fullmatch(line)
        if heading is not None:
            text = (heading[2] or "").strip().rstrip("#").strip()
            self._heading(text, exact=False)
            return
        self._text_line(line)

    def finish(self) -> None:
        if self.fence is not None:
            self._code_block_done()  # an unclosed fence runs to the end, as on GitHub
        self._end_capture()
        self._end_ordered()

    # --- structure -------------------------------------------------------------------

    def _heading(self, text: str, *, exact: bool) -> None:
        self._end_capture()
        self._end_ordered()
        if exact:
            # GitHub writes these headings itself: they end an unclosed code block that
            # the reporter left in the previous answer.
            if self.fence is not None:
                self._code_block_done()
                self.fence = None
            self.form_headings.append(text)
        key = _norm(text)
        name = _ALIASES.get(key)
        self.section_key = key
        if name is not None and name not in self.sections:
            self.section = self.sections[name] = []
        else:
            self.section = None
        if name is None and key not in _CHECKBOX_KEYS:
            # A heading of the reporter's own ("## Crash on start") is part of the story.
            self.prose.append(text)
            self.leftover.append(text)

    def _add_to_targets(self, line: str) -> None:
        if self.section is not None:
            self.section.append(line)
        if self.capture is not None:
            self.capture.add(line)

    def _in_code(self, line: str) -> None:
        assert self.fence is not None
        if line.startswith("### ") and line[4:].strip() in _FORM_HEADINGS:
            self._heading(line[4:].strip(), exact=True)
            return
        self._add_to_targets(line)
        if _fence_closes(line, *self.fence):
            self.fence = None
            self._code_block_done()
        else:
            self.code.append(line)

    def _code_block_done(self) -> None:
        lines, self.code = self.code, []
        text = "\n".join(lines)
        stripped = [line.lstrip() for line in lines]
        if _TRACEBACK in text.lower() or any(_ERROR_LINE_RE.match(s) for s in stripped):
            self.heuristic.setdefault("logs", text)
        elif any(_TEST_CODE_RE.match(s) for s in stripped):
            self.heuristic.setdefault("test-case", text)
        elif any(_REPRO_CODE_RE.match(s) for s in stripped):
            self.heuristic.setdefault("reproduction", text)

    def _end_capture(self) -> None:
        capture, self.capture = self.capture, None
        if capture is not None:
            answer = _answer(capture.lines)
            if answer:
                self.labels.setdefault(capture.name, answer)

    def _end_ordered(self) -> None:
        items, self.ordered = self.ordered, []
        if sum(1 for line in items if _ORDERED_RE.match(line)) >= 2:
            self.heuristic.setdefault("reproduction", "\n".join(items).strip())

    # --- text ------------------------------------------------------------------------

    def _text_line(self, line: str) -> None:
        if self.section is not None:
            self.section.append(line)
        stripped = line.strip()
        if not stripped:
            if self.capture is not None and self.capture.filled:
                self._end_capture()
            if self.ordered:
                self.ordered.append(line)
            return
        if stripped == NO_RESPONSE:
            return

        if _ORDERED_RE.match(line) or (self.ordered and line[:1] in (" ", "\t")):
            self.ordered.append(line)
        else:
            self._end_ordered()

        checkbox = _CHECKBOX_RE.match(line)
        if checkbox is not None:
            if checkbox[1] == " ":
                return  # an option the reporter did not tick says nothing
            self.checked.setdefault(self.section_key or "", []).append(checkbox[2].strip())

        text = _INLINE_CODE_RE.sub(" ", line)
        self.prose.append(text)
        if stripped.lower().startswith(_TRACEBACK) and "logs" not in self.labels:
            self._end_capture()
            self.capture = _Capture("logs")
            self.capture.add(line)
            return
        if self._label_line(line):
            return  # it ended the capture before it, and may have opened one
        if self.capture is not None:
            self.capture.add(line)
        elif self.section is None:
            self.leftover.append(text)

    def _label_line(self, line: str) -> bool:
        """Handle "Label: value" or a lone "**Label**"; True if the line was one."""
        match = _LABEL_RE.match(line)
        if match is not None:
            name = _ALIASES.get(_norm(match[2]))
            if name is None:
                return False
            self._end_capture()
            value = match[4].strip().strip("*_").strip()
            if value and value != NO_RESPONSE:
                self.labels.setdefault(name, value)
            else:
                self.capture = _Capture(name)
            return True
        match = _BARE_LABEL_RE.fullmatch(line)
        if match is None:
            return False
        key = _norm(match[2])
        name = _ALIASES.get(key)
        # A lone "Python" line is too weak a signal; "Steps to reproduce" or "**Logs**"
        # are how people head a paragraph without Markdown headings.
        if name is None or (" " not in key and match[1] is None):
            return False
        self._end_capture()
        self.capture = _Capture(name)
        return True


def parse_body(body: str | None) -> ParsedIssue:
    """Split an issue body into fields: form sections first, then labels and heuristics.

    Reads at most MAX_BODY_CHARS characters and never raises. A field's "### Heading"
    section, when present, is its answer even if empty; other fields are taken from
    "Label: value" lines and blocks, then from heuristics (a code block with a traceback
    is the logs, a numbered list the steps to reproduce, ...).
    """
    raw = body or ""
    read = raw[:MAX_BODY_CHARS]
    text = _strip_html_comments(read.replace("\r\n", "\n").replace("\r", "\n"))
    parser = _Parser()
    for line in text.split("\n"):
        parser.feed(line)
    parser.finish()

    fields: dict[str, str] = {}
    empty: set[str] = set()
    for name, lines in parser.sections.items():
        answer = _answer(lines)
        if answer:
            fields[name] = answer
        else:
            empty.add(name)
    prose = "\n".join(parser.prose)
    for name, answer in _heuristics(parser, text, prose).items():
        if name not in parser.sections:
            fields.setdefault(name, answer)
    return ParsedIssue(
        fields=MappingProxyType({n: fields[n] for n in INTAKE_FIELDS if n in fields}),
        empty=frozenset(empty),
        checked=MappingProxyType({k: tuple(v) for k, v in parser.checked.items()}),
        form_headings=tuple(parser.form_headings),
        prose=prose,
        text=text,
        chars_read=len(read),
        truncated=len(raw) > MAX_BODY_CHARS,
    )


def _heuristics(parser: _Parser, text: str, prose: str) -> dict[str, str]:
    """Answers for fields without a section: labels first, then what the text shows."""
    found = dict(parser.labels)
    for name, answer in parser.heuristic.items():
        found.setdefault(name, answer)
    leftover = "\n".join(parser.leftover).strip()
    if any(c.isalnum() for c in leftover):
        found.setdefault("description", leftover)
    if "python-version" not in found and (pythons := _python_mentions(text)):
        found["python-version"] = ", ".join(pythons)
    if "package-versions" not in found and (pins := _package_pins(text)):
        found["package-versions"] = "\n".join(pins)
    if "affected-versions" not in found and (versions := _version_mentions(prose)):
        found["affected-versions"] = ", ".join(versions)
    if "environment" not in found and (os_name := _OS_RE.search(prose)) is not None:
        found["environment"] = os_name[0]
    if "cve" not in found and (cves := _cves(text)):
        found["cve"] = ", ".join(cves)
    if "fix" not in found and (link := _FIX_LINK_RE.search(prose)) is not None:
        found["fix"] = link[0]
    return found


# --- extraction ----------------------------------------------------------------------


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _cves(text: str) -> tuple[str, ...]:
    return _unique(f"CVE-{m[1]}-{m[2]}" for m in _CVE_RE.finditer(text))


def _after_python(text: str, start: int) -> bool:
    """Whether the version at `start` follows "Python" (then it is not ours)."""
    return _AFTER_PYTHON_RE.search(text[max(0, start - 24) : start]) is not None


def _python_mentions(text: str) -> tuple[str, ...]:
    return _unique(m[1] for m in _PY_MENTION_RE.finditer(text))


def _python_versions(parsed: ParsedIssue) -> tuple[str, ...]:
    answer = parsed.fields.get("python-version", "")
    in_field = (m[1] for m in _BARE_PY_RE.finditer(answer))
    found = _unique([*in_field, *_python_mentions(parsed.text)])
    # "3.11" says nothing that "3.11.4", also given, does not.
    shorter = {w.rsplit(".", 1)[0] for w in found if w.count(".") == 2}
    return tuple(v for v in found if v not in shorter)


def _package_pins(text: str) -> tuple[str, ...]:
    pins: dict[tuple[str, str], str] = {}
    for match in _PKG_PIN_RE.finditer(text):
        _add_pin(pins, match[1], match[2])
    return tuple(pins.values())


def _add_pin(pins: dict[tuple[str, str], str], name: str, version: str) -> None:
    version = version.rstrip(".-_+!")
    canonical = re.sub(r"[-_.]+", "-", name.lower())
    if canonical not in ("python", "cpython", "py") and version:
        pins.setdefault((canonical, version), f"{name}=={version}")


def _package_versions(parsed: ParsedIssue) -> tuple[str, ...]:
    pins: dict[tuple[str, str], str] = {}
    for line in parsed.fields.get("package-versions", "").split("\n"):
        if (match := _PKG_LINE_RE.fullmatch(line)) is not None:
            _add_pin(pins, match[1], match[2])
    for pin in _package_pins(parsed.text):
        name, _, version = pin.partition("==")
        _add_pin(pins, name, version)
    return tuple(pins.values())


def _version_mentions(prose: str) -> tuple[str, ...]:
    """The "X.Y" of versions named as ours: "version 1.4.2", "v1.3", "release-lts/v1.4"."""
    return _unique(
        f"{int(m[1])}.{int(m[2])}"
        for m in _VERSION_MENTION_RE.finditer(prose)
        if not _after_python(prose, m.start())
    )


def _field_versions(answer: str) -> tuple[str, ...]:
    return _unique(
        f"{int(m[1])}.{int(m[2])}"
        for m in _VERSION_RE.finditer(answer)
        if not _after_python(answer, m.start())
    )


def _severity(parsed: ParsedIssue) -> Severity | None:
    match = _SEVERITY_RE.search(parsed.fields.get("severity", ""))
    if match is None:
        return None
    wanted = match[1].lower()
    return next(s for s in SEVERITIES if s == wanted)


def _mentions_regression(text: str) -> bool:
    return any(
        _NEGATION_RE.search(text[max(0, m.start() - 8) : m.start()]) is None
        for m in _REGRESSION_RE.finditer(text)
    )


@lru_cache(maxsize=256)
def _keyword_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = (r"\s+".join(re.escape(part) for part in word.split()) for word in words)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", re.IGNORECASE)


def _keyword_labels(rules: KeywordRules, text: str) -> tuple[str, ...]:
    return tuple(
        label for label, words in rules.items() if words and _keyword_pattern(words).search(text)
    )


# --- decisions -----------------------------------------------------------------------


def detect_kind(parsed: ParsedIssue, labels: Iterable[str] = (), title: str = "") -> FormKind:
    """Which form the issue came from: its labels, then its headings and title; else a bug."""
    names = {label.lower() for label in labels}
    for kind in _KIND_PRIORITY:
        if KIND_LABELS[kind] in names:
            return kind
    if DISCLOSURE_HEADING in parsed.form_headings:
        return "security"
    if FIELD_LABELS["fix"] in parsed.form_headings:
        return "backport"
    start = title.lstrip().lower()
    for kind in _KIND_PRIORITY:
        if start.startswith(TITLE_PREFIXES[kind].lower()):
            return kind
    return "bug"


@dataclass(frozen=True)
class IntakeResult:
    """What intake concludes about one issue: what is missing, what it is about, labels."""

    kind: FormKind
    # Missing required fields: their names as in `intake.required`, and as people read
    # them (the form labels), both in the form's order.
    missing: tuple[str, ...]
    missing_fields: tuple[str, ...]
    cve: tuple[str, ...]
    security: bool
    regression: bool
    python_versions: tuple[str, ...]
    package_versions: tuple[str, ...]
    # "X.Y" of configured lines the issue names, in the config's order; versions named
    # under "Affected versions" that are no configured line, in the order written.
    affects: tuple[str, ...]
    unknown_versions: tuple[str, ...]
    severity_guess: Severity | None
    # Labels added by `intake.keywords` rules, in the config's order ("security" and
    # "regression" rules set the flags instead).
    extra_labels: tuple[str, ...]
    truncated: bool = False

    @property
    def needs_info(self) -> bool:
        return bool(self.missing)

    def labels(self) -> frozenset[str]:
        """Labels this result asks for: needs-info, the security/regression flags, keywords."""
        out = set(self.extra_labels)
        if self.needs_info:
            out.add(NEEDS_INFO_LABEL)
        if self.security:
            out.add(SECURITY_LABEL)
        if self.regression:
            out.add(REGRESSION_LABEL)
        return frozenset(out)

    def comment(self, lines: Sequence[str] = ()) -> str:
        """The needs-info comment for the current state (the resolved text when complete)."""
        return needs_info_comment(self.missing_fields, lines=lines)

    def enrich(self, state: TicketState) -> TicketState:
        """The ticket with intake's findings.

        Fields the reporter controls are replaced on every edit (CVEs, versions, missing
        fields). The security and regression flags are only ever raised here: once set,
        only people clear them. Affected lines are filled in only while triage has not
        set any.
        """
        return replace(
            state,
            cve=self.cve,
            python_versions=self.python_versions,
            package_versions=self.package_versions,
            missing_fields=self.missing_fields,
            security=state.security or self.security,
            regression=state.regression or self.regression,
            affects=state.affects or self.affects,
        )


def evaluate(
    issue_title: str | None,
    body: str | None,
    labels: Iterable[str],
    config: RepoConfig,
    *,
    form_kind: FormKind | None = None,
) -> IntakeResult:
    """Check an issue against the required fields of its kind and extract what it says."""
    title = (issue_title or "")[:MAX_TITLE_CHARS]
    parsed = parse_body(body)
    kind = form_kind or detect_kind(parsed, labels, title)

    required = set(config.intake.required.for_kind(kind))
    order = (*FORM_FIELDS[kind], *(n for n in INTAKE_FIELDS if n not in FORM_FIELDS[kind]))
    missing = tuple(n for n in order if n in required and n not in parsed.fields)

    searchable = f"{title}\n{parsed.prose}"
    extra = _keyword_labels(config.intake.keywords, searchable)
    cves = _unique([*_cves(title), *_cves(parsed.text)])
    checked_regression = bool(parsed.checked.get(REGRESSION_HEADING.lower()))

    configured = [line.version for line in config.lines]
    claimed = _field_versions(parsed.fields.get("affected-versions", ""))
    mentioned = {*claimed, *_version_mentions(f"{title}\n{parsed.prose}")}
    return IntakeResult(
        kind=kind,
        missing=missing,
        missing_fields=tuple(FIELD_LABELS[n] for n in missing),
        cve=cves,
        security=bool(cves) or kind == "security" or SECURITY_LABEL in extra,
        regression=checked_regression
        or _mentions_regression(searchable)
        or REGRESSION_LABEL in extra,
        python_versions=_python_versions(parsed),
        package_versions=_package_versions(parsed),
        affects=tuple(v for v in configured if v in mentioned),
        unknown_versions=tuple(v for v in claimed if v not in configured),
        severity_guess=_severity(parsed),
        extra_labels=tuple(x for x in extra if x not in (SECURITY_LABEL, REGRESSION_LABEL)),
        truncated=parsed.truncated,
    )


def needs_info_comment(missing: Sequence[str], *, lines: Sequence[str] = ()) -> str:
    """The bot's needs-info comment: what is missing and how to add it; resolved if none.

    `missing` holds field names or their labels; `lines` are the configured LTS versions,
    named as a help for "Affected versions".
    """
    if not missing:
        return "\n".join(
            [
                NEEDS_INFO_MARKER,
                "**Thanks, everything needed for triage is here.** "
                f"The `{NEEDS_INFO_LABEL}` label has been removed; triage takes it from here.",
            ]
        )
    by_label = {label: name for name, label in FIELD_LABELS.items()}
    items = []
    for entry in missing:
        name = entry if entry in FIELD_LABELS else by_label.get(entry)
        if name is None:
            items.append(f"- **{entry}**")
            continue
        hint = FIELD_HINTS[name]
        if name == "affected-versions" and lines:
            hint += f"; supported LTS lines: {', '.join(lines)}"
        items.append(f"- **{FIELD_LABELS[name]}**: {hint}")
    example = FIELD_LABELS.get(missing[0], missing[0])
    return "\n".join(
        [
            NEEDS_INFO_MARKER,
            "**More information is needed before this issue can be triaged.** "
            f"{'This is' if len(missing) == 1 else 'These are'} missing:",
            "",
            *items,
            "",
            "Please **edit the issue description** (the ··· menu on it, then *Edit*) and "
            "fill in each of these. If the description has no section for one, add it as "
            "a heading followed by your answer, for example:",
            "",
            "```markdown",
            f"### {example}",
            "",
            "<your answer>",
            "```",
            "",
            f"The `{NEEDS_INFO_LABEL}` label is removed and this comment updated as soon as "
            "everything is there; there is no need to comment.",
        ]
    )
