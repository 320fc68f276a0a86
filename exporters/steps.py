"""The steps of an export (exports.engine.ExportStep): the Export API's export and the Hive database's preparation
through the Hadoop API (spec 02 §17.1, §17.3).

Steps hold no state: the workflow builds them again each time it polls, and a step reads what it needs from
the export row when it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from exporters.export_api import ExportApi
from exporters.hadoop_api import HadoopApi
from exporters.parameters import export_parameters, parameters_yaml, target_path
from exporters.remote_tasks import polled_status
from exports.engine import ExportStep, ExportStepError, RemoteTaskUnreachable
from exports.models import Export

PREPARATION_FAILURE = "Error while preparing DB for export: "
CONCLUSION_FAILURE = "Could not conclude export: "
_NO_DATALAB = "A Hive export needs a datalab (the owner of the database)"


class ExportApiStep:
    # The workflow records the task of the step named "export" as the export's `request_job_id`.
    name = "export"
    failure_prefix = "Error while submitting the export: "

    def start(self, export: Export) -> str:
        tables = list(export.export_tables.select_related("cohort_result_source", "cohort_result_subset"))
        parameters = export_parameters(export, tables, disable_terminology=settings.DISABLE_DATA_TRANSLATION)
        return ExportApi().submit(parameters_yaml(parameters))

    def poll(self, task_id: str) -> str:
        return polled_status(lambda: ExportApi().task_status(task_id))

    def ended_badly(self, task_id: str, status: str) -> str:
        return f"Export terminated with an error: Job `{task_id}` ended with status `{status}`"


class CreateHiveDatabaseStep:
    name = "create_hive_database"
    failure_prefix = PREPARATION_FAILURE

    def start(self, export: Export) -> str:
        return HadoopApi().create_hive_database(export.target_name, hive_database_location(export))

    def poll(self, task_id: str) -> str:
        return polled_status(lambda: HadoopApi().task_status(task_id))

    def ended_badly(self, task_id: str, status: str) -> str:
        return f"{self.failure_prefix}Job `{task_id}` creating the Hive database ended with status `{status}`"


@dataclass(frozen=True)
class ChownHiveDatabaseStep:
    """Hands the database's directory to a user; completes when started (no remote task)."""

    name: str
    failure_prefix: str
    new_owner: Callable[[Export], str]

    def start(self, export: Export) -> None:
        HadoopApi().chown_directory(hive_database_location(export), self.new_owner(export))

    def poll(self, task_id: str) -> str:
        raise RemoteTaskUnreachable(f"The step `{self.name}` has no remote task to poll")

    def ended_badly(self, task_id: str, status: str) -> str:
        return f"{self.failure_prefix}the step `{self.name}` ended with status `{status}`"


def hive_database_location(export: Export) -> str:
    """`<HIVE_DB_PATH>/<target_name>.db`: the export's target location is HIVE_DB_PATH (spec 02 §14.3)."""
    return f"{target_path(export)}.db"


def _hive_user(export: Export) -> str:
    return settings.HIVE_USER


def _datalab_account(export: Export) -> str:
    if export.datalab is None:
        raise ExportStepError(_NO_DATALAB)
    return export.datalab.name


def hive_steps(export: Export) -> list[ExportStep]:
    """Spec 02 §17.3: the database is created and lent to Hive for the export, then given to the datalab."""
    if export.datalab_id is None:
        raise ExportStepError(_NO_DATALAB)
    return [
        CreateHiveDatabaseStep(),
        ChownHiveDatabaseStep("chown_to_hive_user", PREPARATION_FAILURE, _hive_user),
        ExportApiStep(),
        ChownHiveDatabaseStep("chown_to_datalab", CONCLUSION_FAILURE, _datalab_account),
    ]
