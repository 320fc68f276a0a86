"""The request JSON as the QueryExecutor receives it (spec 02 §5.2, key order of spec 03 §2.2)."""

from __future__ import annotations

import json

import pytest

from cohort.job_server import JobServerError
from cohort_job_server.query import basic_resources, normalise, serialise, set_filter_solr

INSTANCE = "8c1f8a8e-1111-2222-3333-444455556666"


def normalised(query: dict, **options) -> dict:
    return normalise(json.dumps(query), instance_id=INSTANCE, **options)


def leaf(_id: int = 1, **fields) -> dict:
    return {"_id": _id, "_type": "basicResource", "isInclusive": True, "resourceType": "Condition", **fields}


def query_of(request: dict, **top) -> dict:
    return {"version": "v1.6.1", "sourcePopulation": {"caresiteCohortList": ["8312002244"]}, "request": request, **top}


class TestKeys:
    def test_top_level_and_criteria_keys_follow_the_models_order(self):
        query = {
            "temporalConstraints": [],
            "request": {
                "nAmongMOptions": {"operator": ">=", "n": 2},
                "criteria": [
                    {
                        "dateRangeList": [],
                        "occurrence": {"operator": ">=", "n": 1},
                        "filterFhir": "code=E11",
                        "resourceType": "Condition",
                        "isInclusive": True,
                        "_id": 1,
                        "_type": "basicResource",
                        "encounterDateRange": {"maxDate": "2024-01-01", "minDate": "2020-01-01"},
                        "patientAge": {"maxAge": "90-0-0", "minAge": "18-0-0"},
                        "dateRange": {"minDate": "2020-01-01"},
                        "filterSolr": "fq=code:E11",
                    }
                ],
                "isInclusive": True,
                "_id": 0,
                "_type": "nAmongM",
            },
            "_type": "request",
            "resourceType": "Patient",
            "sourcePopulation": {"caresiteCohortList": ["1"]},
            "cohortName": "Diabetics",
            "version": "v1.6.1",
        }
        result = normalised(query)
        assert list(result) == [
            "instance_id",
            "cohortName",
            "sourcePopulation",
            "resourceType",
            "_type",
            "request",
            "temporalConstraints",
        ]
        group = result["request"]
        assert list(group) == [
            "_type",
            "_id",
            "isInclusive",
            "criteria",
            "dateRangeList",
            "temporalConstraints",
            "nAmongMOptions",
        ]
        assert group["nAmongMOptions"] == {"n": 2, "operator": ">="}
        assert list(group["criteria"][0]) == [
            "_type",
            "_id",
            "isInclusive",
            "resourceType",
            "filterSolr",
            "filterFhir",
            "patientAge",
            "criteria",
            "occurrence",
            "dateRange",
            "dateRangeList",
            "encounterDateRange",
            "temporalConstraints",
        ]
        assert list(group["criteria"][0]["encounterDateRange"]) == ["minDate", "maxDate"]
        assert list(group["criteria"][0]["patientAge"]) == ["minAge", "maxAge"]
        assert serialise(result).startswith(f'{{"instance_id":"{INSTANCE}","cohortName":"Diabetics","sourcePopulation"')

    def test_unknown_keys_are_dropped_at_every_level(self):
        constraint = {"id": 7, "idList": [1, 2], "constraintType": "sameEncounter", "colour": "red"}
        query = query_of(
            {"_type": "andGroup", "_id": 0, "isInclusive": True, "title": "x", "criteria": [leaf(foo="bar")]},
            temporalConstraints=[constraint],
            extra={"a": 1},
        )
        result = normalised(query)
        assert "version" not in result and "extra" not in result
        assert "title" not in result["request"]
        assert "foo" not in result["request"]["criteria"][0]
        assert result["temporalConstraints"] == [{"idList": [1, 2], "constraintType": "sameEncounter"}]

    def test_nulls_are_omitted_and_absent_lists_become_empty(self):
        query = query_of(leaf(encounterDateRange=None, filterFhir=None, criteria=None, occurrence=None))
        del query["request"]["isInclusive"]
        result = normalised(query)
        assert result["request"] == {
            "_type": "basicResource",
            "_id": 1,
            "resourceType": "Condition",
            "criteria": [],
            "dateRangeList": [],
            "temporalConstraints": [],
        }
        assert result["temporalConstraints"] == []

    def test_n_among_m_and_temporal_constraints_are_kept_whole(self):
        duration = {"years": 1, "days": 2, "weeks": 3}
        constraint = {
            "idList": [1, 2],
            "constraintType": "directChronologicalOrdering",
            "datePreferenceList": [["Start", "End"]],
            "timeRelationMinDuration": duration,
            "timeRelationMaxDuration": {"months": 6},
            "occurrenceChoiceList": [{"1": "first"}],
            "dateIsNotNullList": [True, False],
            "filteredCriteriaIdList": [2],
        }
        group = {
            "_type": "nAmongM",
            "_id": -1,
            "isInclusive": True,
            "nAmongMOptions": {"n": "2", "operator": "<="},
            "criteria": [leaf(1), leaf(2, resourceType="procedure")],
            "temporalConstraints": [constraint],
        }
        result = normalised(query_of(group))
        kept = result["request"]
        assert kept["nAmongMOptions"] == {"n": 2, "operator": "<="}
        assert kept["temporalConstraints"] == [
            {**constraint, "timeRelationMinDuration": {"years": 1, "days": 2}},
        ]
        assert kept["criteria"][1]["resourceType"] == "Procedure"  # matched case-insensitively


class TestValues:
    def test_perimeter_cohort_ids_become_integers(self):
        result = normalised(query_of(leaf(), sourcePopulation={"caresiteCohortList": ["8312002244", 12, "007"]}))
        assert result["sourcePopulation"] == {"caresiteCohortList": [8312002244, 12, 7]}

    def test_instance_id_is_the_job_s_even_if_the_query_has_one(self):
        result = normalised(query_of(leaf(), instance_id="00000000-0000-4000-8000-000000000000"))
        assert result["instance_id"] == INSTANCE

    def test_source_population_is_replaced_for_whole_hospital_jobs(self):
        result = normalised(query_of(leaf()), source_population=["9999"])
        assert result["sourcePopulation"] == {"caresiteCohortList": [9999]}

    def test_a_replaced_source_population_may_be_missing_from_the_query(self):
        query = {"request": leaf()}
        assert normalised(query, source_population=["1"])["sourcePopulation"] == {"caresiteCohortList": [1]}

    def test_single_item_lists_of_all_true_false_become_scalars(self):
        date_range = {"minDate": "2020-01-01", "datePreference": ["All"], "dateIsNotNull": True}
        constraint = {"idList": [1], "dateIsNotNullList": [True], "occurrenceChoiceList": [False]}
        query = query_of(
            leaf(dateRangeList=[date_range], filterSolr="fq=flag:[true]&fq=x:[false]", temporalConstraints=[constraint])
        )
        text = serialise(normalised(query))
        syntax = json.loads(text)["request"]
        assert syntax["dateRangeList"][0]["datePreference"] == "all"
        assert syntax["temporalConstraints"][0]["dateIsNotNullList"] is True
        assert syntax["temporalConstraints"][0]["occurrenceChoiceList"] is False
        assert syntax["temporalConstraints"][0]["idList"] == [1]  # [1] is not [true]
        assert syntax["filterSolr"] == "fq=flag:[true]&fq=x:[false]"  # text inside strings is left alone

    def test_serialisation_is_compact_and_keeps_accents(self):
        text = serialise(normalised(query_of(leaf(filterFhir="code:text=diabète"))))
        assert ", " not in text and ": " not in text
        assert "diabète" in text


class TestLeaves:
    def test_basic_resources_are_found_through_groups_in_tree_order(self):
        inner = {"_type": "orGroup", "_id": -2, "criteria": [leaf(2), leaf(3)]}
        query = normalised(query_of({"_type": "andGroup", "_id": -1, "criteria": [leaf(1), inner, leaf(4)]}))
        assert [node["_id"] for node in basic_resources(query)] == [1, 2, 3, 4]

    def test_filter_solr_takes_its_place_in_the_key_order(self):
        query = normalised(query_of(leaf(filterFhir="code=E11")))
        node = next(basic_resources(query))
        set_filter_solr(node, "fq=code:E11")
        assert list(node)[3:6] == ["resourceType", "filterSolr", "filterFhir"]
        set_filter_solr(node, None)
        assert "filterSolr" not in node


class TestInvalidQueries:
    @pytest.mark.parametrize(
        ("serialized", "reason"),
        [
            ("{not json", "Invalid query: the serialized query is not valid JSON"),
            ("[1, 2]", "Invalid query: the query must be a JSON object"),
            ('{"request": {}}', "Invalid query: sourcePopulation is required"),
            ('{"sourcePopulation": {"caresiteCohortList": ["abc"]}}', "sourcePopulation.caresiteCohortList[0] must"),
            ('{"sourcePopulation": {}, "request": {"_id": "one"}}', "request._id must be an integer"),
            ('{"sourcePopulation": {}, "request": {"_type": "xorGroup"}}', "request._type is not a known criterion"),
            (
                '{"sourcePopulation": {}, "request": {"criteria": [{"resourceType": "Pizza"}]}}',
                "request.criteria[0].resourceType is not a known resource type",
            ),
            (
                '{"sourcePopulation": {}, "request": {"occurrence": {"operator": ">="}}}',
                "request.occurrence.n is required",
            ),
            ('{"sourcePopulation": {}, "request": {"criteria": {}}}', "request.criteria must be a list"),
        ],
    )
    def test_a_bad_query_fails_with_the_path_of_the_problem(self, serialized, reason):
        with pytest.raises(JobServerError) as failure:
            normalise(serialized, instance_id=INSTANCE)
        assert reason in str(failure.value)
