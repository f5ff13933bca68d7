"""The contract check: GitHub's published REST description, applied to HTTP exchanges."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.sandbox import Exchange, shapes
from bot.sandbox.shapes import Urls
from bot.sandbox.world import Account, App, Installation
from tests.contract.checker import (
    CONTRACT_FILE,
    ERRATA,
    ContractChecker,
    listed_operations,
    load_contract,
    to_json_schema,
)
from tests.contract.examples import EXAMPLES_DIR, example_names, load_example, missing_fields

pytest_plugins = ["sandbox_fixtures"]

CHECK_RUNS = "/repos/acme/widgets/check-runs"
TOKEN_PATH = "/app/installations/7/access_tokens"
VALID_RUN = {
    "name": "lts/config",
    "head_sha": "a" * 40,
    "status": "completed",
    "conclusion": "success",
    "output": {"title": "LTS configuration is valid", "summary": "All good."},
}
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


def exchange(
    method: str,
    path: str,
    *,
    request: Any = None,
    status: int = 200,
    response: Any = None,
    endpoint: str | None = None,
    injected: bool = False,
) -> Exchange:
    def raw(body: Any) -> bytes:
        if body is None:
            return b""
        return body if isinstance(body, bytes) else json.dumps(body).encode()

    return Exchange(
        method=method,
        endpoint=endpoint or path,
        path=path,
        query="",
        request_body=raw(request),
        status=status,
        response_body=raw(response),
        matched=endpoint is not None,
        injected=injected,
    )


@pytest.fixture
def checker() -> ContractChecker:
    return ContractChecker()


def test_every_listed_operation_is_in_the_extracted_contract_and_nothing_else() -> None:
    document = load_contract().document
    listed = listed_operations()

    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(document["operations"])
    for key, op in document["operations"].items():
        assert f"{op['method']} {op['path']}" == key
        assert op["operationId"]
        assert op["responses"], key


def test_every_reference_in_the_contract_resolves_inside_it() -> None:
    document = json.loads(CONTRACT_FILE.read_text())
    schemas = document["components"]["schemas"]
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    prefix = "#/components/schemas/"
    assert all(ref.startswith(prefix) for ref in refs)
    assert {ref.removeprefix(prefix) for ref in refs} <= set(schemas)


def test_every_erratum_still_corrects_the_committed_contract() -> None:
    committed = json.loads(CONTRACT_FILE.read_text())
    loaded = load_contract().document

    for erratum in ERRATA:
        assert erratum.applies(committed), f"fixed upstream? drop the erratum: {erratum.why}"
        assert not erratum.applies(loaded)
        assert "anyOf" in erratum.node(loaded)


def test_an_installations_account_is_a_user_or_an_enterprise_not_both(
    checker: ContractChecker,
) -> None:
    acme = Account(login="acme", id=1, type="Organization")
    app = App(
        id=2, slug="lts-bot", name="lts-bot", owner=acme, public_key_pem="", bot=acme, created_at=0
    )
    inst = Installation(id=7, account=acme, repository_ids=[], created_at=0)
    shown = shapes.installation(
        inst, app, Urls(api="https://api.github.com", html="https://github.com")
    )

    found = checker.check(exchange("GET", "/app/installations", response=[shown]))
    half = checker.check(
        exchange("GET", "/app/installations", response=[{**shown, "account": {"id": 1}}])
    )

    assert found == []
    assert half != []


def test_the_contract_is_parsed_once_per_process() -> None:
    assert load_contract() is load_contract()


def test_a_wrongly_typed_field_in_a_check_run_body_is_a_violation(
    checker: ContractChecker,
) -> None:
    bad = {**VALID_RUN, "conclusion": 5}

    [violation] = checker.check(exchange("POST", CHECK_RUNS, request=bad, status=422))

    assert violation == (
        f"POST {CHECK_RUNS} (checks/create, POST /repos/{{owner}}/{{repo}}/check-runs): "
        'request body $.conclusion: got integer 5, schema wants type "string"'
    )


def test_a_check_run_body_missing_a_required_field_is_a_violation(
    checker: ContractChecker,
) -> None:
    body = {key: value for key, value in VALID_RUN.items() if key != "head_sha"}

    [violation] = checker.check(exchange("POST", CHECK_RUNS, request=body, status=422))

    assert violation.endswith("request body $: missing required property head_sha")


def test_a_request_to_an_endpoint_github_lacks_is_a_violation(checker: ContractChecker) -> None:
    found = checker.check(exchange("GET", "/repos/x/y/bogus", status=404, response=NOT_FOUND))

    assert found == ["no GitHub operation matches GET /repos/x/y/bogus"]


def test_a_known_path_with_a_method_github_lacks_is_a_violation(
    checker: ContractChecker,
) -> None:
    found = checker.check(exchange("DELETE", "/repos/x/y", status=404, response=NOT_FOUND))

    assert found == ["no GitHub operation matches DELETE /repos/x/y"]


def test_a_response_missing_a_required_field_is_a_violation(checker: ContractChecker) -> None:
    answer = {"expires_at": "2030-01-01T00:00:00Z"}

    [violation] = checker.check(exchange("POST", TOKEN_PATH, status=201, response=answer))

    assert violation == (
        f"POST {TOKEN_PATH} (apps/create-installation-access-token, "
        "POST /app/installations/{installation_id}/access_tokens): "
        "response 201 body $: missing required property token"
    )


def test_a_valid_exchange_has_no_violations(checker: ContractChecker) -> None:
    token = {"token": "ghs_abc", "expires_at": "2030-01-01T00:00:00Z", "permissions": {}}
    refused = {**NOT_FOUND, "message": "Validation Failed", "errors": [], "status": "422"}

    checker(exchange("POST", TOKEN_PATH, status=201, response=token))
    checker(exchange("POST", CHECK_RUNS, request=VALID_RUN, status=422, response=refused))

    assert checker.violations == []


def test_nullable_fields_accept_null_and_still_refuse_other_types() -> None:
    schema = to_json_schema(
        {"type": "string", "enum": ["success", "failure"], "nullable": True, "readOnly": True}
    )

    assert schema == {"type": ["string", "null"], "enum": ["success", "failure", None]}
    wrapped = to_json_schema({"nullable": True, "allOf": [{"$ref": "#/components/schemas/x"}]})
    assert wrapped["anyOf"][0] == {"type": "null"}


def test_an_undocumented_status_is_a_violation_unless_github_answers_it_everywhere(
    checker: ContractChecker,
) -> None:
    teapot = checker.check(exchange("POST", TOKEN_PATH, status=418, response=NOT_FOUND))
    conflict = checker.check(exchange("POST", TOKEN_PATH, status=409, response=NOT_FOUND))

    assert len(teapot) == 1
    assert (
        "response: status 418 is not documented (documented: 201, 401, 403, 404, 422)"
        in (teapot[0])
    )
    assert conflict == []


def test_a_generic_error_without_githubs_error_shape_is_a_violation(
    checker: ContractChecker,
) -> None:
    found = checker.check(exchange("POST", TOKEN_PATH, status=409, response={"error": "nope"}))

    assert [v.rsplit(": ", 2)[-2:] for v in found] == [
        ["response 409 body $", "missing required properties documentation_url, message"]
    ]


def test_injected_faults_304s_and_empty_answers_are_not_validated(
    checker: ContractChecker,
) -> None:
    contents = "/repos/acme/widgets/contents/.github/lts.yml"

    checker(exchange("GET", contents, status=502, response=b"<html>", injected=True))
    checker(exchange("GET", contents, status=304))
    checker(exchange("DELETE", "/repos/acme/widgets/labels/lts", status=204))

    assert checker.violations == []


def test_an_injected_fault_on_a_path_github_lacks_is_still_a_violation(
    checker: ContractChecker,
) -> None:
    assert checker.check(exchange("GET", "/nope", status=502, injected=True)) == [
        "no GitHub operation matches GET /nope"
    ]


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/repos/o/r/contents/.github/lts.yml", "GET /repos/{owner}/{repo}/contents/{path}"),
        ("GET", "/repos/o/r/contents", "GET /repos/{owner}/{repo}/contents/{path}"),
        ("GET", "/repos/o/r/commits/release-lts/v1.4", "GET /repos/{owner}/{repo}/commits/{ref}"),
        (
            "GET",
            "/repos/o/r/commits/release-lts/v1.4/check-runs",
            "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
        ),
        ("GET", "/repos/o/r/commits/abc/status", "GET /repos/{owner}/{repo}/commits/{ref}/status"),
        (
            "PATCH",
            "/repos/o/r/git/refs/heads/backport/12-to-v1.4",
            "PATCH /repos/{owner}/{repo}/git/refs/{ref}",
        ),
        (
            "GET",
            "/repos/o/r/git/matching-refs/heads/release-lts/",
            "GET /repos/{owner}/{repo}/git/matching-refs/{ref}",
        ),
        (
            "GET",
            "/repos/o/r/compare/release-lts/v1.4...main",
            "GET /repos/{owner}/{repo}/compare/{basehead}",
        ),
        (
            "GET",
            "/repos/o/r/branches/release-lts/v1.4",
            "GET /repos/{owner}/{repo}/branches/{branch}",
        ),
        ("GET", "/repos/o/r/releases/latest", "GET /repos/{owner}/{repo}/releases/latest"),
        ("GET", "/repos/o/r/releases/12", "GET /repos/{owner}/{repo}/releases/{release_id}"),
        ("GET", "/repos/o/r/releases/tags/v1.4.2", "GET /repos/{owner}/{repo}/releases/tags/{tag}"),
        (
            "DELETE",
            "/repos/o/r/issues/3/labels/lts/approved",
            "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        ),
        (
            "GET",
            "/repos/o/r/issues/comments/9",
            "GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
        ),
        (
            "GET",
            "/repos/o/r/issues/9/comments",
            "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
        ),
    ],
)
def test_requests_match_githubs_operations_even_when_parameters_hold_slashes(
    method: str, path: str, operation: str
) -> None:
    op = load_contract().match(method, path)

    assert op is not None
    assert op.key == operation


def test_a_base_path_is_stripped_before_matching() -> None:
    ghes = ContractChecker(base_path="/api/v3")

    assert ghes.check(exchange("GET", "/api/v3/repos/o/r/contents/x", status=304)) == []


def test_requests_sent_wrong_on_purpose_are_tolerated_but_answers_still_checked(
    checker: ContractChecker,
) -> None:
    with checker.expect_invalid_requests():
        checker(
            exchange("POST", CHECK_RUNS, request={**VALID_RUN, "name": 5}, status=422, response={})
        )

    assert len(checker.tolerated) == 1
    assert [v.rsplit(": ", 1)[-1] for v in checker.violations] == [
        "missing required properties documentation_url, message"
    ]


async def test_the_sandbox_fixture_checks_every_exchange(
    api: httpx.AsyncClient, contract: ContractChecker
) -> None:
    response = await api.get("/repos/x/y/bogus")

    assert response.status_code == 404
    assert contract.violations == ["no GitHub operation matches GET /repos/x/y/bogus"]
    # Seen: clear it so the fixture's teardown check passes.
    contract.violations.clear()


def test_every_example_payload_is_an_event_and_action_with_a_notice() -> None:
    names = example_names()

    assert "push" in names
    assert "installation.created" in names
    assert (EXAMPLES_DIR / "NOTICE.md").is_file()
    for name in names:
        event, _, action = name.partition(".")
        assert load_example(event, action or None).get("action") == (action or None), name


def test_missing_fields_are_named_by_path_through_objects_and_first_list_items() -> None:
    example = {"a": {"b": 1, "c": [{"d": 1, "e": 2}]}, "f": {"g": 1}, "h": []}
    payload = {"a": {"c": [{"d": 5}]}, "f": None, "h": [{"x": 1}]}

    assert missing_fields(example, payload) == ["a.b", "a.c[0].e"]
