"""The OpenAPI document, the offline Swagger UI and ReDoc pages, and the root path."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.staticfiles import finders
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import APIRootView

pytestmark = pytest.mark.django_db

DOCUMENTATION_VIEWS = (SpectacularAPIView, SpectacularSwaggerView, SpectacularRedocView, APIRootView)
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _anonymous_placeholders(path: str) -> str:
    """`/logs/{id}/` -> `/logs/{}/`: the schema names a `pk` after the model's primary key."""
    return re.sub(r"{\w+}", "{}", path)


def _as_openapi_path(route: str) -> str:
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)  # regex groups
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)  # path converters
    return _anonymous_placeholders("/" + route)


def api_paths() -> set[str]:
    """Every API route of the installed apps, from Django's URL resolver (format-suffix twins aside)."""
    paths = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None or issubclass(view_class, DOCUMENTATION_VIEWS) or "(?P<format>" in route:
            continue
        paths.add(_as_openapi_path(route))
    return paths


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


class TestSchema:
    def test_is_a_valid_openapi_3_document(self, schema):
        validate_schema(schema)
        assert schema["openapi"].startswith("3.")
        assert schema["info"]["title"]

    def test_is_public_and_served_as_yaml_by_default(self, anonymous):
        response = anonymous.get("/schema")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.oai.openapi")
        assert b"openapi: 3." in response.content

    def test_lists_every_api_path(self, schema):
        expected = api_paths()
        assert {
            "/users/",
            "/users/{}/",
            "/users/{}/check/",
            "/logs/",
            "/logs/{}/",
            "/cache",
            "/auth/login/",
        } <= expected
        assert expected <= {_anonymous_placeholders(path) for path in schema["paths"]}
        assert {"/users/{username}/", "/logs/{id}/"} <= set(schema["paths"])

    def test_declares_every_path_parameter(self, schema):
        for path, operations in schema["paths"].items():
            placeholders = set(re.findall(r"{(\w+)}", path))
            for method, operation in operations.items():
                if method not in HTTP_METHODS:
                    continue
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == placeholders, f"{method.upper()} {path}"

    @pytest.mark.parametrize(
        ("path", "names"),
        [
            (
                "/logs/",
                {
                    "page",
                    "ordering",
                    "search",
                    "method",
                    "status_code",
                    "requested_at_after",
                    "requested_at_before",
                    "path",
                    "path_contains",
                    "user",
                    "response",
                },
            ),
            ("/users/", {"page", "ordering", "search", "manual_only", "with_access"}),
            ("/cache", {"username", "keys_only"}),
        ],
    )
    def test_documents_the_query_parameters_clients_send(self, schema, path, names):
        declared = {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}
        assert names <= declared

    def test_declares_the_jwt_bearer_scheme(self, schema):
        assert schema["components"]["securitySchemes"]["JWT"] == {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
        }
        assert {"JWT": []} in schema["paths"]["/users/"]["get"]["security"]
        assert {} in schema["paths"]["/auth/login/"]["post"]["security"]  # no token needed to log in

    def test_documents_the_request_log_shape(self, schema):
        components = schema["components"]["schemas"]
        log = components["RequestLog"]["properties"]
        assert {"user_details", "related_names", "requested_at", "status_code", "response"} <= set(log)
        assert log["related_names"]["type"] == "object"

    def test_generation_emits_no_warning(self):
        GENERATOR_STATS.reset()
        with GENERATOR_STATS.silence():
            SchemaGenerator().get_schema(request=None, public=True)
        warnings = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
        GENERATOR_STATS.reset()
        assert warnings == {}


def static_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


class TestDocumentationPages:
    def test_swagger_ui_is_served_offline(self, anonymous):
        response = anonymous.get("/docs")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert not re.search(r"https?://", html.replace("http://testserver", ""))
        assets = static_urls(html)
        assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
        assert any(url.endswith(".css") for url in assets)
        for url in assets:
            assert url.startswith("/static/drf_spectacular_sidecar/"), url
            assert finders.find(url.removeprefix("/static/")), url
        assert "/schema" in html

    def test_try_it_out_from_the_docs_needs_no_authorization_method(self, full_admin):
        """Swagger UI sends the bearer token but cannot send the custom `AuthorizationMethod` header."""
        from rest_framework.test import APIClient

        from admin_cohort.auth import jwt_tokens

        token = jwt_tokens.issue_pair(full_admin.username).access_token
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/users/").status_code == 403
        assert client.get("/users/", HTTP_REFERER="http://testserver/docs").status_code == 200

    def test_redoc_is_served_offline(self, anonymous):
        response = anonymous.get("/redoc/")
        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"https?://", html.replace("http://testserver", ""))
        scripts = [url for url in static_urls(html) if url.endswith(".js")]
        assert scripts
        for url in scripts:
            assert url.startswith("/static/drf_spectacular_sidecar/"), url
            assert finders.find(url.removeprefix("/static/")), url

    def test_static_assets_are_served(self, live_server):
        """Through Django's static files handling (as the embedded mode and the live test server do)."""
        import requests

        html = requests.get(f"{live_server.url}/docs", timeout=10).text
        for url in static_urls(html):
            asset = requests.get(f"{live_server.url}{url}", timeout=10)
            assert asset.status_code == 200, url
            assert asset.content


class TestRoot:
    @pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
    def test_root_is_always_not_found(self, anonymous, admin_client, method):
        for client in (anonymous, admin_client):
            response = getattr(client, method)("/")
            assert response.status_code == 404
            assert response.json() == {"error": "Page Not Found"}

    def test_unknown_paths_are_not_found(self, anonymous):
        assert anonymous.get("/nowhere/").status_code == 404
        assert anonymous.get("/users").status_code in (403, 404)
