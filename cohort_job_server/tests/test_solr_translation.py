"""FHIR -> Solr translation of the criteria before submission (spec 02 §5.3, spec 03 §5), against a fake FHIR."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from cohort.job_server import AuthHeaders, JobRequest, JobServerError
from cohort_job_server.server import QueryExecutorJobServer
from tests.fakes.fhir_server import solr_filter
from tests.fakes.http_server import Reply, closed_port_url

DM = "8c1f8a8e-1111-2222-3333-444455556666"
AUTH = AuthHeaders(authorization="Bearer user-token", authorization_method="OIDC", trace_id="trace-42")
PSEUDED = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue|PSEUDED"

server = QueryExecutorJobServer()


def leaf(_id: int, resource: str = "Condition", filter_fhir: str | None = "code=E11", **fields) -> dict:
    node = {"_type": "basicResource", "_id": _id, "isInclusive": True, "resourceType": resource, **fields}
    if filter_fhir is not None:
        node["filterFhir"] = filter_fhir
    return node


def group(*criteria: dict, _id: int = -1, kind: str = "andGroup") -> dict:
    return {"_type": kind, "_id": _id, "isInclusive": True, "criteria": list(criteria)}


def submitted(request: dict, *, auth: AuthHeaders = AUTH, pseudonymised: bool = False, qe=None) -> dict:
    """Submits a count of this criteria tree and returns the syntax the QueryExecutor received."""
    query = {"sourcePopulation": {"caresiteCohortList": ["1"]}, "request": request}
    server.submit(
        JobRequest(
            mode="count",
            instance_id=DM,
            owner="u1",
            serialized_query=json.dumps(query),
            auth=auth,
            pseudonymised=pseudonymised,
        )
    )
    return qe.jobs[-1].syntax["request"]


def failure_of(request: dict, **options) -> str:
    with pytest.raises(JobServerError) as failure:
        submitted(request, **options)
    return str(failure.value)


class TestTranslation:
    def test_every_leaf_gets_its_solr_filter_through_groups(self, qe, fhir):
        tree = group(
            leaf(1, "Condition", "code=E11"),
            group(leaf(2, "medicationRequest", "code=A10"), leaf(3, "Encounter", ""), _id=-2, kind="orGroup"),
        )
        request = submitted(tree, qe=qe)
        condition, inner = request["criteria"]
        medication, encounter = inner["criteria"]
        assert condition["filterSolr"] == "fq=code:E11"
        assert medication["filterSolr"] == "fq=code:A10"
        assert encounter["filterSolr"] == "fq=*:*"
        assert list(condition)[3:6] == ["resourceType", "filterSolr", "filterFhir"]
        assert "filterSolr" not in request and "filterSolr" not in inner
        paths = sorted(r.path for r in fhir.translations())
        assert paths == ["/Condition/$query", "/Encounter/$query", "/MedicationRequest/$query"]
        assert qe.requests_to("/jobs", "POST")  # submitted after the translations

    def test_the_user_s_credentials_and_trace_id_are_forwarded(self, qe, fhir):
        submitted(group(leaf(1), leaf(2, "Procedure")), qe=qe)
        for call in fhir.translations():
            assert call.headers["Authorization"] == "Bearer user-token"
            assert call.headers["AUTHORIZATIONMETHOD"] == "OIDC"
            assert call.headers["X-Trace-Id"] == "trace-42"

    def test_a_job_without_trace_id_gets_one_for_all_its_calls(self, qe, fhir):
        submitted(group(leaf(1), leaf(2)), auth=AuthHeaders(authorization="Bearer t"), qe=qe)
        trace_ids = {call.headers["X-Trace-Id"] for call in fhir.translations()}
        assert len(trace_ids) == 1
        assert uuid.UUID(trace_ids.pop())
        assert all("AUTHORIZATIONMETHOD" not in call.headers for call in fhir.translations())

    def test_repeated_keys_and_url_encoded_values(self, qe, fhir):
        filter_fhir = "code=http%3A%2F%2Fcim10%7CE11&code=E12&subject.active=true&&recordedDate=ge2020-01-01"
        request = submitted(leaf(1, filter_fhir=filter_fhir), qe=qe)
        (call,) = fhir.translations()
        assert call.query == {
            "code": ["http://cim10|E11", "E12"],
            "subject.active": ["true"],
            "recordedDate": ["ge2020-01-01"],
        }
        assert request["filterSolr"] == solr_filter(call.query)
        assert request["filterFhir"] == filter_fhir  # the QueryExecutor still receives the original

    def test_a_leaf_without_filter_is_translated_without_parameters(self, qe, fhir):
        request = submitted(leaf(1, "Patient", filter_fhir=None), qe=qe)
        assert fhir.translations()[0].query == {}
        assert request["filterSolr"] == "fq=*:*"

    def test_solr_is_off(self, qe, fhir, settings):
        settings.USE_SOLR = False
        request = submitted(leaf(1, filterSolr="fq=given"), qe=qe)
        assert request["filterSolr"] == "fq=given"
        assert fhir.requests == []

    def test_leaves_are_translated_in_parallel(self, qe, fhir):
        leaves = 4
        # Each answer waits until all the leaves' calls are in flight: one call at a time would break the barrier.
        barrier = threading.Barrier(leaves, timeout=5)

        def together(request, resource):
            barrier.wait()
            return Reply(json={"resourceType": "Parameters", "parameter": [{"name": "fq", "valueString": "fq=x"}]})

        fhir.route("GET", "/{resource}/$query", together)
        request = submitted(group(*(leaf(i) for i in range(1, leaves + 1))), qe=qe)
        assert [node["filterSolr"] for node in request["criteria"]] == ["fq=x"] * leaves

    def test_pseudonymised_jobs_only_match_pseudonymised_data(self, qe, fhir, settings):
        settings.TEST_FHIR_QUERIES = True
        request = submitted(group(leaf(1), leaf(2, "IPPList", "identifier.value=8001")), pseudonymised=True, qe=qe)
        for call in fhir.requests:
            assert call.query["meta.security"] == [PSEUDED]
        assert request["criteria"][0]["filterSolr"] == f"fq=code:E11&fq=meta.security:{PSEUDED}"

    def test_nominative_jobs_have_no_security_filter(self, qe, fhir):
        submitted(leaf(1), qe=qe)
        assert "meta.security" not in fhir.translations()[0].query


class TestIppLists:
    def test_identifiers_filter_patients_and_other_parts_go_to_fhir(self, qe, fhir):
        filter_fhir = "identifier.value=8000001%2C8000002&active=true&identifier.value=8000003"
        request = submitted(leaf(1, "IPPList", filter_fhir), qe=qe)
        (call,) = fhir.translations()
        assert call.path == "/Patient/$query"
        assert call.query == {"active": ["true"]}
        assert request["filterSolr"] == "fq=active:true&fq=identifier.value:(8000001 8000002 8000003)"
        assert request["resourceType"] == "IPPList"

    def test_identifiers_only(self, qe, fhir):
        request = submitted(leaf(1, "ipplist", "identifier.value=8000001,8000002"), qe=qe)
        assert request["filterSolr"] == "fq=*:*&fq=identifier.value:(8000001 8000002)"

    def test_identifiers_cannot_inject_solr_syntax(self, qe, fhir):
        request = submitted(leaf(1, "IPPList", "identifier.value=1) OR (*"), qe=qe)
        assert request["filterSolr"].endswith(r"fq=identifier.value:(1\)\ OR\ \(\*)")

    def test_a_list_without_identifiers_is_refused(self, qe, fhir):
        reason = failure_of(leaf(4, "IPPList", "active=true"), qe=qe)
        assert reason == "Cannot translate criterion 4 (IPPList): the list has no patient identifier (identifier.value)"
        assert fhir.requests == [] and qe.jobs == []


class TestMalformedFilters:
    def test_a_raw_equal_sign_in_a_value(self, qe, fhir):
        reason = failure_of(group(leaf(1), leaf(2, "Observation", "code=a=b")), qe=qe)
        assert reason == (
            "Cannot translate criterion 2 (Observation): the value of 'code' contains a raw '=' "
            "(it must be URL-encoded as %3D)"
        )
        assert qe.jobs == []

    def test_a_part_without_value(self, qe, fhir):
        reason = failure_of(leaf(3, "Claim", "code=a&oops"), qe=qe)
        assert reason == "Cannot translate criterion 3 (Claim): malformed filter part 'oops' (expected key=value)"


class TestValidationSearch:
    def test_each_filter_is_tried_as_a_search_first(self, qe, fhir, settings):
        settings.TEST_FHIR_QUERIES = True
        submitted(leaf(1, filter_fhir="code=E11&code=E12"), qe=qe)
        search, translation = fhir.requests
        assert search.path == "/Condition"
        assert search.query == {"code": ["E11", "E12"], "_count": ["0"]}
        assert search.headers["Authorization"] == "Bearer user-token"
        assert translation.path == "/Condition/$query"

    def test_a_failed_search_fails_the_job(self, qe, fhir, settings):
        settings.TEST_FHIR_QUERIES = True
        fhir.reply("GET", "/Condition", Reply(status=400, json={"resourceType": "OperationOutcome"}))
        reason = failure_of(leaf(1), qe=qe)
        assert reason == "The FHIR server refused the search of criterion 1 (Condition): HTTP 400"
        assert fhir.translations() == []


class TestFhirFailures:
    @pytest.mark.parametrize("status", [400, 403, 404, 500, 503])
    def test_error_statuses(self, qe, fhir, status):
        fhir.error_status = status
        reason = failure_of(group(leaf(1), leaf(2, "Specimen")), qe=qe)
        assert reason == f"The FHIR server refused the translation of criterion 1 (Condition): HTTP {status}"
        assert qe.jobs == []

    def test_expired_user_token(self, qe, fhir):
        fhir.reply("GET", "/Specimen/$query", Reply(status=401))
        reason = failure_of(group(leaf(1), leaf(2, "Specimen")), qe=qe)
        assert reason == (
            "The FHIR server refused the translation of criterion 2 (Specimen): HTTP 401"
            " - the user's session may have expired"
        )

    def test_unreachable(self, qe, fhir, settings):
        settings.FHIR_URL = closed_port_url()
        reason = failure_of(leaf(1), qe=qe)
        assert reason == "The FHIR server could not be reached (the translation of criterion 1 (Condition))"

    def test_timeout(self, qe, fhir):
        fhir.delay = 2
        reason = failure_of(leaf(1), qe=qe)
        assert reason == "The FHIR server did not answer within 1 seconds (the translation of criterion 1 (Condition))"

    def test_not_configured(self, qe, fhir, settings):
        settings.FHIR_URL = ""
        assert failure_of(leaf(1), qe=qe) == "Criteria cannot be translated for Solr: FHIR_URL is not set"

    @pytest.mark.parametrize(
        "answer",
        [
            Reply(body="<html>gateway</html>"),
            Reply(json=["fq=x"]),
            Reply(json={"resourceType": "Parameters", "parameter": []}),
            Reply(json={"resourceType": "OperationOutcome", "issue": []}),
            Reply(json={"resourceType": "Parameters", "parameter": [{"valueString": "fq=x"}]}),
            Reply(json={"resourceType": "Parameters", "parameter": [{"name": "fq", "valueString": 3}]}),
        ],
    )
    def test_malformed_parameters(self, qe, fhir, answer):
        fhir.reply("GET", "/Condition/$query", answer)
        reason = failure_of(leaf(1), qe=qe)
        assert reason.startswith("The FHIR server answered the translation of criterion 1 (Condition)")

    def test_parameters_without_fq_leave_the_filter_unset(self, qe, fhir):
        answer = {"resourceType": "Parameters", "parameter": [{"name": "collection", "valueString": "c"}]}
        fhir.reply("GET", "/Condition/$query", Reply(json=answer))
        assert "filterSolr" not in submitted(leaf(1), qe=qe)


class TestStoredTranslation:
    """Refresh schedules translate once with the owner's credentials and submit the translation later."""

    def translation(self, *, pseudonymised: bool = False) -> str:
        date_range = {"minDate": "2020-01-01", "datePreference": ["All"]}
        query = {
            "version": "v1.6.1",
            "sourcePopulation": {"caresiteCohortList": ["1"]},
            "request": group(leaf(1, dateRangeList=[date_range]), leaf(2, "IPPList", "identifier.value=8001")),
        }
        schedule = JobRequest(
            mode="count",
            instance_id="00000000-0000-4000-8000-00000000000a",
            owner="u1",
            serialized_query=json.dumps(query),
            auth=AUTH,
            pseudonymised=pseudonymised,
        )
        return server.translate(schedule)

    def test_the_translation_is_the_normalised_query_with_its_solr_filters(self, qe, fhir):
        translated = json.loads(self.translation())
        assert "version" not in translated
        first, ipp = translated["request"]["criteria"]
        assert first["filterSolr"] == "fq=code:E11"
        assert first["dateRangeList"][0]["datePreference"] == ["All"]  # rewritten only on the wire
        assert ipp["filterSolr"] == "fq=*:*&fq=identifier.value:(8001)"
        assert qe.requests == []

    def test_a_translated_query_is_submitted_without_calling_fhir(self, qe, fhir):
        translated = self.translation(pseudonymised=True)
        fhir.clear_requests()
        run = JobRequest(mode="count", instance_id=DM, owner="u1", serialized_query="{}", translated_query=translated)
        server.submit(run)
        assert fhir.requests == []
        received = qe.jobs[0]
        assert (received.cohort_uuid, received.syntax["instance_id"]) == (DM, DM)
        first = received.syntax["request"]["criteria"][0]
        assert first["filterSolr"] == f"fq=code:E11&fq=meta.security:{PSEUDED}"
        assert first["dateRangeList"][0]["datePreference"] == "all"

    def test_a_failed_translation(self, qe, fhir):
        fhir.error_status = 500
        with pytest.raises(JobServerError, match="HTTP 500"):
            self.translation()
