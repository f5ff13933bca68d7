"""Checks HTTP exchanges against GitHub's published REST contract (github-openapi.json).

The contract is extracted from GitHub's OpenAPI 3.0 description by
scripts/update-github-contract. Every request is matched to an operation by method and
path; JSON request bodies and JSON responses are validated against the operation's
schemas (OpenAPI 3.0 converted to JSON Schema 2020-12). A `ContractChecker` is callable,
so it can observe a sandbox directly: `sandbox.observe(checker)`. Known defects of the
pinned description (ERRATA) are corrected as the contract is loaded.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT_FILE = Path(__file__).with_name("github-openapi.json")
OPERATIONS_FILE = Path(__file__).with_name("operations.txt")
_URI = "urn:lts-bot:github-openapi"

# Statuses GitHub answers on any endpoint (auth, permissions, missing things, conflicts,
# validation, outages) whether or not the description lists them for that operation.
GENERIC_ERRORS = frozenset({401, 403, 404, 409, 422, 500, 502, 503})
# What every GitHub error body carries, whatever the endpoint.
BASIC_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["message", "documentation_url"],
    "properties": {
        "message": {"type": "string"},
        "documentation_url": {"type": "string"},
        "url": {"type": "string"},
        "status": {"type": "string"},
    },
}
# Path parameters that may hold slashes: a file path, a branch or tag (`release-lts/v1.2`),
# `base...head` naming such branches, and label names (`lts/approved`). Requests reach the
# checker with their path decoded, so an escaped slash in a label name looks like a real one.
GREEDY: dict[str, frozenset[str]] = {
    "path": frozenset({"/repos/{owner}/{repo}/contents/{path}"}),
    "ref": frozenset(),  # every `{ref}`: git refs, matching-refs, commits/{ref}/...
    "basehead": frozenset(),
    "branch": frozenset(),
    "tag": frozenset(),
    "name": frozenset(
        {
            "/repos/{owner}/{repo}/labels/{name}",
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        }
    ),
}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_MAX_MESSAGE = 300


class ExchangeLike(Protocol):
    """What the checker reads from an exchange (bot.sandbox.Exchange fits)."""

    @property
    def method(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def request_body(self) -> bytes: ...
    @property
    def status(self) -> int: ...
    @property
    def response_body(self) -> bytes: ...
    @property
    def injected(self) -> bool: ...


# --- OpenAPI 3.0 -> JSON Schema 2020-12 ---------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """Convert an OpenAPI 3.0 schema: `nullable` admits null, `$ref`s point into the registry.

    `format` stays (validators only annotate it unless given a format checker);
    readOnly, writeOnly, discriminator and x-* are dropped: they do not constrain data.
    """
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "readOnly", "writeOnly", "discriminator", "example", "xml"):
            continue
        if key.startswith("x-"):
            continue
        if key == "$ref":
            out[key] = _URI + value
        elif key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("enum", "default", "required", "const"):
            out[key] = value
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable") is True:
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"] if "null" not in kinds else kinds
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            # allOf/oneOf/$ref with nullable: the combinators would reject null themselves.
            out = {"anyOf": [{"type": "null"}, out]}
    return out


# --- the contract --------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One GitHub operation: how to recognise its requests and its schemas."""

    method: str
    path: str
    operation_id: str
    pattern: re.Pattern[str]
    greedy: int
    literal: int
    request: Mapping[str, Any] | None
    responses: Mapping[str, Mapping[str, Any]]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def response_schema(self, status: int) -> tuple[str | None, Any]:
        """(documented status key, JSON schema or None), or (None, None) if undocumented."""
        for key in (str(status), f"{status // 100}XX", "default"):
            documented = self.responses.get(key)
            if documented is not None:
                schemas = documented.get("schemas") or {}
                if not schemas:
                    return key, None
                return key, schemas.get("application/json", schemas[min(schemas)])
        return None, None


def _compile(path: str) -> tuple[re.Pattern[str], int, int]:
    pattern = ""
    greedy = 0
    position = 0
    for match in _PARAM.finditer(path):
        pattern += re.escape(path[position : match.start()])
        name = match.group(1)
        only = GREEDY.get(name)
        if only is not None and (not only or path in only):
            greedy += 1
            if name == "path" and pattern.endswith("/"):
                # GET .../contents (the root directory) is the same operation with path "".
                pattern = pattern[:-1] + "(?:/.*)?"
            else:
                pattern += ".+"
        else:
            pattern += "[^/]+"
        position = match.end()
    pattern += re.escape(path[position:])
    literal = len(_PARAM.sub("", path))
    return re.compile(pattern + r"\Z"), greedy, literal


@dataclass(frozen=True)
class Erratum:
    """A defect of the pinned description, corrected when the contract is loaded.

    `where` leads from an operation's 200 JSON response schema to the node whose
    `allOf` GitHub's own component schema spells `anyOf`: no real answer could match every
    alternative at once. A test checks that each erratum still applies to the committed
    file, so one fixed upstream is dropped when the pinned version is bumped.
    """

    operation: str
    where: tuple[str, ...]
    why: str

    def node(self, document: Mapping[str, Any]) -> Any:
        node: Any = document["operations"].get(self.operation, {})
        for key in ("responses", "200", "schemas", "application/json", *self.where):
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        return node

    def applies(self, document: Mapping[str, Any]) -> bool:
        node = self.node(document)
        return isinstance(node, Mapping) and "allOf" in node

    def correct(self, document: dict[str, Any]) -> None:
        node = self.node(document)
        if isinstance(node, dict) and "allOf" in node:
            node["anyOf"] = node.pop("allOf")


ERRATA = (
    Erratum(
        "GET /app/installations",
        ("items", "properties", "account"),
        "@octokit/openapi inlines the `installation` schema here with its account as allOf "
        "[simple-user, enterprise]; the component (and GitHub) has anyOf: a user or an "
        "enterprise, never both at once.",
    ),
)


def corrected(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `document` with the ERRATA corrected."""
    fixed: dict[str, Any] = copy.deepcopy(dict(document))
    for erratum in ERRATA:
        erratum.correct(fixed)
    return fixed


class Contract:
    """The extracted operations, with compiled path patterns and cached validators."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        document = corrected(document)
        self.document = document
        self.operations: dict[str, Operation] = {}
        for key, op in document["operations"].items():
            pattern, greedy, literal = _compile(op["path"])
            self.operations[key] = Operation(
                method=op["method"],
                path=op["path"],
                operation_id=op["operationId"],
                pattern=pattern,
                greedy=greedy,
                literal=literal,
                request=op.get("requestBody"),
                responses=op.get("responses", {}),
            )
        schemas = document["components"]["schemas"]
        components = {
            "components": {"schemas": {name: to_json_schema(s) for name, s in schemas.items()}}
        }
        self.registry: Registry[Any] = Registry().with_resource(
            _URI, Resource.from_contents(components, default_specification=DRAFT202012)
        )
        self._resolver = self.registry.resolver()
        self._validators: dict[tuple[str, ...], Draft202012Validator] = {}
        self._by_method: dict[str, list[Operation]] = {}
        for op in self.operations.values():
            self._by_method.setdefault(op.method, []).append(op)
        for ops in self._by_method.values():
            # Fixed segments win over parameters that may hold slashes:
            # commits/{ref}/check-runs before commits/{ref}.
            ops.sort(key=lambda o: (o.greedy, -o.literal, o.path))

    @classmethod
    def load(cls, path: Path = CONTRACT_FILE) -> Contract:
        return cls(json.loads(path.read_text()))

    def match(self, method: str, path: str, endpoint: str | None = None) -> Operation | None:
        """The operation a request is for; `endpoint` (a route template) is a hint."""
        candidates = self._by_method.get(method.upper(), [])
        if endpoint:
            template = _PARAM.sub(r"{\1}", endpoint)
            hinted = self.operations.get(f"{method.upper()} {template}")
            if hinted is not None and hinted.pattern.match(path):
                return hinted
        return next((op for op in candidates if op.pattern.match(path)), None)

    def resolve(self, ref: str) -> Any:
        """The schema a converted `$ref` points at."""
        return self._resolver.lookup(ref).contents

    def validator(self, key: tuple[str, ...], schema: Any) -> Draft202012Validator:
        found = self._validators.get(key)
        if found is None:
            found = self._validators[key] = Draft202012Validator(
                to_json_schema(schema), registry=self.registry
            )
        return found


@functools.cache
def load_contract() -> Contract:
    """The committed contract, parsed once per process."""
    return Contract.load()


def listed_operations(path: Path = OPERATIONS_FILE) -> list[str]:
    """`METHOD /path` lines of operations.txt, in order (comments and blanks skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [" ".join(line.split()) for line in lines if line]


# --- describing failures -------------------------------------------------------------------


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


Resolve = Callable[[str], Any]


def _branch_schema(schema: Any, resolve: Resolve) -> Any:
    for _ in range(20):
        if not (isinstance(schema, dict) and "$ref" in schema):
            break
        schema = resolve(schema["$ref"])
    return schema


def _closest_branch(error: ValidationError, resolve: Resolve) -> list[ValidationError]:
    """The errors of the anyOf/oneOf alternative the instance was meant to match.

    An alternative rejected outright for its type (an object where it wants null) is not
    it; among the rest, the one declaring most of the instance's keys is, then the one
    with the fewest errors.
    """
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    meant = {
        branch: errors
        for branch, errors in branches.items()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    } or branches
    if not meant:
        return []
    keys = set(error.instance) if isinstance(error.instance, dict) else set()

    def rank(branch: int) -> tuple[int, int]:
        schema = _branch_schema(error.validator_value[branch], resolve)
        declared = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return -len(keys & set(declared)), len(meant[branch])

    return meant[min(meant, key=rank)]


def _flatten(errors: Iterable[ValidationError], resolve: Resolve) -> list[ValidationError]:
    out: list[ValidationError] = []
    for error in errors:
        closest = _closest_branch(error, resolve) if error.validator in ("anyOf", "oneOf") else []
        out += _flatten(closest, resolve) if closest else [error]
    return out


def _describe(errors: Iterable[ValidationError], resolve: Resolve) -> list[str]:
    """One line per problem, missing properties of one object on one line."""
    missing: dict[str, list[str]] = {}
    lines: list[str] = []
    flat = _flatten(errors, resolve)
    # A value of the wrong type also misses its enum: the type says it all.
    mistyped = {e.json_path for e in flat if e.validator == "type"}
    for error in flat:
        where = error.json_path
        if error.validator == "enum" and where in mistyped:
            continue
        value = error.instance
        if error.validator == "required":
            wanted = [
                p for p in error.validator_value if isinstance(value, dict) and p not in value
            ]
            missing.setdefault(where, []).extend(wanted)
            continue
        wants = f"schema wants {error.validator} {_show(error.validator_value)}"
        if error.validator == "type":
            text = f"{where}: got {_kind(value)} {_show(value)}, {wants}"
        elif error.validator == "enum":
            choices = json.dumps(error.validator_value)
            text = f"{where}: got {_show(value)}, schema wants one of {choices}"
        elif error.validator in ("maxLength", "minLength", "maxItems", "minItems"):
            text = f"{where}: length {len(value)}, {wants}"
        elif error.validator == "additionalProperties" and isinstance(value, dict):
            declared = set(error.schema.get("properties", {}))
            extra = sorted(k for k in value if k not in declared)
            text = f"{where}: unexpected properties {', '.join(extra)}, {wants}"
        elif error.validator == "oneOf":
            text = f"{where}: {_show(value)} matches more than one oneOf alternative"
        else:
            text = f"{where}: {error.message}, {wants}"
        lines.append(_short(text))
    for where, names in missing.items():
        unique = sorted(set(names))
        noun = "property" if len(unique) == 1 else "properties"
        lines.append(f"{where}: missing required {noun} {', '.join(unique)}")
    return sorted(set(lines))


def _errors(validator: Draft202012Validator, instance: Any, resolve: Resolve) -> list[str]:
    return _describe(validator.iter_errors(instance), resolve)


# --- the checker ---------------------------------------------------------------------------


@dataclass
class ContractChecker:
    """Validates exchanges against the contract; as an observer, accumulates `violations`.

    Tests that send GitHub a request it would refuse, on purpose (to see the sandbox refuse
    it too), wrap those calls in `expect_invalid_requests()`: the request's violations go
    to `tolerated` instead, while the answer is still checked.
    """

    contract: Contract = field(default_factory=load_contract)
    base_path: str = ""
    violations: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)
    _expecting_invalid: int = field(default=0, repr=False)

    def __call__(self, exchange: ExchangeLike) -> None:
        request, response = self._problems(exchange)
        if self._expecting_invalid:
            self.tolerated += request
            self.violations += response
        else:
            self.violations += request + response

    @contextlib.contextmanager
    def expect_invalid_requests(self) -> Iterator[None]:
        self._expecting_invalid += 1
        try:
            yield
        finally:
            self._expecting_invalid -= 1

    def check(self, exchange: ExchangeLike) -> list[str]:
        """Every way this request or its answer departs from GitHub's description."""
        request, response = self._problems(exchange)
        return request + response

    def _problems(self, exchange: ExchangeLike) -> tuple[list[str], list[str]]:
        method = exchange.method.upper()
        path = exchange.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :] or "/"
        op = self.contract.match(method, path, exchange.endpoint)
        if op is None:
            return [f"no GitHub operation matches {method} {path}"], []
        where = f"{method} {path} ({op.operation_id}, {op.method} {op.path})"
        return (
            [f"{where}: {problem}" for problem in self._request(op, exchange)],
            [f"{where}: {problem}" for problem in self._response(op, exchange)],
        )

    def _request(self, op: Operation, exchange: ExchangeLike) -> list[str]:
        body = op.request
        if body is None:
            return []
        raw = exchange.request_body
        if not raw.strip():
            return ["request: a JSON body is required"] if body.get("required") else []
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return [f"request: body is not JSON ({exc})"]
        schema = body.get("schema")
        if schema is None:
            return []
        validator = self.contract.validator((op.key, "request"), schema)
        return [
            f"request body {problem}" for problem in _errors(validator, data, self.contract.resolve)
        ]

    def _response(self, op: Operation, exchange: ExchangeLike) -> list[str]:
        status = exchange.status
        if exchange.injected or status == 304:
            return []
        raw = exchange.response_body
        documented, schema = op.response_schema(status)
        if documented is None:
            if status not in GENERIC_ERRORS:
                listed = ", ".join(sorted(op.responses))
                return [f"response: status {status} is not documented (documented: {listed})"]
            key: tuple[str, ...] = ("basic-error",)
            schema = BASIC_ERROR
        else:
            key = (op.key, "response", documented)
        if schema is None or not raw.strip():
            return []
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return [f"response {status}: body is not JSON ({exc})"]
        validator = self.contract.validator(key, schema)
        return [
            f"response {status} body {problem}"
            for problem in _errors(validator, data, self.contract.resolve)
        ]
