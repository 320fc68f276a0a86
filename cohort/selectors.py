"""Reads of the cohort app, already restricted to what the caller may see (one restriction per model).

Every cohort object is visible to its owner only (spec 02 §1.6). The job machine users (QueryExecutor,
Solr ETL) also see every count, cohort and feasibility study, which they call back (spec 03 §3.2).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from cohort.models import CohortResult, DatedMeasure, FeasibilityStudy, FhirFilter

JOB_MODELS = (DatedMeasure, CohortResult, FeasibilityStudy)


def is_job_machine(user) -> bool:
    return bool(user) and user.username in settings.APPLICATIVE_USERS


def owned_by(model, user, *, among: QuerySet | None = None) -> QuerySet:
    """The user's own rows of `model`, or of `among` (rows of `model` already narrowed down)."""
    return (model.objects if among is None else among).filter(owner=user)


def visible_to(model, user) -> QuerySet:
    """The rows of `model` the user may read and write."""
    if model in JOB_MODELS and is_job_machine(user):
        return model.objects.all()
    queryset = owned_by(model, user)
    if model is CohortResult:
        return queryset.filter(is_subset=False)
    if model is FhirFilter:
        return queryset.filter(auto_generated=False)
    return queryset


def cohorts_with_sizes(queryset: QuerySet) -> QuerySet:
    """The computed columns of the cohort list (spec 02 §3.6), usable in filters and orderings."""
    from cohort.serializers.jobs_nested import NestedCohortResultSerializer

    size = F("dated_measure__measure")
    return NestedCohortResultSerializer.loaded(
        queryset.annotate(
            result_size=size,
            measure_min=F("dated_measure_global__measure_min"),
            measure_max=F("dated_measure_global__measure_max"),
            exportable=Case(
                When(
                    Q(dated_measure__measure__isnull=False, dated_measure__measure__lte=settings.COHORT_SIZE_LIMIT),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            ),
            request=F("request_query_snapshot__request__name"),  # the `request` ordering sorts by request name
        )
    )


def shown_measures() -> QuerySet[DatedMeasure]:
    """The counts shown with a snapshot: all but those only used by sample cohorts (spec 02 §4.4, §4.5)."""
    cohorts = CohortResult.objects.filter(dated_measure=OuterRef("pk"))
    samples, non_samples = cohorts.filter(parent_cohort__isnull=False), cohorts.filter(parent_cohort__isnull=True)
    return DatedMeasure.objects.filter(~Exists(samples) | Exists(non_samples))
