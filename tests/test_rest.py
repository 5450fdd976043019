"""POST /api/v1/tools/<name>: same auth, same results as MCP; the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import tokens
from tools.mcp.registry import registry


@pytest.fixture
def api() -> Client:
    return Client()


def post(api: Client, name: str, data: object, token: str | None) -> object:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return api.post(f"/api/v1/tools/{name}", data=data, content_type="application/json", **headers)


def test_rest_call_matches_the_tool(api, alice_token, acme) -> None:
    response = post(api, "create_project", {"name": "Rest Project"}, alice_token)
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "rest-project" and body["status"] == "active"
    assert "X-RateLimit-Remaining" in response.headers
    got = post(api, "get_project", {"project": "rest-project"}, alice_token).json()
    assert got["id"] == body["id"]


def test_rest_errors_use_the_tool_error_shape(api, alice_token, charlie_token, acme, globex) -> None:
    post(api, "create_project", {"name": "Mine"}, alice_token)
    missing = post(api, "get_project", {"project": "mine"}, charlie_token)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": "not_found",
            "message": "project not found: mine",
            "details": {"argument": "project", "value": "mine"},
        }
    }
    invalid = post(api, "create_project", {"name": ""}, alice_token)
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "invalid_arguments"
    unknown = post(api, "no_such_tool", {}, alice_token)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    not_json = api.post(
        "/api/v1/tools/list_projects",
        data="{oops",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "parse_error"


def test_rest_needs_a_valid_token(api, db) -> None:
    for token in (None, "nonsense", tokens.generate("live")):
        response = post(api, "list_projects", {}, token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_rest_refuses_writes_with_a_read_only_token(api, alice, acme, issue_token) -> None:
    reader = issue_token(alice, acme, scopes=["read"])
    response = post(api, "create_project", {"name": "X"}, reader)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_openapi_schema_documents_every_tool(api, db) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    for name, spec in registry().items():
        operation = schema["paths"][f"/api/v1/tools/{name}"]["post"]
        assert operation["summary"] == spec.description
        assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert "/api/v1/tools/{name}" not in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
