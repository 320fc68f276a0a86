"""What the job machines send back (spec 03 §2.5, §3.3, §4): the OpenAPI document's description of the callback
bodies. The callbacks themselves read their payload in cohort.services.callbacks and cohort.services.feasibility,
which accept the scalars as strings or numbers."""

from __future__ import annotations

from rest_framework import serializers


class _JobCallbackSerializer(serializers.Serializer):
    request_job_status = serializers.CharField(help_text="FINISHED, LONG_PENDING, ERROR, KILLED... (spec 03 §2.5)")
    message = serializers.CharField(required=False, help_text="The failure's reason")


class MeasureCallbackSerializer(_JobCallbackSerializer):
    count = serializers.CharField(required=False)
    minimum = serializers.CharField(required=False, help_text="Global estimates only")
    maximum = serializers.CharField(required=False, help_text="Global estimates only")
    extra = serializers.DictField(child=serializers.CharField(), required=False, help_text="Counts by criterion")


class StudyCallbackSerializer(_JobCallbackSerializer):
    count = serializers.CharField(required=False)
    extra = serializers.DictField(child=serializers.CharField(), required=False, help_text="Counts by perimeter")
