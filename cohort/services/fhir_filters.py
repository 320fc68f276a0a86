"""Saved FHIR filters: one name per resource and owner among the alive filters (spec 02 §3.8, §4.8)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from cohort.models import FhirFilter


def _name_taken(fhir_filter: FhirFilter) -> ValidationError:
    # C360 reads any 400 here as "this name already exists" (FF-2).
    message = f"A filter named '{fhir_filter.name}' already exists for the resource '{fhir_filter.fhir_resource}'"
    return ValidationError({"error": message})


@transaction.atomic
def save_fhir_filter(*, fhir_filter: FhirFilter, values: dict) -> FhirFilter:
    """Creates (unsaved `fhir_filter`) or updates a filter with validated `values`."""
    for field, value in values.items():
        setattr(fhir_filter, field, value)
    duplicates = FhirFilter.objects.filter(
        owner_id=fhir_filter.owner_id, name=fhir_filter.name, fhir_resource=fhir_filter.fhir_resource
    ).exclude(pk=fhir_filter.pk)
    if duplicates.exists():
        raise _name_taken(fhir_filter)
    try:
        with transaction.atomic():  # a concurrent save of the same name fails on the unique constraint
            fhir_filter.save()
    except IntegrityError:
        raise _name_taken(fhir_filter) from None
    return fhir_filter
