"""The repository's `.github/lts.yml`: its schema, parsing with line-precise errors, and CLI."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NoReturn, TextIO, get_args, get_origin
from zoneinfo import ZoneInfo

import cachetools
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import ErrorDetails, PydanticCustomError, core_schema
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.ticket import REGRESSION_LABEL, SECURITY_LABEL, is_owned_label

CONFIG_PATH = ".github/lts.yml"
BRANCH_PREFIX = "release-lts/v"

# Limits that keep a hostile or broken file cheap to reject: the size is checked before
# any parsing, and the node count is taken after alias expansion, because a few lines of
# nested aliases ("billion laughs") expand to millions of values during validation.
MAX_CONFIG_BYTES = 64 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (f"{_TAG}{t}" for t in ("str", "null", "bool", "int", "float"))
_TIMESTAMP, _MERGE, _SEQ, _MAP = (f"{_TAG}{t}" for t in ("timestamp", "merge", "seq", "map"))

# Our own pydantic error type: the message is built at render time from `expected`,
# `hint` and the YAML source of the offending value, so it can quote what was written.
_LTS_ERROR = "lts_value"
_DUPLICATE_VERSION = "lts_duplicate_version"


def _value_error(expected: str, hint: str = "", *, quote: bool = False) -> PydanticCustomError:
    return PydanticCustomError(
        _LTS_ERROR, "expected {expected}", {"expected": expected, "hint": hint, "quote": quote}
    )


# --- value types -------------------------------------------------------------------------

_DURATION_RE = re.compile(r"([0-9]{1,4})(h|bd)")
_DURATION_HINT = 'use "4h" (hours) or "3bd" (business days)'


@dataclass(frozen=True)
class Duration:
    """An SLA duration: whole hours ("24h") or business days ("3bd")."""

    amount: int
    unit: Literal["h", "bd"]

    def __post_init__(self) -> None:
        if self.unit not in ("h", "bd") or not 1 <= self.amount <= 9999:
            raise ValueError(f"invalid duration {self.amount!r}{self.unit!r}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse "4h" or "3bd"; raise ValueError otherwise."""
        match = _DURATION_RE.fullmatch(text)
        if match is None or int(match[1]) == 0:
            raise ValueError(f"not a duration: {text!r}; {_DURATION_HINT}")
        return cls(int(match[1]), "h" if match[2] == "h" else "bd")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @classmethod
    def _validate(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        expected = 'a duration such as "24h" or "3bd"'
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise _value_error(expected, f"durations need a unit: {_DURATION_HINT}")
        if not isinstance(value, str):
            raise _value_error(expected)
        try:
            return cls.parse(value)
        except ValueError:
            zero = re.fullmatch(r"0+(h|bd)", value) is not None
            hint = "a duration must be at least 1" if zero else ""
            raise _value_error(expected, hint) from None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": "^[0-9]{1,4}(h|bd)$",
            "description": 'Hours ("24h") or business days ("3bd").',
            "examples": ["4h", "24h", "3bd"],
        }


# GitHub logins: 1-39 letters, digits or hyphens, not starting with a hyphen. Organisations
# follow the same rule. Team slugs are GitHub's slugified team names.
_LOGIN = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"
_SLUG = r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"
_LOGIN_RE = re.compile(_LOGIN)
_SLUG_RE = re.compile(_SLUG)
_ROLE_PATTERN = f"^(@{_LOGIN}/{_SLUG}|@?{_LOGIN})$"
_LOGIN_RULE = "1-39 letters, digits or hyphens, not starting with a hyphen"


@dataclass(frozen=True)
class Role:
    """Who may act in a role: a team ("@org/team-slug") or one user (a login)."""

    org: str | None = None
    team: str | None = None
    login: str | None = None

    def __post_init__(self) -> None:
        is_team = self.org is not None and self.team is not None and self.login is None
        is_user = self.org is None and self.team is None and self.login is not None
        if not (is_team or is_user):
            raise ValueError("a Role is either org and team, or a login")

    @property
    def is_team(self) -> bool:
        return self.team is not None

    @classmethod
    def parse(cls, text: str) -> Role:
        """Parse "@org/team-slug", "login" or "@login"; raise ValueError saying what is wrong."""
        if text.startswith("@") and "/" in text:
            org, _, team = text[1:].partition("/")
            if not _LOGIN_RE.fullmatch(org):
                raise ValueError(f'"{org}" is not a valid organization name ({_LOGIN_RULE})')
            if not team:
                raise ValueError('the team slug after "/" is missing')
            if not _SLUG_RE.fullmatch(team):
                raise ValueError(
                    f'"{team}" is not a valid team slug '
                    "(letters, digits, hyphens or underscores, at most 100)"
                )
            return cls(org=org, team=team)
        if "/" in text:
            raise ValueError(f'a team starts with "@": write "@{text}"')
        login = text.removeprefix("@")
        if not login:
            raise ValueError("the entry is empty")
        if not _LOGIN_RE.fullmatch(login):
            raise ValueError(f'"{login}" is not a valid GitHub login ({_LOGIN_RULE})')
        return cls(login=login)

    @property
    def mention(self) -> str:
        """How GitHub mentions it: "@org/team-slug" or "@login"."""
        return f"@{self.org}/{self.team}" if self.is_team else f"@{self.login}"

    def __str__(self) -> str:
        return f"@{self.org}/{self.team}" if self.is_team else str(self.login)

    @classmethod
    def _validate(cls, value: Any) -> Role:
        if isinstance(value, Role):
            return value
        expected = 'a team "@org/team-slug" or a GitHub login'
        if not isinstance(value, str):
            raise _value_error(expected)
        try:
            return cls.parse(value)
        except ValueError as exc:
            raise _value_error(expected, str(exc)) from None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _ROLE_PATTERN,
            "description": 'A team "@org/team-slug" or a GitHub login.',
            "examples": ["@acme/release", "octocat"],
        }


_VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})")


def _validate_version(value: Any) -> str:
    if isinstance(value, str):
        if _VERSION_RE.fullmatch(value):
            return value
        raise _value_error('a version "X.Y" such as "1.4"')
    # YAML reads an unquoted 1.10 as the float 1.1: only a string keeps what was written.
    raise _value_error('a version in quotes such as "1.4"', quote=True)


Version = Annotated[
    str,
    PlainValidator(_validate_version),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_VERSION_RE.pattern}$",
            "description": 'MAJOR.MINOR, quoted so YAML keeps it a string: "1.10", not 1.10.',
            "examples": ["1.4"],
        }
    ),
]


def _validate_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    expected = "a date such as 2027-06-30"
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise _value_error(expected)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _value_error(expected, str(exc)) from None


Date = Annotated[
    date,
    PlainValidator(_validate_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2027-06-30"]}),
]


def _validate_timezone(value: Any) -> str:
    expected = 'an IANA time zone such as "UTC" or "Europe/Berlin"'
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", value):
        raise _value_error(expected)
    try:
        ZoneInfo(value)
    except Exception:
        # zoneinfo raises KeyError, ValueError or OSError depending on what is on disk
        # under that name; for the user they all mean "not a time zone".
        raise _value_error(expected) from None
    return value


TimeZoneName = Annotated[
    str,
    PlainValidator(_validate_timezone),
    WithJsonSchema({"type": "string", "examples": ["UTC", "Europe/Berlin"]}),
]


def _validate_check_name(value: Any) -> str:
    # Check names are shown in check-run summaries: no control characters.
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise _value_error('a check name such as "ci / test"')
    return value


CheckName = Annotated[
    str,
    PlainValidator(_validate_check_name),
    WithJsonSchema({"type": "string", "minLength": 1, "examples": ["ci / test"]}),
]


class Phase(enum.StrEnum):
    """Where an LTS line is in its life: taking bug fixes, or security fixes only."""

    MAINTENANCE = "maintenance"
    SECURITY_ONLY = "security-only"


# --- models ------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Shown in "expected a mapping such as ..." when a whole section has the wrong shape.
    _example: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        # `roles:` with everything below it commented out reads as null; treat it like an
        # absent key rather than failing, as long as the key has a default.
        if not isinstance(data, dict):
            return data
        optional = set()
        for name, field in cls.model_fields.items():
            if not field.is_required():
                optional.update({name, field.alias or name})
        return {k: v for k, v in data.items() if not (v is None and k in optional)}


class LineConfig(_Model):
    """One supported LTS line, maintained on branch `release-lts/vX.Y`."""

    _example = '{version: "1.4", eol: 2027-06-30}'

    version: Version = Field(description='The line\'s "MAJOR.MINOR", in quotes.')
    eol: Date = Field(description="End of life: the last day the line is supported.")
    phase: Phase = Field(
        Phase.MAINTENANCE,
        description="maintenance: bug and security fixes; security-only: security fixes only.",
    )

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}{self.version}"

    @property
    def label(self) -> str:
        return f"v{self.version}"


_Roles = tuple[Role, ...]

RoleName = Literal["triage", "reviewer", "qa", "release-manager", "security", "eng-lead"]

# Who holds a role when the file lists nobody for it: the lowest repository permission
# that qualifies. Kept here so every feature and the docs agree.
ROLE_DEFAULT_PERMISSION: dict[RoleName, Literal["triage", "write", "maintain"]] = {
    "triage": "triage",
    "reviewer": "write",
    "qa": "maintain",
    "release-manager": "maintain",
    "security": "maintain",
    "eng-lead": "maintain",
}


class RolesConfig(_Model):
    """Who holds each LTS role; an empty list means the default for that role."""

    triage: _Roles = Field((), description="Default: anyone with triage permission or above.")
    reviewer: _Roles = Field((), description="Default: anyone with write permission or above.")
    qa: _Roles = Field((), description="Default: anyone with maintain permission or above.")
    release_manager: _Roles = Field(
        (),
        alias="release-manager",
        description="Default: anyone with maintain permission or above.",
    )
    security: _Roles = Field((), description="Default: anyone with maintain permission or above.")
    eng_lead: _Roles = Field(
        (), alias="eng-lead", description="Default: anyone with maintain permission or above."
    )

    def members(self, role: RoleName) -> tuple[Role, ...]:
        """The entries for a role by its YAML name; empty means ROLE_DEFAULT_PERMISSION."""
        members: tuple[Role, ...] = getattr(self, role.replace("-", "_"))
        return members


class TriageSla(_Model):
    """How long a new request may wait for triage, by severity."""

    critical: Duration = Field(Duration(4, "h"), description="Severity critical.")
    high: Duration = Field(Duration(24, "h"), description="Severity high.")
    medium: Duration = Field(Duration(3, "bd"), description="Severity medium.")
    low: Duration = Field(Duration(3, "bd"), description="Severity low.")


class ReleaseSla(_Model):
    """How long a planned fix may take to ship on every planned line, by severity."""

    critical: Duration = Field(Duration(2, "bd"), description="Severity critical.")
    high: Duration = Field(Duration(5, "bd"), description="Severity high.")
    medium: Duration = Field(Duration(15, "bd"), description="Severity medium.")
    low: Duration = Field(Duration(30, "bd"), description="Severity low.")


class SlaConfig(_Model):
    """Service-level targets and the calendar they are counted in."""

    timezone: TimeZoneName = Field("UTC", description="Time zone for business days.")
    holidays: tuple[Date, ...] = Field((), description="Dates that are not business days.")
    triage: TriageSla = Field(TriageSla(), description="From a new request to its triage.")
    plan: Duration = Field(Duration(3, "bd"), description="From triage to an agreed plan.")
    release: ReleaseSla = Field(
        ReleaseSla(), description="From the agreed plan to the fix merged on every planned line."
    )
    remind_at: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="Remind the owner once when this share of a clock's time is left.",
    )
    escalate_to: RoleName = Field(
        "eng-lead", description="The role mentioned when a clock's deadline passes."
    )
    approval_wait: Duration = Field(
        Duration(1, "bd"),
        description="Remind about missing sign-offs on a green LTS PR after this long.",
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ChecksConfig(_Model):
    """CI requirements for LTS pull requests."""

    required: tuple[CheckName, ...] = Field(
        (), description="CI check names that must be green before the gate."
    )


# --- releases ------------------------------------------------------------------------

TagFormat = Literal["vX.Y.Z", "vX.Y.Z-lts"]
ArtifactKind = Literal["signatures", "sbom"]
_PACKAGE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
CONTACT_MAX_CHARS = 200


def _validate_package(value: Any) -> str:
    expected = 'a Python package name such as "acme-widget"'
    if not isinstance(value, str) or not _PACKAGE_RE.fullmatch(value):
        raise _value_error(expected, "letters, digits, '.', '_' and '-', at most 100 characters")
    return value


PackageName = Annotated[
    str,
    PlainValidator(_validate_package),
    WithJsonSchema({"type": "string", "pattern": _PACKAGE_RE.pattern, "examples": ["acme-widget"]}),
]


def _validate_contact(value: Any) -> str:
    expected = 'an e-mail address or URL such as "security@example.org"'
    if not isinstance(value, str):
        raise _value_error(expected)
    text = value.strip()
    if not text or len(text) > CONTACT_MAX_CHARS or not text.isprintable():
        raise _value_error(expected, f"1-{CONTACT_MAX_CHARS} printable characters")
    return text


Contact = Annotated[
    str,
    PlainValidator(_validate_contact),
    WithJsonSchema(
        {"type": "string", "maxLength": CONTACT_MAX_CHARS, "examples": ["security@example.org"]}
    ),
]


class ReleaseConfig(_Model):
    """How releases of the LTS lines are tagged, checked, announced and watched."""

    tag_format: TagFormat = Field(
        "vX.Y.Z", description='Tag scheme of releases: "vX.Y.Z" or "vX.Y.Z-lts".'
    )
    package: PackageName | None = Field(
        None,
        description="The package users install (pip install --upgrade NAME==X.Y.Z); "
        "default: the repository's name.",
    )
    require_artifacts: tuple[ArtifactKind, ...] = Field(
        (),
        description="Release assets required besides the artifacts and their SHA-256 "
        "checksums: signatures, sbom.",
    )
    monitoring_window: Duration = Field(
        Duration(48, "h"),
        description="How long a published release is watched for regressions before its "
        "tickets are closed.",
    )
    security_contact: Contact | None = Field(
        None,
        description="Contact named in security advisories; default: the repository's "
        "security policy.",
    )

    @field_validator("require_artifacts")
    @classmethod
    def _dedupe(cls, kinds: tuple[ArtifactKind, ...]) -> tuple[ArtifactKind, ...]:
        return tuple(dict.fromkeys(kinds))


# --- intake --------------------------------------------------------------------------

FormKind = Literal["bug", "security", "backport"]
FORM_KINDS: tuple[FormKind, ...] = ("bug", "security", "backport")

# The ticket fields an LTS request can carry (the seed's intake fields), by the names used
# in `intake.required`. bot/policies/intake.py maps them to the issue forms' headings.
INTAKE_FIELDS: tuple[str, ...] = (
    "description",
    "reproduction",
    "logs",
    "environment",
    "python-version",
    "package-versions",
    "affected-versions",
    "severity",
    "cve",
    "test-case",
    "fix",
)

DEFAULT_REQUIRED_FIELDS: dict[FormKind, tuple[str, ...]] = {
    "bug": (
        "description",
        "reproduction",
        "logs",
        "environment",
        "python-version",
        "package-versions",
        "affected-versions",
        "severity",
    ),
    "security": (
        "description",
        "reproduction",
        "python-version",
        "package-versions",
        "affected-versions",
        "severity",
    ),
    "backport": ("description", "fix", "affected-versions", "severity"),
}

# GitHub's own limit on label names.
LABEL_MAX_CHARS = 50
KEYWORD_MAX_CHARS = 100


def _validate_label_name(value: Any) -> str:
    expected = f"a label name of 1-{LABEL_MAX_CHARS} characters without commas"
    if not isinstance(value, str):
        raise _value_error(expected)
    name = value.strip()
    if not name:
        raise _value_error(expected, "the name is empty")
    if len(name) > LABEL_MAX_CHARS:
        raise _value_error(
            expected, f"it has {len(name)} characters; GitHub allows at most {LABEL_MAX_CHARS}"
        )
    if "," in name:
        raise _value_error(expected, "GitHub label names cannot contain commas")
    if not name.isprintable():
        raise _value_error(expected, "it contains a control character")
    if is_owned_label(name) and name not in (SECURITY_LABEL, REGRESSION_LABEL):
        # A keyword must not set state the bot owns ("triage/backport" would read as a
        # triage decision); the two flags are the exception, they are what keywords are for.
        raise _value_error(
            expected,
            f"{_quote(name)} is managed by lts-bot itself; keyword rules may set "
            f'"{SECURITY_LABEL}", "{REGRESSION_LABEL}" or labels of your own',
        )
    return name


LabelName = Annotated[
    str,
    PlainValidator(_validate_label_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": LABEL_MAX_CHARS,
            "examples": ["data-loss"],
        }
    ),
]


def _validate_keyword(value: Any) -> str:
    expected = 'a word or phrase such as "data loss"'
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _value_error(expected, f'write it in quotes: "{value}"')
    if not isinstance(value, str):
        raise _value_error(expected)
    text = " ".join(value.split())
    if not text:
        raise _value_error(expected, "the entry is empty")
    if len(text) > KEYWORD_MAX_CHARS:
        raise _value_error(expected, f"at most {KEYWORD_MAX_CHARS} characters")
    if not text.isprintable():
        raise _value_error(expected, "it contains a control character")
    return text


Keyword = Annotated[
    str,
    PlainValidator(_validate_keyword),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": KEYWORD_MAX_CHARS, "examples": ["crash"]}
    ),
]


class KeywordRules(Mapping[str, tuple[str, ...]]):
    """`intake.keywords`: label name -> words that add it, in file order; hashable."""

    def __init__(self, rules: Mapping[str, Sequence[str]] | None = None) -> None:
        self._rules: dict[str, tuple[str, ...]] = {
            label: tuple(words) for label, words in (rules or {}).items()
        }

    def __getitem__(self, label: str) -> tuple[str, ...]:
        return self._rules[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __hash__(self) -> int:
        # The config is frozen and hashed; a plain dict would make it unhashable.
        return hash(frozenset(self._rules.items()))

    def __repr__(self) -> str:
        return f"KeywordRules({self._rules!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Validate as a plain mapping, so errors point at the offending key or word.
        return core_schema.no_info_after_validator_function(
            cls,
            handler.generate_schema(dict[LabelName, tuple[Keyword, ...]]),
            serialization=core_schema.plain_serializer_function_ser_schema(dict),
        )


def _validate_intake_field(value: Any) -> str:
    if isinstance(value, str) and value in INTAKE_FIELDS:
        return value
    hint = f"the fields are: {', '.join(INTAKE_FIELDS)}"
    if isinstance(value, str):
        spelled = "-".join(value.lower().replace("_", " ").split())
        if spelled in INTAKE_FIELDS:
            hint = f'write "{spelled}"; {hint}'
    raise _value_error("a ticket field name", hint)


IntakeField = Annotated[
    str,
    PlainValidator(_validate_intake_field),
    WithJsonSchema({"type": "string", "enum": list(INTAKE_FIELDS)}),
]


class IntakeRequired(_Model):
    """The ticket fields each kind of request must fill in before it can be triaged."""

    bug: tuple[IntakeField, ...] = Field(
        DEFAULT_REQUIRED_FIELDS["bug"], description="Bug reports (and free-form issues)."
    )
    security: tuple[IntakeField, ...] = Field(
        DEFAULT_REQUIRED_FIELDS["security"], description="Reports of public vulnerabilities."
    )
    backport: tuple[IntakeField, ...] = Field(
        DEFAULT_REQUIRED_FIELDS["backport"], description="Requests to backport a fix."
    )

    @field_validator("bug", "security", "backport")
    @classmethod
    def _dedupe(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fields))

    def for_kind(self, kind: FormKind) -> tuple[str, ...]:
        """The required fields for a kind of request, in the order they were listed."""
        fields: tuple[str, ...] = getattr(self, kind)
        return fields


class IntakeConfig(_Model):
    """How new LTS requests are checked for required fields and labelled."""

    keywords: KeywordRules = Field(
        KeywordRules(),
        description="Label name -> words or phrases that add it (case-insensitive, whole "
        "words, outside code).",
    )
    required: IntakeRequired = Field(
        IntakeRequired(), description="Required ticket fields per kind of request."
    )


class RepoConfig(_Model):
    """The whole `.github/lts.yml`; every key is optional."""

    lines: tuple[LineConfig, ...] = Field((), description="Supported LTS lines.")
    roles: RolesConfig = RolesConfig()
    sla: SlaConfig = SlaConfig()
    checks: ChecksConfig = ChecksConfig()
    intake: IntakeConfig = IntakeConfig()
    release: ReleaseConfig = ReleaseConfig()

    @field_validator("lines")
    @classmethod
    def _unique_versions(cls, lines: tuple[LineConfig, ...]) -> tuple[LineConfig, ...]:
        seen: set[str] = set()
        for line in lines:
            if line.version in seen:
                raise PydanticCustomError(
                    _DUPLICATE_VERSION, "duplicate version {version}", {"version": line.version}
                )
            seen.add(line.version)
        return lines

    def line(self, version: str) -> LineConfig | None:
        """The line for "1.4" (or "v1.4"), if it is configured."""
        wanted = version.removeprefix("v")
        return next((line for line in self.lines if line.version == wanted), None)

    def line_for_branch(self, branch: str) -> LineConfig | None:
        """The line maintained on `release-lts/v1.4` (a `refs/heads/` prefix is fine)."""
        name = branch.removeprefix("refs/heads/")
        if not name.startswith(BRANCH_PREFIX):
            return None
        return self.line(name.removeprefix(BRANCH_PREFIX))


DEFAULT_CONFIG = RepoConfig()


# --- problems ----------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def format_key(loc: Loc) -> str:
    """Render a location as the YAML key path users see: `lines[1].version`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the file, where it is (1-based) and what to do about it."""

    line: int | None
    key: str
    message: str
    column: int | None = None

    def render(self, path: str) -> str:
        where = path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        line = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return _printable(line)


def _printable(text: str) -> str:
    # Values quoted from the file can hold escapes ("\x1b", "\ud800") that would garble a
    # terminal or make the check-run request unencodable; show them escaped instead.
    text = text.replace("\n", " ")
    return re.sub(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]", lambda m: f"\\u{ord(m[0]):04x}", text)


class ConfigError(Exception):
    """The file cannot be used; `problems` lists everything wrong with it, in file order."""

    def __init__(self, path: str, problems: Iterable[ConfigProblem]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(problem.render(self.path) for problem in self.problems)


def _refuse(
    path: str, message: str, line: int | None = None, column: int | None = None
) -> NoReturn:
    raise ConfigError(path, [ConfigProblem(line, "", message, column)])


# --- YAML --------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer stops at MAX_DEPTH instead of exhausting the stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                # The parser has already peeked at the event that starts this node.
                event = self.current_event
                mark = event.start_mark if event is not None else self.get_mark()
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_DEPTH} levels deep",
                    mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, path: str) -> Node | None:
    loader: _Loader | None = None
    try:
        # The reader checks for unprintable characters already in the constructor.
        loader = _Loader(text)
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
        if exc.problem and exc.context:
            # PyYAML splits a message in two: "while parsing a flow sequence" is where it
            # was, "expected a single document in the stream" is what it wanted.
            if not exc.context.startswith("while"):
                message = f"invalid YAML: {exc.context}, {exc.problem}"
            elif exc.context_mark is not None and exc.context_mark != exc.problem_mark:
                message += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        if exc.problem and re.search(r"'[@`]' that cannot start any token", exc.problem):
            # The usual cause is an unquoted team such as @acme/qa.
            message += '; quote values that start with "@" or "`", e.g. "@acme/qa"'
        elif exc.problem and "'\\t'" in exc.problem:
            message += "; indent with spaces, YAML does not allow tabs there"
        if mark is None:
            _refuse(path, message)
        else:
            _refuse(path, message, mark.line + 1, mark.column + 1)
    except yaml.reader.ReaderError as exc:
        position = int(exc.position)
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        _refuse(
            path,
            f"invalid YAML: the character U+{int(exc.character):04X} is not allowed in YAML",
            line,
            column,
        )
    except yaml.YAMLError as exc:
        _refuse(path, f"invalid YAML: {exc}")
    except RecursionError:
        # Defensive: the depth limit above should stop this first.
        _refuse(path, f"invalid YAML: nested more than {MAX_DEPTH} levels deep")
    finally:
        if loader is not None:
            loader.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _measure(root: Node, path: str) -> None:
    """Refuse cyclic aliases and documents too big or deep once aliases are expanded."""
    done: dict[int, tuple[int, int]] = {}  # id -> (expanded size, expanded height)
    active: set[int] = set()

    def visit(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in done:
            size, height = done[key]
        else:
            if key in active:
                _refuse(path, "an alias refers to a node that contains it", _line(node))
            active.add(key)
            size, height = 1, 1
            for child in _children(node):
                child_size, child_height = visit(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_NODES:
                    break
            active.discard(key)
            done[key] = (size, height)
        if size > MAX_NODES:
            _refuse(
                path,
                f"the document has more than {MAX_NODES:,} values once aliases are expanded; "
                "lts-bot refuses it",
            )
        if depth + height > MAX_DEPTH:
            _refuse(
                path,
                f"the document is nested more than {MAX_DEPTH} levels deep "
                "once aliases are expanded",
            )
        return size, height

    visit(root, 0)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Invalid:
    """Stands in for a value already reported as a problem, so validation skips it."""


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALAR_CONSTRUCTORS: dict[str, Callable[[Any, Node], Any]] = {
    tag: yaml.constructor.SafeConstructor.yaml_constructors[tag]
    for tag in (_NULL, _BOOL, _INT, _FLOAT)
}


class _Converter:
    """Turns composed YAML into plain data, noting problems PyYAML would hide or crash on."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.invalid: list[Loc] = []
        self._reported: set[tuple[int, str]] = set()

    def _problem(self, node: Node, loc: Loc, message: str, *, invalid: bool = False) -> None:
        # An aliased node is visited once per use; report what is wrong with it once.
        if (id(node), message) in self._reported:
            return
        self._reported.add((id(node), message))
        self.problems.append(ConfigProblem(_line(node), format_key(loc), message))
        if invalid:
            self.invalid.append(loc)

    def convert(self, node: Node, loc: Loc) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node, loc)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return [self.convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode) and node.tag == _MAP:
            return self._mapping(node, loc)
        self._problem(node, loc, f"unsupported YAML tag {_short_tag(node.tag)}", invalid=True)
        return _Invalid()

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._problem(
                    key_node, loc, "merge keys (<<) are not supported; write the keys out in full"
                )
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, loc, "a key must be a plain name, not a list or mapping")
                continue
            name = str(key_node.value)
            if name in first:
                self._problem(
                    key_node,
                    (*loc, name),
                    f"duplicate key {_quote(name)}; it is already set on line {_line(first[name])}",
                )
            else:
                first[name] = key_node
            # Like YAML loaders, the last occurrence wins; it is still validated.
            out[name] = self.convert(value_node, (*loc, name))
        return out

    def _scalar(self, node: ScalarNode, loc: Loc) -> Any:
        if node.tag == _STR:
            return node.value
        if node.tag == _TIMESTAMP:
            # Dates are checked by the schema, which gives a precise message, where PyYAML
            # raises a bare ValueError for 2027-02-30.
            return node.value
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:
            self._problem(node, loc, f"unsupported YAML tag {_short_tag(node.tag)}", invalid=True)
            return _Invalid()
        try:
            return construct(_CONSTRUCTOR, node)
        except (ValueError, KeyError, TypeError, yaml.YAMLError):
            kind = node.tag.removeprefix(_TAG)
            self._problem(node, loc, f"{_quote(node.value)} is not a valid {kind}", invalid=True)
            return _Invalid()


def _duplicate_versions(data: dict[str, Any], root: Node) -> list[ConfigProblem]:
    lines = data.get("lines")
    if not isinstance(lines, list):
        return []
    first: dict[str, int] = {}
    problems = []
    for i, item in enumerate(lines):
        version = item.get("version") if isinstance(item, dict) else None
        if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
            continue
        if version in first:
            loc: Loc = ("lines", i, "version")
            earlier = _node_at(root, ("lines", first[version], "version"))[0]
            problems.append(
                ConfigProblem(
                    _line(_node_at(root, loc)[0]),
                    format_key(loc),
                    f'duplicate version "{version}"; it is already listed on line {_line(earlier)}',
                )
            )
        else:
            first[version] = i
    return problems


# --- mapping pydantic errors to the YAML source ------------------------------------------


def _node_at(root: Node, loc: Loc, *, key: bool = False) -> tuple[Node, bool]:
    """The node at `loc` (its key node if `key`), or the deepest one on the way.

    The flag says whether the whole path was found; if not, the node is the mapping or
    list where the path stopped (for a missing key, the mapping that lacks it).
    """
    node = root
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(node, MappingNode) and isinstance(part, str):
            pairs = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part]
            if not pairs:
                return node, False
            key_node, value_node = pairs[-1]
            if last and key:
                return key_node, True
            node = value_node
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node, False
    return node, True


def _quote(text: str, limit: int = 60) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _describe_node(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    value = str(node.value)
    if node.tag == _STR:
        return _quote(value)
    if node.tag == _NULL:
        return "nothing" if value in ("", "~") else value
    return value if len(value) <= 60 else _quote(value)


def _describe_value(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _annotation_at(loc: Loc) -> Any:
    """The declared type at `loc` in RepoConfig, or None if the path leaves the schema."""
    current: Any = RepoConfig
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (tuple, list) and isinstance(part, int):
            current = get_args(current)[0]
        else:
            return None
    return _unwrap(current)


def _allowed_keys(model: type[BaseModel]) -> str:
    return ", ".join(field.alias or name for name, field in model.model_fields.items())


def _message(error: ErrorDetails, node: Node | None) -> str:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = _describe_node(node) if node is not None else _describe_value(error["input"])
    if kind == "extra_forbidden":
        parent = _annotation_at(loc[:-1])
        allowed = _allowed_keys(parent) if isinstance(parent, type) else ""
        return f"unknown key {_quote(str(loc[-1]))}; expected one of: {allowed}"
    if kind == "missing":
        return f'missing required key "{loc[-1]}"'
    if kind == _LTS_ERROR:
        message = f"expected {ctx['expected']}, got {got}"
        hint = str(ctx.get("hint") or "")
        if ctx.get("quote") and isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            name = loc[-1] if loc and isinstance(loc[-1], str) else "version"
            hint = f'YAML reads {node.value} as a number, so write {name}: "{node.value}"'
        return f"{message}; {hint}" if hint else message
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _annotation_at(loc)
        example = getattr(model, "_example", None) if isinstance(model, type) else None
        shape = f"a mapping such as {example}" if isinstance(example, str) else "a mapping"
        return f"expected {shape}, got {got}"
    if kind in ("tuple_type", "list_type"):
        message = f"expected a list, got {got}"
        if isinstance(error["input"], str):
            message += f"; write it as a list: [{_quote(error['input'])}]"
        return message
    if kind == "enum":
        enum_type = _annotation_at(loc)
        if isinstance(enum_type, type) and issubclass(enum_type, enum.Enum):
            allowed = ", ".join(f'"{member.value}"' for member in enum_type)
            return f"expected one of {allowed}, got {got}"
    if kind == "string_type":
        return f"expected a string, got {got}"
    text = error["msg"]
    return f"{text[:1].lower()}{text[1:]}, got {got}"


def _problems_from(exc: ValidationError, root: Node, skip: Sequence[Loc]) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        if error["type"] == _DUPLICATE_VERSION:
            continue  # reported with precise lines by _duplicate_versions
        if any(loc[: len(prefix)] == prefix for prefix in skip):
            continue  # already reported by the converter
        key_error = error["type"] == "extra_forbidden"
        if loc and loc[-1] == "[key]":
            # pydantic names a bad mapping key (a label in `intake.keywords`) this way.
            loc, key_error = loc[:-1], True
        node, found = _node_at(root, loc, key=key_error)
        problems.append(
            ConfigProblem(_line(node), format_key(loc), _message(error, node if found else None))
        )
    return problems


# --- parsing -----------------------------------------------------------------------------


def parse_repo_config(text: str | bytes, path: str = CONFIG_PATH) -> RepoConfig:
    """Parse and validate the file's contents; raise ConfigError listing every problem."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        _refuse(
            path,
            f"the file is {size:,} bytes; the limit is {MAX_CONFIG_BYTES:,} bytes (64 KiB)",
        )
    if isinstance(text, bytes):
        try:
            source = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text.count(b"\n", 0, exc.start) + 1
            column = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
            _refuse(
                path,
                f"the file is not valid UTF-8 (byte 0x{text[exc.start]:02x}); save it as UTF-8",
                line,
                column,
            )
    else:
        source = text

    root = _compose(source, path)
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        return DEFAULT_CONFIG  # empty, only comments, or a bare "---"
    _measure(root, path)
    if not isinstance(root, MappingNode):
        _refuse(
            path,
            f"expected a mapping with keys such as {_allowed_keys(RepoConfig)} "
            f"at the top level, got {_describe_node(root)}",
            _line(root),
        )
    converter = _Converter()
    data = converter.convert(root, ())
    problems = converter.problems
    if isinstance(data, dict):
        problems += _duplicate_versions(data, root)
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as exc:
        problems += _problems_from(exc, root, converter.invalid)
    if problems:
        raise ConfigError(path, problems)
    return config


class _JsonSchema(GenerateJsonSchema):
    def encode_default(self, dft: Any) -> Any:
        # Pydantic encodes dataclass defaults field by field ({"amount": 3, ...}); editors
        # should show what a user writes in the file.
        if isinstance(dft, Duration | Role):
            return str(dft)
        return super().encode_default(dft)


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of `.github/lts.yml` for editors, with the YAML key names."""
    schema = RepoConfig.model_json_schema(by_alias=True, schema_generator=_JsonSchema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lts-bot repository configuration (.github/lts.yml)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


# --- results and caching -----------------------------------------------------------------


@dataclass(frozen=True)
class ConfigResult:
    """What loading a repository's config gave; `config` is the defaults when invalid."""

    config: RepoConfig
    error: ConfigError | None
    source: Literal["file", "absent", "invalid"]
    blob_sha: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


# A blob sha names exact content, so a cached result never goes stale; the bound only
# caps memory across many repositories.
_RESULTS: cachetools.LRUCache[tuple[str, str], ConfigResult] = cachetools.LRUCache(maxsize=512)


def config_from_text(
    text: bytes | str | None, blob_sha: str | None, *, path: str = CONFIG_PATH
) -> ConfigResult:
    """Turn the file's contents (None when the file is absent) into a ConfigResult."""
    if text is None:
        return ConfigResult(DEFAULT_CONFIG, None, "absent", None)
    key = (blob_sha, path) if blob_sha else None
    if key is not None and (cached := _RESULTS.get(key)) is not None:
        return cached
    try:
        result = ConfigResult(parse_repo_config(text, path), None, "file", blob_sha)
    except ConfigError as exc:
        # Drop the traceback so a cached error does not keep parser frames alive.
        result = ConfigResult(DEFAULT_CONFIG, exc.with_traceback(None), "invalid", blob_sha)
    if key is not None:
        _RESULTS[key] = result
    return result


# --- command line ------------------------------------------------------------------------


def check_config_file(path: Path, out: TextIO) -> int:
    """`lts-bot check-config PATH`: print a summary or every problem; 0 if valid, else 1."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        out.write(f"{name}: cannot read the file: {exc.strerror or exc}\n")
        return 1
    try:
        config = parse_repo_config(data, name)
    except ConfigError as exc:
        out.write(exc.render() + "\n")
        return 1
    count = len(config.lines)
    if count == 0:
        out.write(f"{name}: OK (no LTS lines)\n")
    else:
        labels = ", ".join(line.label for line in config.lines)
        out.write(f"{name}: OK ({count} line{'s' if count != 1 else ''}: {labels})\n")
    return 0


def print_config_schema(out: TextIO) -> int:
    """`lts-bot config-schema`: print the JSON Schema, indented."""
    out.write(json.dumps(config_json_schema(), indent=2) + "\n")
    return 0
