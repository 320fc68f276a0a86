"""Shapes of the exports API (spec 02 §15, §16.1; client contract EXP-1..8, DL-1..3)."""

from __future__ import annotations

import re

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from cohort.models import CohortResult
from exports.models import Datalab, Export, ExportResultStat, ExportTable, InfrastructureProvider, OutputFormat

# ------------------------------------------------------------------------------------------- exports


class ExportListSerializer(serializers.ModelSerializer):
    """The list representation; `cohort_*` and `patients_count` are annotated (selectors.with_first_source_cohort)."""

    owner = serializers.StringRelatedField()
    cohort_id = serializers.CharField(read_only=True, allow_null=True)
    cohort_name = serializers.CharField(read_only=True, allow_null=True)
    patients_count = serializers.IntegerField(read_only=True, allow_null=True)
    target_datalab = serializers.CharField(source="datalab.name", read_only=True, default=None)

    class Meta:
        model = Export
        fields = [
            "uuid",
            "owner",
            "output_format",
            "motivation",
            "cohort_id",
            "cohort_name",
            "patients_count",
            "created_at",
            "modified_at",
            "request_job_status",
            "target_datalab",
            "target_name",
        ]
        read_only_fields = fields


class ExportTableSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExportTable
        fields = [
            "name",
            "respect_table_relationships",
            "fhir_filter",
            "cohort_result_source",
            "pivot_merge",
            "pivot_merge_columns",
            "pivot_merge_ids",
        ]
        read_only_fields = fields


class ExportSerializer(serializers.ModelSerializer):
    """The full representation (detail, creation, relaunch, `return_full_objects=true`); `owner` is a username."""

    export_tables = ExportTableSerializer(many=True, read_only=True)

    class Meta:
        model = Export
        fields = [
            "uuid",
            "request_job_id",
            "request_job_status",
            "request_job_fail_msg",
            "owner",
            "output_format",
            "datalab",
            "nominative",
            "target_name",
            "target_location",
            "shift_dates",
            "group_tables",
            "export_tables",
            "motivation",
        ]
        read_only_fields = fields


def _strings(max_length: int) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=max_length), required=False, allow_null=True, default=None
    )


class ExportTableRequestSerializer(serializers.Serializer):
    """One table of a creation body; `respect_table_relationships` is ignored (always true)."""

    table_name = serializers.CharField(max_length=55)
    cohort_result_source = serializers.UUIDField(required=False, allow_null=True, default=None)
    fhir_filter = serializers.UUIDField(required=False, allow_null=True, default=None)
    columns = _strings(55)
    pivot_merge = serializers.BooleanField(required=False, default=False)
    pivot_merge_columns = _strings(255)
    pivot_merge_ids = _strings(255)


class ExportRequestSerializer(serializers.Serializer):
    """A creation body (§16.1): Cohort360 sends `shift_date`, the Portail `shift_dates`; unknown keys are ignored."""

    output_format = serializers.ChoiceField(choices=OutputFormat.choices)
    nominative = serializers.BooleanField(required=False, default=False)
    shift_dates = serializers.BooleanField(required=False, allow_null=True, default=None)
    shift_date = serializers.BooleanField(required=False, allow_null=True, default=None)
    group_tables = serializers.BooleanField(required=False, default=False)
    motivation = serializers.CharField(required=False, allow_null=True, allow_blank=True, default="")
    datalab = serializers.UUIDField(required=False, allow_null=True, default=None)
    export_tables = ExportTableRequestSerializer(many=True, allow_empty=False)


# -------------------------------------------------------------------------------- helper lists (§15.4)


class ExportableCohortSerializer(serializers.ModelSerializer):
    class Meta:
        model = CohortResult
        fields = ["uuid", "owner", "name"]
        read_only_fields = fields


# ------------------------------------------------------------------------- datalabs and providers (§15.5-6)


class InfrastructureProviderSerializer(serializers.ModelSerializer):
    class Meta:
        model = InfrastructureProvider
        fields = ["uuid", "name"]


DATALAB_NAME_TAKEN = "A datalab with this name already exists"
# The name becomes a Unix account and a directory of the HDFS path chowned to it (`<HIVE_DB_PATH>/<name>_<stamp>.db`):
# nothing a shell or a path could read otherwise, and no leading `-` (an option) or `.` (a hidden or parent entry).
_DATALAB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _valid_datalab_name(name: str) -> None:
    # One message per name: the Portail shows "No spaces allowed" as is.
    if re.search(r"\s", name):
        raise serializers.ValidationError("No spaces allowed")
    if not _DATALAB_NAME.fullmatch(name):
        raise serializers.ValidationError(
            "Only letters (a-z, A-Z), digits, '_', '.' and '-' are allowed, and the name cannot start with '.' or '-'"
        )


class DatalabSerializer(serializers.ModelSerializer):
    """`infrastructure_provider` is written as a uuid and read as `{"uuid", "name"}`."""

    name = serializers.CharField(
        max_length=255,
        # Leading or trailing blanks are refused rather than silently dropped from a Unix account name.
        trim_whitespace=False,
        validators=[
            _valid_datalab_name,
            UniqueValidator(queryset=Datalab.objects.all(), message=DATALAB_NAME_TAKEN),
        ],
    )
    infrastructure_provider = serializers.PrimaryKeyRelatedField(
        queryset=InfrastructureProvider.objects.all(), pk_field=serializers.UUIDField()
    )

    class Meta:
        model = Datalab
        fields = ["uuid", "created_at", "name", "infrastructure_provider"]
        read_only_fields = ["uuid", "created_at"]

    def to_representation(self, instance: Datalab) -> dict:
        data = super().to_representation(instance)
        data["infrastructure_provider"] = InfrastructureProviderSerializer(instance.infrastructure_provider).data
        return data


# ------------------------------------------------------------------------------------------ stats (§15.7)


class ExportResultStatSerializer(serializers.ModelSerializer):
    export_target = serializers.CharField(source="export.target_name", read_only=True, default=None)
    export = serializers.PrimaryKeyRelatedField(queryset=Export.objects.all(), pk_field=serializers.UUIDField())

    class Meta:
        model = ExportResultStat
        fields = [
            "uuid",
            "export_target",
            "deleted",
            "deleted_by_cascade",
            "created_at",
            "modified_at",
            "name",
            "type",
            "value",
            "export",
        ]
        read_only_fields = ["uuid", "deleted", "deleted_by_cascade", "created_at", "modified_at"]
