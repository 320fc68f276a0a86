"""Submitting and cancelling QueryExecutor jobs over HTTP, against the fake QueryExecutor (spec 03 §2)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from cohort.job_server import InvalidJobStatusError, JobRequest, JobServerError, SubmittedJob
from cohort_job_server.server import QueryExecutorJobServer
from tests.fakes.http_server import Reply, closed_port_url

DM = "8c1f8a8e-1111-2222-3333-444455556666"
COHORT = "0b9e3a52-0000-4000-8000-000000000001"
STUDY = "5d7e0c2a-0000-4000-8000-0000000000f5"

server = QueryExecutorJobServer()


def count_query() -> str:
    leaf = {
        "_type": "basicResource",
        "_id": 1,
        "isInclusive": True,
        "resourceType": "DocumentReference",
        "filterSolr": "fq=...",
        "filterFhir": "docstatus=final&subject.active=true",
        "occurrence": {"n": 1, "operator": ">="},
    }
    request = {
        "_type": "andGroup",
        "_id": 0,
        "isInclusive": True,
        "criteria": [leaf],
        "temporalConstraints": [{"idList": [1, 2, 3], "constraintType": "sameEncounter"}],
    }
    population = {"caresiteCohortList": ["1234"]}
    return json.dumps({"version": "v1.6.1", "_type": "request", "sourcePopulation": population, "request": request})


def sample_query(parent_group_id: str = "123456") -> str:
    leaf = {
        "_type": "basicResource",
        "_id": 0,
        "isInclusive": True,
        "resourceType": "Patient",
        "filterSolr": "fq=active:true",
        "filterFhir": "",
    }
    return json.dumps(
        {
            "sourcePopulation": {"caresiteCohortList": [parent_group_id]},
            "resourceType": "Patient",
            "_type": "request",
            "request": leaf,
        }
    )


def job(mode: str = "count", instance_id: str = DM, query: str | None = None, **fields) -> JobRequest:
    return JobRequest(
        mode=mode, instance_id=instance_id, owner="1234567", serialized_query=query or count_query(), **fields
    )


def _leaves(node: dict) -> list[dict]:
    if node.get("_type") == "basicResource":
        return [node]
    return [leaf for child in node.get("criteria", []) for leaf in _leaves(child)]


def failure_of(request: JobRequest) -> str:
    with pytest.raises(JobServerError) as failure:
        server.submit(request)
    reason = str(failure.value)
    assert "Traceback" not in reason and "<html" not in reason
    return reason


class TestExactBody:
    """The two examples of spec 03 §2.2, byte for byte."""

    def test_count_with_details(self, qe):
        server.submit(job(stage_details="all"))
        expected = (
            "input.cohortDefinitionName = Created from C360 backend,"
            'input.cohortDefinitionSyntax = "{\\"instance_id\\":\\"8c1f8a8e-1111-2222-3333-444455556666\\",'
            '\\"sourcePopulation\\":{\\"caresiteCohortList\\":[1234]},\\"_type\\":\\"request\\",\\"request\\":'
            '{\\"_type\\":\\"andGroup\\",\\"_id\\":0,\\"isInclusive\\":true,\\"criteria\\":[{\\"_type\\":'
            '\\"basicResource\\",\\"_id\\":1,\\"isInclusive\\":true,\\"resourceType\\":\\"DocumentReference\\",'
            '\\"filterSolr\\":\\"fq=...\\",\\"filterFhir\\":\\"docstatus=final&subject.active=true\\",'
            '\\"criteria\\":[],\\"occurrence\\":{\\"n\\":1,\\"operator\\":\\">=\\"},\\"dateRangeList\\":[],'
            '\\"temporalConstraints\\":[]}],\\"dateRangeList\\":[],\\"temporalConstraints\\":[{\\"idList\\":'
            '[1,2,3],\\"constraintType\\":\\"sameEncounter\\"}]},\\"temporalConstraints\\":[]}",'
            "input.ownerEntityId = 1234567,input.mode = count,"
            "input.cohortUuid = 8c1f8a8e-1111-2222-3333-444455556666,"
            'input.modeOptions = {"sampling":null,"details":"all"}'
        )
        assert qe.jobs[0].body == expected

    def test_sample_creation(self, qe):
        server.submit(job("create", COHORT, sample_query(), sampling_ratio=0.3))
        expected = (
            "input.cohortDefinitionName = Created from C360 backend,"
            'input.cohortDefinitionSyntax = "{\\"instance_id\\":\\"0b9e3a52-0000-4000-8000-000000000001\\",'
            '\\"sourcePopulation\\":{\\"caresiteCohortList\\":[123456]},\\"resourceType\\":\\"Patient\\",'
            '\\"_type\\":\\"request\\",\\"request\\":{\\"_type\\":\\"basicResource\\",\\"_id\\":0,'
            '\\"isInclusive\\":true,\\"resourceType\\":\\"Patient\\",\\"filterSolr\\":\\"fq=active:true\\",'
            '\\"filterFhir\\":\\"\\",\\"criteria\\":[],\\"dateRangeList\\":[],\\"temporalConstraints\\":[]},'
            '\\"temporalConstraints\\":[]}",'
            "input.ownerEntityId = 1234567,input.mode = create,"
            "input.cohortUuid = 0b9e3a52-0000-4000-8000-000000000001,"
            'input.modeOptions = {"sampling":0.3,"details":null}'
        )
        assert qe.jobs[0].body == expected


class TestSubmission:
    def test_count(self, qe):
        submitted = server.submit(job())
        received = qe.jobs[0]
        assert submitted == SubmittedJob(job_id=received.job_id, status="started")
        assert (received.mode, received.owner, received.cohort_uuid) == ("count", "1234567", DM)
        assert received.mode_options is None and received.callback_path is None
        assert received.syntax["instance_id"] == DM
        assert received.syntax["sourcePopulation"] == {"caresiteCohortList": [1234]}
        assert received.params == {
            "appName": ["omop-spark-job"],
            "classPath": ["fr.aphp.id.eds.requester.CountQuery"],
            "context": ["shared"],
        }
        post = qe.requests_to("/jobs", "POST")[0]
        assert "Content-Type" not in post.headers and "Authorization" not in post.headers

    def test_pseudonymised_jobs_restrict_every_fhir_filter_without_solr(self, qe):
        server.submit(job(pseudonymised=True))
        server.submit(job())
        pseudonymised, nominative = (
            [leaf.get("filterFhir") for leaf in _leaves(received.syntax["request"])] for received in qe.jobs
        )
        security = "meta.security=http://terminology.hl7.org/CodeSystem/v3-ObservationValue|PSEUDED"
        assert pseudonymised == [f"{security}&{f}" if f else security for f in nominative]
        assert nominative and all(security not in (f or "") for f in nominative)

    @pytest.mark.parametrize("details", ["all", "ratio", "1,2"])
    def test_count_with_stage_details(self, qe, details):
        server.submit(job(stage_details=details))
        assert qe.jobs[0].mode_options == {"sampling": None, "details": details}

    def test_count_all_runs_over_the_root_perimeter(self, qe):
        server.submit(job("count_all", source_population=["9999"]))
        received = qe.jobs[0]
        assert received.mode == "count_all"
        assert received.syntax["sourcePopulation"] == {"caresiteCohortList": [9999]}

    def test_create_with_sampling(self, qe):
        server.submit(job("create", COHORT, sample_query(), sampling_ratio=0.3))
        received = qe.jobs[0]
        assert (received.mode, received.cohort_uuid, received.sampling, received.details) == (
            "create",
            COHORT,
            0.3,
            None,
        )
        assert received.params["classPath"] == ["fr.aphp.id.eds.requester.CreateQuery"]
        assert received.params["sync"] == ["false"]

    def test_create_without_options_sends_no_mode_options(self, qe):
        server.submit(job("create", COHORT))
        assert qe.jobs[0].mode_options is None and "modeOptions" not in qe.jobs[0].inputs

    def test_feasibility_study_is_called_back_on_its_own_path(self, qe):
        server.submit(job("count_with_details", STUDY, source_population=["9999"]))
        received = qe.jobs[0]
        assert received.mode == "count_with_details"
        assert received.callback_path == f"/cohort/feasibility-studies/{STUDY}/"

    def test_an_explicit_callback_path_is_sent(self, qe):
        server.submit(job(callback_path="/cohort/elsewhere/1/"))
        assert qe.jobs[0].callback_path == "/cohort/elsewhere/1/"

    def test_unusual_owner_names_are_quoted_not_broken(self, qe):
        server.submit(JobRequest(mode="count", instance_id=DM, owner='jo, "the" #1', serialized_query=count_query()))
        assert qe.jobs[0].owner == 'jo, "the" #1'
        assert qe.jobs[0].cohort_uuid == DM

    def test_the_fake_rejects_a_body_without_mode_like_the_query_executor(self, qe):
        response = requests.post(f"{qe.url}/jobs", data='input.cohortDefinitionSyntax = "{}"', timeout=5)
        assert response.status_code == 500
        assert qe.jobs == []


class TestSubmissionFailures:
    def test_unconfigured_query_executor(self, qe, settings):
        settings.QUERY_EXECUTOR_URL = ""
        assert failure_of(job()) == "The QueryExecutor is not configured (QUERY_EXECUTOR_URL is not set)"

    def test_refused_connection(self, qe):
        qe.submission = "refuse"
        assert "The QueryExecutor at 127.0.0.1:" in failure_of(job())
        qe.submission = "accept"  # the same URL answers again
        assert server.submit(job()).status == "started"

    def test_unreachable_host(self, qe, settings):
        settings.QUERY_EXECUTOR_URL = closed_port_url()
        assert "could not be reached (job submission)" in failure_of(job())

    def test_timeout(self, qe):
        qe.submission = "timeout"
        assert failure_of(job()) == "The QueryExecutor did not answer within 1 seconds (job submission)"

    def test_non_json_answer(self, qe):
        qe.submission = "non_json"
        assert "answered the job submission with something that is not a JSON object" in failure_of(job())

    def test_answer_without_status(self, qe):
        qe.submission = "no_status"
        assert "without a valid job status (no status)" in failure_of(job())

    def test_answer_with_an_unknown_status(self, qe):
        qe.reply("POST", "/jobs", Reply(json={"status": "DANCING", "jobId": "j1"}))
        assert "without a valid job status (status 'DANCING')" in failure_of(job())

    def test_http_error_with_a_json_status_is_not_an_accepted_job(self, qe):
        qe.submission = "http_500"
        assert failure_of(job()) == "The QueryExecutor refused the job (HTTP 500)"

    def test_malformed_body_refused_by_the_query_executor(self, qe):
        qe.reply("POST", "/jobs", Reply(status=400, json={"status": "ERROR"}))
        assert failure_of(job()) == "The QueryExecutor refused the job (HTTP 400)"

    @pytest.mark.parametrize("job_id", [None, "", "  ", 42])
    def test_answer_without_a_job_id(self, qe, job_id):
        qe.reply("POST", "/jobs", Reply(json={"status": "RUNNING", "jobId": job_id}))
        assert failure_of(job()) == "The QueryExecutor accepted the job without giving its job id"

    def test_an_answer_saying_the_job_already_ended(self, qe):
        qe.reply("POST", "/jobs", Reply(json={"status": "ERROR", "jobId": "j1"}))
        assert failure_of(job()) == "The QueryExecutor did not accept the job: it answered ERROR"

    def test_unknown_mode(self, qe):
        assert failure_of(job("count_everything")) == "Unknown job mode 'count_everything'"
        assert qe.jobs == []

    def test_invalid_query_fails_before_calling(self, qe):
        assert failure_of(job(query="{oops")).startswith("Invalid query: the serialized query is not valid JSON")
        assert qe.requests == []


class TestCancel:
    def test_a_running_job_is_killed(self, qe):
        job_id = server.submit(job()).job_id
        assert server.cancel(job_id) == "cancelled"
        assert qe.requests_to(f"/jobs/{job_id}", "DELETE")

    def test_forbidden_means_the_job_already_ended(self, qe):
        qe.cancel_mode = "forbidden"
        assert server.cancel("any-job") == "finished"

    def test_a_job_that_finished_meanwhile(self, qe):
        job_id = server.submit(job()).job_id
        qe.cancel_mode = "finished"
        assert server.cancel(job_id) == "finished"

    def test_unknown_job(self, qe):
        with pytest.raises(JobServerError, match=r"^The QueryExecutor could not cancel the job \(HTTP 500\)$"):
            server.cancel("forgotten-after-a-restart")

    def test_an_answer_that_is_not_a_cancellation(self, qe):
        job_id = server.submit(job()).job_id
        qe.cancel_mode = "running"
        with pytest.raises(JobServerError, match="answered the cancellation with status RUNNING"):
            server.cancel(job_id)

    @pytest.mark.parametrize(
        ("reply", "reason"),
        [
            (Reply(json={"jobId": "j"}), "without a valid job status"),
            (Reply(body="KILLED"), "not a JSON object"),
            (Reply(status=404, json={"status": "KILLED"}), r"\(HTTP 404\)"),
        ],
    )
    def test_unusable_answers(self, qe, reply, reason):
        qe.reply("DELETE", "/jobs/{job_id}", reply)
        with pytest.raises(JobServerError, match=reason):
            server.cancel("j")

    def test_unreachable(self, qe):
        qe.submission = "refuse"
        with pytest.raises(JobServerError, match="could not be reached"):
            server.cancel("j")

    def test_no_job_id(self, qe):
        with pytest.raises(JobServerError, match="no QueryExecutor job id"):
            server.cancel("")


class TestStatusMapping:
    @pytest.mark.parametrize(
        ("word", "status"),
        [
            ("KILLED", "cancelled"),
            ("FINISHED", "finished"),
            ("RUNNING", "started"),
            ("STARTED", "started"),
            ("ERROR", "failed"),
            ("UNKNOWN", "unknown"),
            ("PENDING", "pending"),
            ("LONG_PENDING", "long_pending"),
            ("finished", "finished"),
            ("Long_Pending", "long_pending"),
            ("started", "started"),
        ],
    )
    def test_query_executor_words(self, word, status):
        assert server.map_status(word) == status

    @pytest.mark.parametrize("word", ["failed", "cancelled", "", "DONE", None, 3, ["FINISHED"]])
    def test_anything_else_is_invalid(self, word):
        with pytest.raises(InvalidJobStatusError) as failure:
            server.map_status(word)
        assert str(failure.value) == f"Bad Request: Invalid job status: {word}"


def test_a_cancellation_that_times_out(qe):
    qe.route("DELETE", "/jobs/{job_id}", lambda request, job_id: time.sleep(2) or Reply(json={"status": "KILLED"}))
    with pytest.raises(JobServerError) as failure:
        server.cancel("j")
    assert str(failure.value) == "The QueryExecutor did not answer within 1 seconds (job cancellation)"
