"""Trace ids, JSON log lines, the socket log transport, error e-mails and InfluxDB request timings."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core import mail
from django.urls import path
from django.utils.module_loading import import_string

from admin_cohort.logging import JsonSocketHandler
from tests.fakes.influxdb import FakeInfluxDB
from tests.fakes.log_listener import LogListener

pytestmark = pytest.mark.django_db

SECRET = "Zq-secret-Pa55word-981"
UNKNOWN_USERNAME = "7999999"


def check_unknown_user(client, **headers):
    """A request that logs an error on the `info` logger once authenticated (no identity hook configured)."""
    return client.get(f"/users/{UNKNOWN_USERNAME}/check/", **headers)


def _configured(kind: str, name: str):
    """A formatter or filter as settings.LOGGING declares it."""
    spec = dict(settings.LOGGING[kind][name])
    return import_string(spec.pop("()"))(**spec)


@contextmanager
def attached(logger_name: str, handler: logging.Handler) -> Iterator[logging.Handler]:
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        handler.close()


def console_handler(stream: io.StringIO) -> logging.Handler:
    """The project's console handler (JSON formatter + request-context filter), writing to `stream`."""
    spec = settings.LOGGING["handlers"]["console"]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_configured("formatters", spec["formatter"]))
    for name in spec["filters"]:
        handler.addFilter(_configured("filters", name))
    return handler


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


class TestTraceId:
    def test_a_given_trace_id_is_echoed(self, anonymous):
        response = anonymous.get("/users/", HTTP_X_TRACE_ID="portail-4f2a.17")
        assert response.status_code == 403
        assert response["X-Trace-Id"] == "portail-4f2a.17"

    @pytest.mark.parametrize("given", [None, "", "   ", "two words", "x" * 101, "line\u2028break", "é"])
    def test_otherwise_a_new_uuid4_is_generated(self, anonymous, given):
        headers = {} if given is None else {"HTTP_X_TRACE_ID": given}
        first = anonymous.get("/", **headers)
        second = anonymous.get("/", **headers)
        assert first.status_code == 404
        for response in (first, second):
            assert uuid.UUID(response["X-Trace-Id"]).version == 4
        assert first["X-Trace-Id"] != second["X-Trace-Id"]

    def test_every_kind_of_answer_carries_it(self, admin_client):
        for response in (
            admin_client.get("/users/"),
            admin_client.get("/logs/?status_code=abc"),
            admin_client.get("/maintenances/next/"),
            admin_client.post("/users/", {}, format="json"),
        ):
            assert response.has_header("X-Trace-Id")


class TestJsonLogLines:
    def test_lines_carry_the_trace_id_and_the_authenticated_caller(self, make_client, user_manager):
        stream = io.StringIO()
        with attached("info", console_handler(stream)):
            response = check_unknown_user(make_client(user_manager), HTTP_X_TRACE_ID="trace-json-1")
        assert response.status_code == 404
        (line,) = [line for line in json_lines(stream) if line["trace_id"] == "trace-json-1"]
        assert line["user_id"] == user_manager.username
        assert line["impersonating"] == "-"
        assert line["level"] == "ERROR"
        assert line["logger"] == "info"
        assert "identity hook" in line["message"]
        assert line["timestamp"].endswith("+00:00")

    def test_an_impersonating_admin_is_logged_as_himself(self, admin_client, full_admin, user_manager):
        stream = io.StringIO()
        with attached("info", console_handler(stream)):
            check_unknown_user(admin_client, HTTP_X_TRACE_ID="trace-json-2", HTTP_X_IMPERSONATE=user_manager.username)
        (line,) = [line for line in json_lines(stream) if line["trace_id"] == "trace-json-2"]
        assert line["user_id"] == full_admin.username
        assert line["impersonating"] == user_manager.username

    def test_outside_a_request_the_context_is_empty(self):
        stream = io.StringIO()
        with attached("info", console_handler(stream)):
            logging.getLogger("info").info("background work %s", 42)
        (line,) = json_lines(stream)
        assert (line["trace_id"], line["user_id"], line["message"]) == ("-", "Anonymous", "background work 42")

    def test_a_request_leaves_no_context_behind(self, make_client, user_manager):
        check_unknown_user(make_client(user_manager), HTTP_X_TRACE_ID="trace-json-3")
        self.test_outside_a_request_the_context_is_empty()


class TestSocketTransport:
    def test_records_are_length_prefixed_json_with_the_request_context(self, make_client, user_manager):
        with LogListener() as listener:
            host, port = listener.address
            handler = JsonSocketHandler(host, port)
            handler.addFilter(_configured("filters", "request_context"))
            with attached("info", handler):
                check_unknown_user(make_client(user_manager), HTTP_X_TRACE_ID="trace-socket-1")
                record = listener.wait_for(lambda r: r.get("trace_id") == "trace-socket-1")
        assert record["user_id"] == user_manager.username
        assert record["impersonating"] == "-"
        assert record["name"] == "info"
        assert record["levelname"] == "ERROR"
        assert "identity hook" in record["msg"]
        assert record["args"] is None
        assert record["exc_info"] is None
        rebuilt = logging.makeLogRecord(record)
        assert rebuilt.getMessage() == record["msg"]

    def test_tracebacks_travel_as_text_lines(self):
        with LogListener() as listener:
            handler = JsonSocketHandler(*listener.address)
            with attached("info", handler):
                try:
                    raise ValueError("boom")
                except ValueError:
                    logging.getLogger("info").exception("failed with %s", "style")
                record = listener.wait_for(lambda r: r.get("msg") == "failed with style")
        assert isinstance(record["exc_text"], list)
        assert "ValueError: boom" in "".join(record["exc_text"])

    def test_a_request_attached_to_a_record_travels_without_its_query_string(self, rf):
        with LogListener() as listener, attached("django.request", JsonSocketHandler(*listener.address)):
            request = rf.get(f"/users/?api_token={SECRET}")
            logging.getLogger("django.request").error("Internal Server Error: /users/", extra={"request": request})
            record = listener.wait_for(lambda r: r.get("msg") == "Internal Server Error: /users/")
        assert record["request"] == "<WSGIRequest: GET '/users/'>"
        assert SECRET not in json.dumps(record)

    def test_a_missing_listener_does_not_fail_requests(self, make_client, user_manager):
        with LogListener() as listener:
            address = listener.address
        handler = JsonSocketHandler(*address)
        with attached("info", handler):
            assert check_unknown_user(make_client(user_manager)).status_code == 404


def crashing_view(request):
    password = request.POST.get("password")
    api_token = request.GET.get("api_token")
    raise RuntimeError(f"crashed for {len(password or '')} characters and {len(api_token or '')} more")


urlpatterns = [path("crash/", crashing_view)]


def mail_admins_handler() -> logging.Handler:
    """The project's `mail_admins` handler, as settings.LOGGING declares it."""
    spec = dict(settings.LOGGING["handlers"]["mail_admins"])
    handler_class = import_string(spec.pop("class"))
    level = spec.pop("level")
    handler = handler_class(**spec)
    handler.setLevel(level)
    return handler


class TestErrorEmails:
    @pytest.fixture
    def crashing_site(self, settings):
        settings.ROOT_URLCONF = __name__
        settings.ADMINS = [("Ops", "ops@example.org")]
        settings.NOTIFY_ADMINS = True

    def test_an_error_report_hides_settings_metadata_and_secrets(self, crashing_site, client):
        client.raise_request_exception = False
        client.cookies["sessionid"] = "session-cookie-value-xyz"
        with attached("django.request", mail_admins_handler()):
            response = client.post(
                f"/crash/?api_token={SECRET}-query&page=2",
                {"password": SECRET, "username": "4123456"},
                HTTP_AUTHORIZATION=f"Bearer {SECRET}-header",
            )
        assert response.status_code == 500
        (email,) = mail.outbox
        assert email.to == ["ops@example.org"]
        assert "/crash/" in email.subject
        body = email.body
        assert "RuntimeError" in body
        assert "4123456" in body  # the rest of the request is still reported
        assert "page" in body
        for leaked in (SECRET, "session-cookie-value-xyz", settings.SECRET_KEY, settings.JWT_SIGNING_KEY):
            assert leaked not in body
        assert "hidden" in body
        assert "********************" in body

    def test_the_html_report_redacts_local_variables_too(self, crashing_site, client):
        client.raise_request_exception = False
        handler = mail_admins_handler()
        handler.include_html = True
        with attached("django.request", handler):
            client.post(f"/crash/?api_token={SECRET}-query", {"password": SECRET})
        (email,) = mail.outbox
        ((html, mimetype),) = email.alternatives
        assert mimetype == "text/html"
        assert "crashing_view" in html
        assert "api_token" in html  # the local variable is listed, its value is not
        assert SECRET not in html
        assert settings.SECRET_KEY not in html

    def test_the_project_sends_request_errors_to_admins_when_asked(self):
        """settings.LOGGING routes `django.request` errors to `mail_admins` exactly when NOTIFY_ADMINS is set."""
        routed = "mail_admins" in settings.LOGGING["loggers"]["django.request"]["handlers"]
        assert routed == settings.NOTIFY_ADMINS
        assert settings.LOGGING["handlers"]["mail_admins"]["level"] == "ERROR"

    def test_warnings_send_no_email(self, crashing_site, anonymous):
        with attached("django.request", mail_admins_handler()):
            logging.getLogger("django.request").warning("Not Found: /nowhere/")
        assert mail.outbox == []


class TestInfluxDB:
    @pytest.fixture
    def influx(self, settings):
        with FakeInfluxDB() as server:
            settings.INFLUXDB_ENABLED = True
            settings.INFLUXDB_URL = server.url
            settings.INFLUXDB_ORG = "aphp"
            settings.INFLUXDB_BUCKET = "cohort360"
            settings.INFLUXDB_DJANGO_TOKEN = "influx-token-1"
            settings.MIDDLEWARE = ["admin_cohort.middleware.influxdb.InfluxDBTimingMiddleware", *settings.MIDDLEWARE]
            yield server

    @staticmethod
    def flush(client) -> None:
        """Closing the middleware's write API flushes the batch it keeps in the background."""
        middleware = client.handler._middleware_chain.__wrapped__
        middleware.write_api.close()
        middleware.client.close()

    def test_each_request_writes_a_timing_point(self, influx, anonymous):
        assert anonymous.get("/maintenances/next/").status_code == 200
        assert anonymous.post("/auth/login/", {}, format="json").status_code in (400, 401)
        self.flush(anonymous)
        (write,) = influx.writes
        assert write.query["org"] == ["aphp"]
        assert write.query["bucket"] == ["cohort360"]
        assert write.query["precision"] == ["ns"]
        assert write.headers["Authorization"] == "Token influx-token-1"
        points = {(p.tags["method"], p.tags["path"]): p for p in influx.points}
        assert set(points) == {("GET", "/maintenances/next/"), ("POST", "/auth/login/")}
        point = points["GET", "/maintenances/next/"]
        assert point.measurement == "django_requests"
        assert point.tags["env"] == "prod"
        assert float(point.fields["response_time"]) > 0
        assert point.timestamp > 1_600_000_000 * 10**9

    def test_debug_requests_are_tagged_dev_qua(self, influx, settings, anonymous):
        settings.DEBUG = True
        anonymous.get("/maintenances/next/")
        self.flush(anonymous)
        assert [p.tags["env"] for p in influx.points] == ["dev_qua"]

    def test_a_failing_influxdb_never_fails_requests(self, settings, anonymous):
        with FakeInfluxDB(status=400) as server:
            settings.INFLUXDB_URL = server.url
            settings.INFLUXDB_ORG = settings.INFLUXDB_BUCKET = settings.INFLUXDB_DJANGO_TOKEN = "x"
            settings.MIDDLEWARE = ["admin_cohort.middleware.influxdb.InfluxDBTimingMiddleware", *settings.MIDDLEWARE]
            assert anonymous.get("/maintenances/next/").status_code == 200
            self.flush(anonymous)
            assert len(server.writes) == 1
