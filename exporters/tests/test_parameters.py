"""The parameter document sent to the Export API (spec 02 §17.1 to §17.3, spec 03 §6.1), built from rows in memory."""

from __future__ import annotations

import pytest

from cohort.models import CohortResult
from exporters.parameters import export_parameters, parameters_yaml
from exports.engine import ExportStepError
from exports.models import Datalab, Export, ExportTable

SPEC_CSV_EXAMPLE = """\
joinOnPrimaryKey: false
output:
  type: csv
  filePath: /exports/csv/1234567_20260112_102030123456.zip
overwrite: true
tablesToExport:
- tableName: person
  cohortId: '123456'
  relation: true
  columnsToExport:
  - person_id
  - gender
- tableName: note
  relation: true
  cohortId: '123999'
noDateShift: true
disableTerminology: false
"""

SPEC_HIVE_EXAMPLE = """\
output:
  type: hive
  databaseName: datalab01_20260112_102030123456
overwrite: true
tablesToExport:
- tableName: person
  cohortId: '123456'
  relation: true
- tableName: condition_occurrence
  relation: true
noDateShift: false
disableTerminology: false
pseudo: datalab01
"""


def cohort(group_id: str) -> CohortResult:
    return CohortResult(group_id=group_id)


def csv_export(**fields) -> Export:
    fields.setdefault("output_format", "csv")
    fields.setdefault("nominative", True)
    fields.setdefault("target_location", "/exports/csv")
    fields.setdefault("target_name", "1234567_20260112_102030123456")
    return Export(**fields)


def table(name: str, source: str | None = "123456", subset: str | None = None, **fields) -> ExportTable:
    return ExportTable(
        name=name,
        cohort_result_source=cohort(source) if source is not None else None,
        cohort_result_subset=cohort(subset) if subset is not None else None,
        **fields,
    )


def document(export: Export, tables: list[ExportTable], disable_terminology: bool | str = False) -> str:
    return parameters_yaml(export_parameters(export, tables, disable_terminology=disable_terminology))


def test_the_csv_example_of_the_specification():
    tables = [table("person", columns=["person_id", "gender"]), table("note", subset="123999")]
    assert document(csv_export(), tables) == SPEC_CSV_EXAMPLE


def test_the_hive_example_of_the_specification():
    export = Export(
        output_format="hive",
        target_location="/hive/db",
        target_name="datalab01_20260112_102030123456",
        nominative=False,
        shift_dates=True,
        datalab=Datalab(name="datalab01"),
    )
    assert document(export, [table("person"), table("condition_occurrence")]) == SPEC_HIVE_EXAMPLE


def test_xlsx_archives_and_joined_tables():
    parameters = export_parameters(
        csv_export(output_format="xlsx", group_tables=True, target_location="/exports/xlsx/"),
        [table("person")],
        disable_terminology=False,
    )
    assert parameters["joinOnPrimaryKey"] is True
    assert parameters["output"] == {"type": "xlsx", "filePath": "/exports/xlsx/1234567_20260112_102030123456.zip"}


def test_the_patient_table_goes_first_as_person_whatever_its_name_and_position():
    """The Portail's Jupyter form names it `patient` and may list it after other tables; the Export API's first
    table is `person` (spec 03 §6.1)."""
    tables = [table("condition", subset="777"), table("patient", source="123456", subset="654321")]
    entries = export_parameters(csv_export(), tables, disable_terminology=False)["tablesToExport"]
    assert entries == [
        {"tableName": "person", "cohortId": "654321", "relation": True},
        {"tableName": "condition", "relation": True, "cohortId": "777"},
    ]


def test_other_tables_name_a_cohort_only_for_their_subset_and_columns_only_when_chosen():
    tables = [table("person", columns=[]), table("visit_occurrence", columns=["visit_id"]), table("note", source=None)]
    entries = export_parameters(csv_export(), tables, disable_terminology=False)["tablesToExport"]
    assert entries == [
        {"tableName": "person", "cohortId": "123456", "relation": True},
        {"tableName": "visit_occurrence", "relation": True, "columnsToExport": ["visit_id"]},
        {"tableName": "note", "relation": True},
    ]


@pytest.mark.parametrize(
    ("nominative", "shift_dates", "no_date_shift"),
    [(True, False, True), (True, True, True), (False, False, True), (False, True, False)],
)
def test_dates_are_shifted_only_in_pseudonymised_exports_that_ask_for_it(nominative, shift_dates, no_date_shift):
    export = csv_export(nominative=nominative, shift_dates=shift_dates, datalab=Datalab(name="datalab01"))
    assert export_parameters(export, [table("person")], disable_terminology=False)["noDateShift"] is no_date_shift


def test_the_translation_setting_is_forwarded_as_written():
    text = document(csv_export(), [table("person")], disable_terminology="False")
    assert "\ndisableTerminology: 'False'\n" in text


def test_the_datalab_is_the_pseudonymisation_key_of_pseudonymised_exports_only():
    datalab = Datalab(name="datalab01")
    pseudonymised = export_parameters(
        csv_export(nominative=False, datalab=datalab), [table("person")], disable_terminology=False
    )
    nominative = export_parameters(csv_export(datalab=datalab), [table("person")], disable_terminology=False)
    assert pseudonymised["pseudo"] == "datalab01"
    assert list(pseudonymised)[-1] == "pseudo"
    assert "pseudo" not in nominative


def test_tables_to_pivot_are_listed_by_name():
    tables = [table("person"), table("measurement", pivot_merge=True), table("note"), table("drug", pivot_merge=True)]
    parameters = export_parameters(csv_export(), tables, disable_terminology=False)
    assert parameters["pivotMerge"] == ["measurement", "drug"]
    assert list(parameters)[:4] == ["joinOnPrimaryKey", "output", "pivotMerge", "overwrite"]


def test_detailed_pivot_options_replace_the_list_of_names():
    tables = [
        table("person"),
        table("measurement", pivot_merge=True, pivot_merge_columns=["value"], pivot_merge_ids=["id1", "id2"]),
        table("drug", pivot_merge=True),
        table("observation", pivot_merge_ids=["obs"]),
    ]
    parameters = export_parameters(csv_export(), tables, disable_terminology=False)
    assert parameters["pivotMerge"] == [
        {"tableName": "measurement", "pivotedColumnsToKeep": ["value"], "idsToMerge": ["id1", "id2"]},
        {"tableName": "observation", "idsToMerge": ["obs"]},
    ]
    text = parameters_yaml(parameters)
    assert "pivotMerge:\n- tableName: measurement\n  pivotedColumnsToKeep:\n  - value\n  idsToMerge:\n  - id1\n" in text


def test_without_pivot_options_there_is_no_pivot_key():
    assert "pivotMerge" not in export_parameters(csv_export(), [table("person")], disable_terminology=False)


def test_long_values_are_never_folded():
    name = "a column " * 20
    text = document(csv_export(), [table("person", columns=[name])])
    assert f"  - '{name}'\n" in text


@pytest.mark.parametrize(
    ("export", "tables", "reason"),
    [
        (csv_export(), [table("note")], "The export has no patient table (one of person, patient)"),
        (csv_export(), [], "The export has no patient table (one of person, patient)"),
        (csv_export(), [table("person", source=None)], "The `person` table has no source cohort"),
        (
            csv_export(),
            [table("person", source="")],
            "The cohort of the `person` table has no patient list (group id) yet",
        ),
        (
            csv_export(),
            [table("person"), table("note", subset="")],
            "The cohort of the `note` table has no patient list (group id) yet",
        ),
        (
            csv_export(nominative=False),
            [table("person")],
            "A pseudonymised export needs a datalab (its name is the pseudonymisation key)",
        ),
        (
            csv_export(target_name=""),
            [table("person")],
            "The export has no target (target_name and target_location must be set)",
        ),
        (
            Export(output_format="parquet", target_location="/x", target_name="y", nominative=True),
            [table("person")],
            "Unknown output format `parquet`",
        ),
    ],
)
def test_exports_that_cannot_be_described(export, tables, reason):
    with pytest.raises(ExportStepError) as raised:
        export_parameters(export, tables, disable_terminology=False)
    assert str(raised.value) == reason
