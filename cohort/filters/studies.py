"""FilterSets of the feasibility study and refresh schedule lists (spec 02 §4.9, §4.10)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from admin_cohort.filters import CommaListFilter
from cohort.models import FeasibilityStudy, RefreshFrequency, RequestRefreshSchedule


class FeasibilityStudyFilter(filters.FilterSet):
    request_query_snapshot_id = filters.UUIDFilter(field_name="request_query_snapshot")
    status = CommaListFilter(field_name="request_job_status")

    class Meta:
        model = FeasibilityStudy
        fields: list[str] = []


class RequestRefreshScheduleFilter(filters.FilterSet):
    request_snapshot_id = filters.UUIDFilter(field_name="request_snapshot")
    refresh_time = filters.TimeFilter()
    refresh_frequency = filters.ChoiceFilter(choices=RefreshFrequency.choices)

    class Meta:
        model = RequestRefreshSchedule
        fields: list[str] = []
