"""A fake QueryExecutor (spec 03 §2.8): accepts jobs, answers job descriptors, calls the backend back.

    with FakeQueryExecutor(callback_base_url=live_server_url) as qe:
        settings.QUERY_EXECUTOR_URL = qe.url
        ...                                  # the backend submits a count
        job = qe.wait_for_job()              # ReceivedJob: mode, owner, cohort_uuid, mode_options, syntax…
        qe.wait_for_deliveries(1)            # the FINISHED callback reached the backend

Knobs (plain attributes, change them at any time):

* `scenario`: the callback sent when a job ends — "finished" (default), "long_pending", "error", "killed",
  "none" (never calls back), or a function `ReceivedJob -> dict | None` returning the body; as the real one,
  a count over an empty source population ends in ERROR;
* `count`, `minimum`/`maximum` (count_all), `perimeter_counts` (count_with_details `extra`, default: every
  source perimeter -> count), `criteria_counts` (`details="all"`), `group_count` (create, default
  round(sampling * count)), `error_message`;
* `callback_delay` seconds; `hold_callbacks = True` keeps callbacks in `pending_callbacks` until the test
  calls `deliver(callback)` — in any order, as many times as wanted; `callback_for(job, scenario)` builds
  another one (e.g. a late ERROR after FINISHED);
* `submission`: "accept" (default), "refuse" (the port is closed), "timeout" (answers after
  `hang_seconds`), "non_json", "no_status", "http_500";
* `cancel_mode`: "kill" (default: 200 KILLED and a KILLED callback), "forbidden" (403), "finished" (200
  FINISHED), "running" (200 RUNNING, not a cancellation). Unknown job ids get a 500 page.

Callbacks go to `callback_base_url` + `callbackPath`, or `/cohort/dated-measures/<uuid>/` (count modes) or
`/cohort/cohorts/<uuid>/` (create), with `Authorization: Bearer <token>` (default: the backend's
QUERY_EXECUTOR_TOKEN; "" sends none). Without `callback_base_url` nothing is sent, like a QueryExecutor
without DJANGO_CALLBACK_URL.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import requests
from django.conf import settings

from tests.fakes.http_server import FakeServer, QuietServer, RecordedRequest, Reply

COUNT_MODES = ("count", "count_all", "count_with_details")
_ERROR_PAGE = Reply(
    status=500,
    body="<html><body><h1>500 Internal Server Error</h1>There was an internal server error.</body></html>",
    headers={"Content-Type": "text/html"},
)


class HoconError(ValueError):
    pass


_KEY = re.compile(r"\s*([A-Za-z_][\w.]*)\s*[=:]\s*")


def parse_job_body(text: str) -> dict[str, Any]:
    """A HOCON document of comma-separated `a.b = value` assignments, as a nested dict.

    Quoted strings, objects and lists are read as JSON (so commas inside the escaped request JSON are safe);
    unquoted values run to the next comma and stay text, `null` being None.
    """
    decoder = json.JSONDecoder()
    document: dict[str, Any] = {}
    position = 0
    while position < len(text.rstrip()):
        match = _KEY.match(text, position)
        if not match:
            raise HoconError(f"expected `key = value` at character {position}")
        position = match.end()
        if position < len(text) and text[position] in '"{[':
            try:
                value, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                raise HoconError(f"bad value of {match.group(1)}: {error}") from None
        else:
            end = text.find(",", position)
            end = len(text) if end < 0 else end
            raw = text[position:end].strip()
            if not raw:
                raise HoconError(f"empty value of {match.group(1)}")
            value, position = (None if raw == "null" else raw), end
        *parents, leaf = match.group(1).split(".")
        target = document
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
        rest = text[position:].lstrip()
        if rest and not rest.startswith(","):
            raise HoconError(f"expected a comma after {match.group(1)}")
        position = len(text) - len(rest) + 1
    return document


@dataclass
class ReceivedJob:
    job_id: str
    mode: str
    owner: str | None
    cohort_uuid: str | None
    callback_path: str | None
    mode_options: dict | None
    syntax: dict  # the parsed cohortDefinitionSyntax
    inputs: dict  # every `input.*` value as received
    params: dict[str, list[str]]  # the query string of the POST
    body: str

    @property
    def sampling(self) -> float | None:
        return (self.mode_options or {}).get("sampling")

    @property
    def details(self) -> str | None:
        return (self.mode_options or {}).get("details")


@dataclass(frozen=True)
class Callback:
    job: ReceivedJob
    url: str
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    callback: Callback
    status_code: int | None  # None when the backend could not be reached
    error: str | None = None


def _printable(message: str) -> str:
    """The QueryExecutor strips every character outside printable ASCII from messages."""
    return "".join(char for char in message if " " <= char <= "~")


def _node_ids(node: dict | None) -> list[int]:
    if not node:
        return []
    ids = [node["_id"]] if "_id" in node else []
    for child in node.get("criteria", []):
        ids += _node_ids(child)
    return ids


class FakeQueryExecutor(FakeServer):
    def __init__(self, *, callback_base_url: str | None = None, token: str | None = None) -> None:
        super().__init__()
        self._port: int | None = None
        self.callback_base_url = callback_base_url
        self.token = token
        self.scenario: str | Callable[[ReceivedJob], dict | None] = "finished"
        self.submission = "accept"
        self.cancel_mode = "kill"
        self.count = 1234
        self.minimum: int | None = None
        self.maximum: int | None = None
        self.perimeter_counts: dict[str, int] = {}
        self.criteria_counts: dict[int, int] = {}
        self.group_count: int | None = None
        self.error_message = "Fake QueryExecutor error: the job failed"
        self.callback_delay = 0.0
        self.hang_seconds = 5.0
        self.hold_callbacks = False
        self.jobs: list[ReceivedJob] = []
        self.pending_callbacks: list[Callback] = []
        self.deliveries: list[Delivery] = []
        self._group_ids = itertools.count(900_001)
        self._ended: set[str] = set()  # job ids whose job already called back
        self._timers: dict[str, threading.Timer] = {}
        self._changed = threading.Condition()
        self._released = threading.Event()
        # Callbacks go through kept-alive connections, as the QueryExecutor's pooled HTTP client sends them.
        self._callbacks = requests.Session()
        self._callbacks.trust_env = False  # the backend is on loopback: no proxy to look up for each callback
        self.route("POST", "/jobs", self._submit)
        self.route("DELETE", "/jobs/{job_id}", self._cancel)

    # -- lifecycle: "refuse" closes the port, any other submission mode opens it again --------------

    @property
    def submission(self) -> str:
        return self._submission

    @submission.setter
    def submission(self, mode: str) -> None:
        self._submission = mode
        running = self._server is not None
        if mode == "refuse" and running:
            super().stop()
        elif mode != "refuse" and not running and self._port is not None:
            super().start()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeQueryExecutor is not started")
        return f"http://127.0.0.1:{self._port}"

    def _make_server(self) -> ThreadingHTTPServer:
        server = super()._make_server()
        if self._port is None:
            self._port = server.server_address[1]
            return server
        # Reopening after "refuse": the backend keeps the URL it was given, so reuse the same port.
        handler = server.RequestHandlerClass
        server.server_close()
        return QuietServer(("127.0.0.1", self._port), handler)

    def start(self):
        self._released.clear()
        return super().start() if self.submission != "refuse" else self

    def stop(self) -> None:
        self._released.set()  # wakes "timeout" handlers
        for timer in list(self._timers.values()):
            timer.cancel()
        self._callbacks.close()
        super().stop()

    # -- inspection ----------------------------------------------------------------------------------

    def job(self, cohort_uuid: str) -> ReceivedJob:
        """The last job received for a backend object."""
        with self._changed:
            matching = [job for job in self.jobs if job.cohort_uuid == str(cohort_uuid)]
        if not matching:
            raise LookupError(f"no job received for {cohort_uuid}")
        return matching[-1]

    def wait_for_job(self, count: int = 1, timeout: float = 10) -> ReceivedJob:
        """The `count`-th job received (waits for it)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.jobs) >= count, timeout):
                raise TimeoutError(f"{len(self.jobs)} job(s) received, waited for {count}")
            return self.jobs[count - 1]

    def wait_for_deliveries(self, count: int = 1, timeout: float = 10) -> list[Delivery]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self.deliveries)} callback(s) delivered, waited for {count}")
            return list(self.deliveries)

    # -- callbacks -----------------------------------------------------------------------------------

    def callback_body(self, job: ReceivedJob, scenario: str | Callable | None = None) -> dict | None:
        scenario = self.scenario if scenario is None else scenario
        if callable(scenario):
            return scenario(job)
        if scenario == "none":
            return None
        if scenario == "error":
            return {"request_job_status": "ERROR", "message": _printable(self.error_message)}
        if scenario == "killed":
            return {"request_job_status": "KILLED", "message": "Job was cancelled"}
        if scenario not in ("finished", "long_pending"):
            raise ValueError(f"unknown scenario {scenario!r}")
        if job.mode in COUNT_MODES and not job.syntax.get("sourcePopulation", {}).get("caresiteCohortList"):
            return {"request_job_status": "ERROR", "message": "The input cannot be processed: no source population"}
        return {"request_job_status": scenario.upper(), **self._result(job)}

    def callback_for(self, job: ReceivedJob, scenario: str | Callable | None = None) -> Callback:
        """A callback of this job (not sent): to deliver by hand, twice, or after another one."""
        headers = {"Content-Type": "application/json"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return Callback(job=job, url=self._callback_url(job), body=self.callback_body(job, scenario), headers=headers)

    def deliver(self, callback: Callback) -> int | None:
        """Sends the PATCH; returns the backend's HTTP status (None if unreachable)."""
        with self._changed:
            self._ended.add(callback.job.job_id)
        try:
            body = json.dumps(callback.body)
            response = self._callbacks.patch(callback.url, data=body, headers=callback.headers, timeout=30)
            delivery = Delivery(callback, response.status_code)
        except requests.RequestException as error:
            delivery = Delivery(callback, None, f"{type(error).__name__}: {error}")
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        return delivery.status_code

    def deliver_pending(self) -> list[int | None]:
        """Delivers every held callback, oldest first."""
        with self._changed:
            callbacks, self.pending_callbacks = self.pending_callbacks, []
        return [self.deliver(callback) for callback in callbacks]

    def _token(self) -> str:
        return (settings.QUERY_EXECUTOR_TOKEN or "") if self.token is None else self.token

    def _callback_url(self, job: ReceivedJob) -> str:
        if job.inputs.get("callbackUrl"):
            return job.inputs["callbackUrl"]
        base = self.callback_base_url or ""
        base = base if "://" in base else f"http://{base}"
        default = "dated-measures" if job.mode in COUNT_MODES else "cohorts"
        return base.rstrip("/") + (job.callback_path or f"/cohort/{default}/{job.cohort_uuid}/")

    def _schedule(self, job: ReceivedJob, scenario: str | Callable | None = None) -> None:
        if not self.callback_base_url and not job.inputs.get("callbackUrl"):
            return
        callback = self.callback_for(job, scenario)
        if callback.body is None:
            return
        with self._changed:
            if self.hold_callbacks:
                self.pending_callbacks.append(callback)
                return
            timer = threading.Timer(self.callback_delay, self._deliver_scheduled, args=(callback,))
            timer.daemon = True
            self._timers[job.job_id] = timer
        timer.start()

    def _deliver_scheduled(self, callback: Callback) -> None:
        with self._changed:
            # in one step, so that a cancellation sees either a pending timer or an ended job
            self._timers.pop(callback.job.job_id, None)
            self._ended.add(callback.job.job_id)
        self.deliver(callback)

    def _result(self, job: ReceivedJob) -> dict:
        """The success body of a job (spec 03 §2.5): every value is a string."""
        count = self.count
        if job.mode == "create":
            group_count = self.group_count
            if group_count is None:
                group_count = round(job.sampling * count) if job.sampling else count
            return {"group.id": str(next(self._group_ids)), "group.count": str(group_count), "extra": {}}
        if job.mode == "count_all":
            minimum = max(count - 30, 0) if self.minimum is None else self.minimum
            maximum = count + 30 if self.maximum is None else self.maximum
            return {"minimum": str(minimum), "maximum": str(maximum), "count": str(count), "extra": {}}
        if job.mode == "count_with_details":
            population = job.syntax.get("sourcePopulation", {}).get("caresiteCohortList", [])
            perimeters = self.perimeter_counts or {str(cohort_id): count for cohort_id in population}
            return {"count": str(count), "extra": {str(k): str(v) for k, v in perimeters.items()}}
        return {"count": str(count), "extra": self._details(job)}

    def _details(self, job: ReceivedJob) -> dict[str, str]:
        details = job.details
        if not details:
            return {}
        ids = _node_ids(job.syntax.get("request"))
        if details == "ratio":
            total = self.count or 1
            return {f"criteria_ratio_{i}": str(self.criteria_counts.get(i, self.count) / total) for i in ids}
        if details != "all":
            ids = [int(i) for i in details.split(",") if i.strip()]
        return {f"criteria_count_{i}": str(self.criteria_counts.get(i, self.count)) for i in ids}

    # -- endpoints -----------------------------------------------------------------------------------

    def _descriptor(self, job_id: str, status: str, class_path: str = "") -> dict:
        return {
            "status": status,
            "jobId": job_id,
            "context": "",
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "duration": "",
            "result": "",
            "classPath": class_path,
        }

    def _submit(self, request: RecordedRequest) -> Reply:
        job_id = str(uuid.uuid4())
        if self.submission == "timeout":
            self._released.wait(self.hang_seconds)
            return Reply(json=self._descriptor(job_id, "RUNNING"))
        if self.submission == "non_json":
            return Reply(body="<html><body>Service temporarily unavailable</body></html>")
        if self.submission == "no_status":
            return Reply(json={"jobId": job_id, "context": ""})
        if self.submission == "http_500":
            # JSON with a valid status: the reference took such an answer for an accepted job.
            return Reply(status=500, json=self._descriptor(job_id, "ERROR"))
        try:
            inputs = parse_job_body(request.body.decode()).get("input", {})
            syntax = json.loads(inputs["cohortDefinitionSyntax"])
            mode = inputs["mode"]
        except (HoconError, KeyError, TypeError, ValueError):
            return _ERROR_PAGE
        job = ReceivedJob(
            job_id=job_id,
            mode=mode,
            owner=inputs.get("ownerEntityId"),
            cohort_uuid=inputs.get("cohortUuid"),
            callback_path=inputs.get("callbackPath"),
            mode_options=inputs.get("modeOptions"),
            syntax=syntax,
            inputs=inputs,
            params=request.query,
            body=request.body.decode(),
        )
        with self._changed:
            self.jobs.append(job)
            self._changed.notify_all()
        self._schedule(job)
        return Reply(json=self._descriptor(job_id, "RUNNING", request.query.get("classPath", [""])[0]))

    def _cancel(self, request: RecordedRequest, job_id: str) -> Reply:
        if self.cancel_mode == "forbidden":
            return Reply(status=403, json={"status": "ERROR", "message": "Forbidden"})
        with self._changed:
            job = next((job for job in self.jobs if job.job_id == job_id), None)
        if job is None:
            return _ERROR_PAGE
        if self.cancel_mode == "finished":
            return Reply(json=self._descriptor(job_id, "FINISHED"))
        if self.cancel_mode == "running":
            return Reply(json=self._descriptor(job_id, "RUNNING"))
        with self._changed:
            timer = self._timers.pop(job_id, None)
            ended = job_id in self._ended
            self.pending_callbacks = [c for c in self.pending_callbacks if c.job.job_id != job_id]
        if timer is not None:
            timer.cancel()
        if not ended:
            self._schedule(job, "killed")
        return Reply(json={**self._descriptor(job_id, "KILLED"), "result": None})
