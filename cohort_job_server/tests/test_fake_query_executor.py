"""The fake QueryExecutor's callbacks (spec 03 §2.5), which the end-to-end tests of the backend rely on."""

from __future__ import annotations

import json

import pytest

from cohort.job_server import JobRequest
from cohort_job_server.server import QueryExecutorJobServer
from tests.fakes.query_executor import HoconError, parse_job_body

UUID = "8c1f8a8e-1111-2222-3333-444455556666"
server = QueryExecutorJobServer()


def query(*leaf_ids: int, perimeters=("11", "22")) -> str:
    leaves = [{"_type": "basicResource", "_id": i, "resourceType": "Condition"} for i in leaf_ids]
    request = {"_type": "andGroup", "_id": -1, "criteria": leaves}
    return json.dumps({"sourcePopulation": {"caresiteCohortList": list(perimeters)}, "request": request})


def submit(mode: str = "count", *leaf_ids: int, **fields) -> None:
    server.submit(JobRequest(mode=mode, instance_id=UUID, owner="u1", serialized_query=query(*leaf_ids), **fields))


@pytest.fixture
def qe_calling_back(qe, backend):
    qe.callback_base_url = backend.url
    return qe


def callbacks(backend, count: int = 1):
    return [request for request in backend.requests if request.method == "PATCH"][:count]


class TestParser:
    def test_values_with_commas_and_quotes(self):
        body = 'input.a = x y,input.b = "q,\\"r\\"",input.c = {"k":[1,2]},input.d = null,other.e : 3'
        assert parse_job_body(body) == {
            "input": {"a": "x y", "b": 'q,"r"', "c": {"k": [1, 2]}, "d": None},
            "other": {"e": "3"},
        }

    @pytest.mark.parametrize("body", ["input.a", "input.a = ,input.b = 1", 'input.a = "open', 'input.a = "x" y'])
    def test_syntax_errors(self, body):
        with pytest.raises(HoconError):
            parse_job_body(body)


class TestCallbacks:
    def test_count_finished(self, qe_calling_back, backend):
        submit("count", 1)
        delivery = qe_calling_back.wait_for_deliveries(1)[0]
        assert delivery.status_code == 200
        (patch,) = callbacks(backend)
        assert patch.path == f"/cohort/dated-measures/{UUID}/"
        assert patch.headers["Authorization"] == "Bearer qe-static-token"
        assert patch.json == {"request_job_status": "FINISHED", "count": "1234", "extra": {}}

    def test_count_with_details_of_every_criterion(self, qe_calling_back, backend):
        qe_calling_back.criteria_counts = {2: 50}
        submit("count", 1, 2, stage_details="all")
        qe_calling_back.wait_for_deliveries(1)
        extra = callbacks(backend)[0].json["extra"]
        assert extra == {"criteria_count_-1": "1234", "criteria_count_1": "1234", "criteria_count_2": "50"}

    def test_count_all_sends_an_obfuscated_range(self, qe_calling_back, backend):
        qe_calling_back.count, qe_calling_back.minimum, qe_calling_back.maximum = 500, 460, 540
        submit("count_all", 1, source_population=["9999"])
        qe_calling_back.wait_for_deliveries(1)
        body = callbacks(backend)[0].json
        assert body == {"request_job_status": "FINISHED", "minimum": "460", "maximum": "540", "count": "500"} | {
            "extra": {}
        }

    def test_feasibility_counts_per_perimeter(self, qe_calling_back, backend):
        qe_calling_back.perimeter_counts = {"9999": 1234, "11": 1000, "22": 234}
        submit("count_with_details", 1, source_population=["9999"])
        qe_calling_back.wait_for_deliveries(1)
        (patch,) = callbacks(backend)
        assert patch.path == f"/cohort/feasibility-studies/{UUID}/"
        assert patch.json["extra"] == {"9999": "1234", "11": "1000", "22": "234"}

    def test_sample_creation(self, qe_calling_back, backend):
        qe_calling_back.count = 1000
        submit("create", 1, sampling_ratio=0.25)
        qe_calling_back.wait_for_deliveries(1)
        (patch,) = callbacks(backend)
        assert patch.path == f"/cohort/cohorts/{UUID}/"
        assert patch.json["request_job_status"] == "FINISHED" and patch.json["group.count"] == "250"
        assert patch.json["group.id"].isdigit()

    @pytest.mark.parametrize(
        ("scenario", "body"),
        [
            ("error", {"request_job_status": "ERROR", "message": "Fake QueryExecutor error: the job failed"}),
            ("killed", {"request_job_status": "KILLED", "message": "Job was cancelled"}),
        ],
    )
    def test_failures(self, qe_calling_back, backend, scenario, body):
        qe_calling_back.scenario = scenario
        submit("count", 1)
        qe_calling_back.wait_for_deliveries(1)
        assert callbacks(backend)[0].json == body

    def test_a_count_without_source_population_fails(self, qe_calling_back, backend):
        server.submit(JobRequest(mode="count", instance_id=UUID, owner="u1", serialized_query=query(1, perimeters=())))
        qe_calling_back.wait_for_deliveries(1)
        assert callbacks(backend)[0].json["request_job_status"] == "ERROR"

    def test_large_cohort(self, qe_calling_back, backend):
        qe_calling_back.scenario = "long_pending"
        submit("create", 1)
        qe_calling_back.wait_for_deliveries(1)
        assert callbacks(backend)[0].json["request_job_status"] == "LONG_PENDING"

    def test_no_callback(self, qe_calling_back, backend):
        qe_calling_back.scenario = "none"
        submit("count", 1)
        with pytest.raises(TimeoutError):
            qe_calling_back.wait_for_deliveries(1, timeout=0.3)

    def test_held_callbacks_are_delivered_in_any_order_and_more_than_once(self, qe_calling_back, backend):
        qe_calling_back.hold_callbacks = True
        submit("count", 1)
        (finished,) = qe_calling_back.pending_callbacks
        late_error = qe_calling_back.callback_for(qe_calling_back.jobs[0], "error")
        assert [qe_calling_back.deliver(c) for c in (late_error, finished, finished)] == [200, 200, 200]
        statuses = [patch.json["request_job_status"] for patch in callbacks(backend, 3)]
        assert statuses == ["ERROR", "FINISHED", "FINISHED"]

    def test_cancelling_replaces_the_result_with_a_killed_callback(self, qe_calling_back, backend):
        qe_calling_back.hold_callbacks = True
        submit("count", 1)
        assert server.cancel(qe_calling_back.jobs[0].job_id) == "cancelled"
        (killed,) = qe_calling_back.pending_callbacks
        assert killed.body["request_job_status"] == "KILLED"
        assert qe_calling_back.deliver_pending() == [200]

    def test_a_job_that_already_called_back_is_not_called_back_again(self, qe_calling_back, backend):
        submit("count", 1)
        qe_calling_back.wait_for_deliveries(1)
        server.cancel(qe_calling_back.jobs[0].job_id)
        with pytest.raises(TimeoutError):
            qe_calling_back.wait_for_deliveries(2, timeout=0.3)

    def test_messages_keep_printable_ascii_only(self, qe_calling_back, backend):
        qe_calling_back.scenario, qe_calling_back.error_message = "error", "Échec\nde la requête"
        submit("count", 1)
        qe_calling_back.wait_for_deliveries(1)
        assert callbacks(backend)[0].json["message"] == "checde la requte"
