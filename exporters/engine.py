"""The export engine of the Export API, the Hadoop API and WebHDFS (exports.engine.ExportEngine)."""

from __future__ import annotations

from django.conf import settings

from exporters import webhdfs
from exporters.export_api import ExportApi
from exporters.steps import ExportApiStep, hive_steps
from exports.engine import ExportStep, ExportStepError, Storage
from exports.models import DOWNLOADABLE_FORMATS, Export, OutputFormat

LOGS_TIMEOUT_SECONDS = 30


class ApiExportEngine:
    def steps(self, export: Export) -> list[ExportStep]:
        if export.output_format in DOWNLOADABLE_FORMATS:
            return [ExportApiStep()]
        if export.output_format == OutputFormat.HIVE:
            return hive_steps(export)
        raise ExportStepError(f"Unknown output format `{export.output_format}`")

    def task_logs(self, task_id: str) -> dict:
        # An administrator waits for the answer (spec 02 §15.3): 30 s at most, no retry.
        timeout = min(LOGS_TIMEOUT_SECONDS, settings.EXTERNAL_API_TIMEOUT_SECONDS)
        return ExportApi(timeout=timeout, retries=0).task_status(task_id)

    def storage(self) -> Storage:
        return webhdfs.connect()
