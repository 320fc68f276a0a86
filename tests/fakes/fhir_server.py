"""A fake FHIR server for the criteria translation (spec 03 §5.3).

* `GET /{Resource}/$query?<params>` → a `Parameters` resource whose `fq` is `solr_filter(params)`, a
  deterministic function of the received parameters, and whose `collection` names the resource;
* `GET /{Resource}?<params>` → an empty `Bundle` (the TEST_FHIR_QUERIES validation search).

`delay` (seconds) slows every answer down; `error_status` makes every call fail with that status. To break
one resource or answer a malformed body, override its route: `fhir.reply("GET", "/Condition/$query",
Reply(json={...}))`. `translations()` and `searches()` return the recorded requests (headers, query).
"""

from __future__ import annotations

import time

from tests.fakes.http_server import FakeServer, RecordedRequest, Reply


def solr_filter(params: dict[str, list[str]]) -> str:
    """`fq=key:value` for every received pair, sorted, joined by `&`; `fq=*:*` without parameters."""
    pairs = sorted((key, value) for key, values in params.items() for value in values)
    return "&".join(f"fq={key}:{value}" for key, value in pairs) or "fq=*:*"


class FakeFhirServer(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.error_status: int | None = None
        self.route("GET", "/{resource}", self._search)
        self.route("GET", "/{resource}/$query", self._translate)

    def translations(self) -> list[RecordedRequest]:
        return self.requests_to("/$query", "GET")

    def searches(self) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.method == "GET" and not r.path.endswith("/$query")]

    def _failure(self) -> Reply | None:
        time.sleep(self.delay)
        if self.error_status is None:
            return None
        issue = {"severity": "error", "code": "processing", "diagnostics": "fake FHIR failure"}
        return Reply(status=self.error_status, json={"resourceType": "OperationOutcome", "issue": [issue]})

    def _translate(self, request: RecordedRequest, resource: str) -> Reply:
        failure = self._failure()
        if failure:
            return failure
        parameters = [
            {"name": "collection", "valueString": f"{resource[:1].lower()}{resource[1:]}Aphp"},
            {"name": "fq", "valueString": solr_filter(request.query)},
        ]
        return Reply(json={"resourceType": "Parameters", "parameter": parameters})

    def _search(self, request: RecordedRequest, resource: str) -> Reply:
        failure = self._failure()
        if failure:
            return failure
        return Reply(json={"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []})
