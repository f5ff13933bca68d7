"""Extract GitHub's published REST contract and webhook examples into committed test fixtures.

Tests never touch the network: this script does, once, when someone bumps a pinned version
below or adds an operation to tests/contract/operations.txt. It downloads two MIT-licensed
npm packages with `npm pack` (pinned versions, into a temporary directory) and writes:

- tests/contract/github-openapi.json: only the operations lts-bot uses (operations.txt),
  each with its operationId, parameters, request body schema and response schemas by
  status, plus every component schema they reference (transitively). Prose (descriptions,
  examples, docs links, x-* extensions) is dropped: the contract check does not read it.
- tests/fixtures/webhooks/<event>[.<action>].json: the first example payload of each
  event and action lts-bot handles, from GitHub's collected examples.
- tests/contract/NOTICE.md and tests/fixtures/webhooks/NOTICE.md: where the data came
  from and its licence.

Output is deterministic (sorted keys, stable order), so re-running with the same versions
changes nothing; `--check` exits 1 if the committed files differ from a fresh extraction.

Usage: scripts/update-github-contract [--check] [--npm PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_DIR = ROOT / "tests" / "contract"
OPERATIONS_FILE = CONTRACT_DIR / "operations.txt"
CONTRACT_FILE = CONTRACT_DIR / "github-openapi.json"
WEBHOOKS_DIR = ROOT / "tests" / "fixtures" / "webhooks"

OPENAPI_PACKAGE = "@octokit/openapi"
OPENAPI_VERSION = "23.0.2"
OPENAPI_FILE = "generated/api.github.com.json"
EXAMPLES_PACKAGE = "@octokit/webhooks-examples"
EXAMPLES_VERSION = "7.6.1"
EXAMPLES_FILE = "api.github.com/index.json"

# Events lts-bot handles, with the actions it cares about (None: the event has no action).
WEBHOOKS: dict[str, tuple[str | None, ...]] = {
    "ping": (None,),
    "push": (None,),
    "installation": ("created",),
    "installation_repositories": ("added",),
    "issues": (
        "opened",
        "edited",
        "labeled",
        "unlabeled",
        "closed",
        "reopened",
        "assigned",
    ),
    "issue_comment": ("created", "edited", "deleted"),
    "pull_request": (
        "opened",
        "reopened",
        "synchronize",
        "edited",
        "labeled",
        "unlabeled",
        "ready_for_review",
        "closed",
    ),
    "pull_request_review": ("submitted", "dismissed", "edited"),
    "check_run": ("created", "completed", "rerequested", "requested_action"),
    "check_suite": ("completed",),
    "release": ("published", "released", "created"),
    "label": ("created",),
}

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Schema keywords that only document: the contract check never reads them.
PROSE = {"description", "example", "examples", "externalDocs", "title", "summary", "deprecated"}
# Response content types whose bodies are JSON.
JSON_TYPES = ("application/json", "application/vnd.github.object")

# The examples package ships no licence file (its README links to LICENSE.md in the
# octokit/webhooks repository); package.json declares MIT, whose terms are these.
MIT_TERMS = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""


class ExtractError(Exception):
    """The packages do not hold what this script expects."""


@dataclass(frozen=True)
class Package:
    """One unpacked npm tarball."""

    name: str
    version: str
    root: Path
    integrity: str
    tarball: str

    @property
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "package.json").read_text())
        return data

    def licence_text(self) -> str | None:
        for candidate in sorted(self.root.iterdir()):
            if candidate.is_file() and candidate.name.upper().startswith(("LICENSE", "LICENCE")):
                return candidate.read_text().strip() + "\n"
        return None


# --- downloading -----------------------------------------------------------------------


def npm_pack(npm: str, name: str, version: str, workdir: Path) -> Package:
    """`npm pack name@version` into workdir and unpack it; checks the version it got."""
    spec = f"{name}@{version}"
    result = subprocess.run(
        [npm, "pack", "--json", "--pack-destination", str(workdir), spec],
        check=True,
        capture_output=True,
        text=True,
    )
    [info] = json.loads(result.stdout)
    tgz = workdir / info["filename"]
    target = workdir / info["filename"].removesuffix(".tgz")
    with tarfile.open(tgz) as archive:
        archive.extractall(target, filter="data")
    root = target / "package"
    package = Package(
        name=name,
        version=version,
        root=root,
        integrity=info["integrity"],
        tarball=f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz",
    )
    got = package.manifest.get("version")
    if got != version:
        raise ExtractError(f"{spec}: npm gave version {got}")
    return package


# --- the OpenAPI description -----------------------------------------------------------


def read_operations(path: Path) -> list[tuple[str, str]]:
    """`(METHOD, /path/template)` pairs from operations.txt, in file order."""
    wanted: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2 or parts[0].lower() not in HTTP_METHODS or not parts[1].startswith("/"):
            raise ExtractError(f"{path.name}:{number}: expected `METHOD /path`, got {line!r}")
        pair = (parts[0].upper(), parts[1])
        if pair in wanted:
            raise ExtractError(f"{path.name}:{number}: {text} is listed twice")
        wanted.append(pair)
    return wanted


class Extractor:
    """Copies operations out of an OpenAPI 3.0 document with the component schemas they use."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.components = document.get("components", {})
        self.schemas: dict[str, Any] = {}
        self._pending: list[str] = []

    def _component(self, ref: str) -> tuple[str, str, Any]:
        prefix = "#/components/"
        if not ref.startswith(prefix):
            raise ExtractError(f"unsupported $ref {ref!r}")
        kind, _, name = ref.removeprefix(prefix).partition("/")
        try:
            return kind, name, self.components[kind][name]
        except KeyError:
            raise ExtractError(f"dangling $ref {ref!r}") from None

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        """Inline a parameter, response or request-body $ref (schemas stay references)."""
        seen = 0
        while "$ref" in node:
            _, _, node = self._component(node["$ref"])
            seen += 1
            if seen > 10:
                raise ExtractError("a $ref cycle outside component schemas")
        return node

    def schema(self, node: Any) -> Any:
        """A schema without prose; component references are kept and queued for copying."""
        if isinstance(node, list):
            return [self.schema(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in PROSE or key.startswith("x-"):
                continue
            if key == "$ref":
                kind, name, _ = self._component(value)
                if kind != "schemas":
                    raise ExtractError(f"a schema refers to a non-schema component {value!r}")
                if name not in self.schemas:
                    self.schemas[name] = None
                    self._pending.append(name)
                out[key] = value
            elif key in ("properties", "patternProperties"):
                # Keys here are property names (a property may well be called "description").
                out[key] = {name: self.schema(sub) for name, sub in value.items()}
            elif key == "enum" or key == "default" or key == "required":
                out[key] = value
            else:
                out[key] = self.schema(value)
        return out

    def _drain(self) -> None:
        while self._pending:
            name = self._pending.pop()
            self.schemas[name] = self.schema(self.components["schemas"][name])

    def operation(self, method: str, path: str) -> dict[str, Any]:
        item = self.doc["paths"].get(path)
        if item is None or method.lower() not in item:
            raise ExtractError(f"GitHub's OpenAPI description has no operation {method} {path}")
        op = item[method.lower()]
        params = [self._deref(p) for p in item.get("parameters", [])]
        params += [self._deref(p) for p in op.get("parameters", [])]
        out: dict[str, Any] = {
            "method": method,
            "path": path,
            "operationId": op["operationId"],
            "parameters": [
                {
                    "in": p["in"],
                    "name": p["name"],
                    "required": bool(p.get("required", False)),
                    "schema": self.schema(p.get("schema", {})),
                }
                for p in params
            ],
            "requestBody": None,
            "responses": {},
        }
        body = op.get("requestBody")
        if body is not None:
            body = self._deref(body)
            content = body.get("content", {})
            json_body = content.get("application/json")
            out["requestBody"] = {
                "required": bool(body.get("required", False)),
                "contentTypes": sorted(content),
                "schema": self.schema(json_body.get("schema", {})) if json_body else None,
            }
        for status, response in op.get("responses", {}).items():
            response = self._deref(response)
            content = response.get("content", {})
            out["responses"][str(status)] = {
                "contentTypes": sorted(content),
                "schemas": {
                    kind: self.schema(media.get("schema", {}))
                    for kind, media in content.items()
                    if kind in JSON_TYPES or kind.endswith("+json")
                },
            }
        self._drain()
        return out


def extract_contract(package: Package, wanted: list[tuple[str, str]]) -> dict[str, Any]:
    document = json.loads((package.root / OPENAPI_FILE).read_text())
    if not str(document.get("openapi", "")).startswith("3.0"):
        raise ExtractError(f"{OPENAPI_FILE}: expected OpenAPI 3.0, got {document.get('openapi')}")
    extractor = Extractor(document)
    operations = {f"{m} {p}": extractor.operation(m, p) for m, p in wanted}
    return {
        "info": {
            "source": f"{package.name}@{package.version} {OPENAPI_FILE}",
            "openapi": document["openapi"],
            "servers": document.get("servers", []),
            "note": "Generated by scripts/update-github-contract; do not edit by hand.",
        },
        "operations": operations,
        "components": {"schemas": extractor.schemas},
    }


# --- webhook examples -------------------------------------------------------------------


def extract_examples(package: Package) -> tuple[dict[str, Any], list[str]]:
    """The first example of each wanted event and action, by file name; and what is missing."""
    index = json.loads((package.root / EXAMPLES_FILE).read_text())
    by_event = {entry["name"]: entry.get("examples", []) for entry in index}
    found: dict[str, Any] = {}
    missing: list[str] = []
    for event, actions in sorted(WEBHOOKS.items()):
        for action in actions:
            label = event if action is None else f"{event}.{action}"
            example = next(
                (e for e in by_event.get(event, []) if e.get("action") == action),
                None,
            )
            if example is None:
                missing.append(label)
            else:
                found[f"{label}.json"] = example
    return found, missing


# --- notices ----------------------------------------------------------------------------


def notice(openapi: Package, examples: Package, missing: list[str]) -> str:
    lines = [
        "# Third-party data in this folder",
        "",
        "Generated by `scripts/update-github-contract`; do not edit by hand. Both packages are",
        "published by the Octokit project under the MIT licence; the files here are extracts.",
        "",
        "| package | version | file used | tarball | integrity |",
        "|---|---|---|---|---|",
    ]
    for package, used in ((openapi, OPENAPI_FILE), (examples, EXAMPLES_FILE)):
        repo = str(package.manifest.get("repository", "")).removeprefix("github:")
        lines.append(
            f"| [{package.name}](https://github.com/{repo}) | {package.version} | `{used}` | "
            f"{package.tarball} | `{package.integrity}` |"
        )
    lines += [
        "",
        "- `tests/contract/github-openapi.json`: the operations listed in",
        "  `tests/contract/operations.txt`, with the schemas they reference, from",
        f"  {openapi.name} {openapi.version} (GitHub's REST API description,",
        "  https://github.com/github/rest-api-description, with Octokit's extensions).",
        "- `tests/fixtures/webhooks/*.json`: the first example of each event and action lts-bot",
        f"  handles, from {examples.name} {examples.version}.",
    ]
    if missing:
        lines += [
            "",
            f"Events and actions lts-bot handles that {examples.name} {examples.version} has no",
            "example for: " + ", ".join(f"`{m}`" for m in missing) + ".",
        ]
    openapi_licence = openapi.licence_text()
    if openapi_licence is None:
        raise ExtractError(f"{openapi.name} ships no licence file")
    lines += [
        "",
        f"## {openapi.name} {openapi.version}",
        "",
        f"Licence: {openapi.manifest.get('license')}. The package's `LICENSE`, verbatim:",
        "",
        "```text",
        openapi_licence.rstrip(),
        "```",
        "",
        f"## {examples.name} {examples.version}",
        "",
    ]
    examples_licence = examples.licence_text()
    if examples_licence is not None:
        lines += [
            f"Licence: {examples.manifest.get('license')}. The package's licence file, verbatim:",
            "",
            "```text",
            examples_licence.rstrip(),
            "```",
        ]
    else:
        repo = str(examples.manifest.get("repository", "")).removeprefix("github:")
        lines += [
            f'Licence: {examples.manifest.get("license")} (`"license"` in its `package.json`). The',
            "tarball ships no licence file; its README's LICENSE section links to `LICENSE.md` in",
            f"https://github.com/{repo}. The MIT licence (https://spdx.org/licenses/MIT), whose",
            "copyright holders are the Octokit contributors:",
            "",
            "```text",
            "MIT License",
            "",
            "Copyright (c) Octokit contributors",
            "",
            MIT_TERMS.rstrip(),
            "```",
        ]
    return "\n".join(lines) + "\n"


# --- writing ----------------------------------------------------------------------------


def dump(data: Any, indent: int) -> str:
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def planned_files(workdir: Path, npm: str) -> tuple[dict[Path, str], list[str]]:
    openapi = npm_pack(npm, OPENAPI_PACKAGE, OPENAPI_VERSION, workdir)
    examples = npm_pack(npm, EXAMPLES_PACKAGE, EXAMPLES_VERSION, workdir)
    contract = extract_contract(openapi, read_operations(OPERATIONS_FILE))
    payloads, missing = extract_examples(examples)
    text = notice(openapi, examples, missing)
    files = {
        # One space of indentation: readable diffs at a third of the size of two.
        CONTRACT_FILE: dump(contract, 1),
        CONTRACT_DIR / "NOTICE.md": text,
        WEBHOOKS_DIR / "NOTICE.md": text,
    }
    for name, payload in payloads.items():
        files[WEBHOOKS_DIR / name] = dump(payload, 2)
    return files, missing


def stale_examples(files: dict[Path, str]) -> list[Path]:
    """Example payloads written by an earlier run that this run would not write."""
    if not WEBHOOKS_DIR.is_dir():
        return []
    return sorted(p for p in WEBHOOKS_DIR.glob("*.json") if p not in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed files are out of date"
    )
    parser.add_argument("--npm", default=shutil.which("npm") or "npm", help="the npm to run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="github-contract-") as tmp:
        try:
            files, missing = planned_files(Path(tmp), args.npm)
        except (ExtractError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or ""
            print(f"update-github-contract: {exc}\n{detail}".rstrip(), file=sys.stderr)
            return 2
    stale = stale_examples(files)
    changed = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in [*changed, *stale]:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed or stale else 0
    for path in stale:
        path.unlink()
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    for path in sorted(files):
        print(f"{path.stat().st_size:>9,} bytes  {path.relative_to(ROOT)}")
    if stale:
        print("removed: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
    if missing:
        print(f"no example in {EXAMPLES_PACKAGE}@{EXAMPLES_VERSION} for: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
