"""The export engine of the Export API, the Hadoop API and WebHDFS (exports.engine.ExportEngine)."""

from __future__ import annotations

from exporters import webhdfs
from exporters.export_api import ExportApi
from exporters.steps import ExportApiStep, hive_steps
from exports.engine import ExportStep, ExportStepError, Storage
from exports.models import DOWNLOADABLE_FORMATS, Export, OutputFormat


class ApiExportEngine:
    def steps(self, export: Export) -> list[ExportStep]:
        if export.output_format in DOWNLOADABLE_FORMATS:
            return [ExportApiStep()]
        if export.output_format == OutputFormat.HIVE:
            return hive_steps(export)
        raise ExportStepError(f"Unknown output format `{export.output_format}`")

    def task_logs(self, task_id: str) -> dict:
        return ExportApi().task_status(task_id)

    def storage(self) -> Storage:
        return webhdfs.connect()
