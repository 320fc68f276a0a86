"""Cascading soft delete (spec 02 §1.8): rows are stamped, never removed, down every on-delete-cascade relation."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from admin_cohort import response_cache
from cohort.models.base import CohortBaseModel


def _cascading_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    return [
        relation
        for relation in model._meta.related_objects
        if relation.on_delete is models.CASCADE
        and issubclass(relation.related_model, CohortBaseModel)
        and not relation.related_model._meta.abstract
    ]


@transaction.atomic
def soft_delete(model: type[CohortBaseModel], pks: Iterable) -> int:
    """Soft-deletes the alive rows among `pks` and, marked `deleted_by_cascade`, everything below them.

    Returns how many of the given rows were deleted. Works level by level with set-based updates, so the
    cost does not depend on how many children each row has.
    """
    now = timezone.now()
    pks = list(model.all_objects.filter(pk__in=list(pks), deleted__isnull=True).values_list("pk", flat=True))
    model.all_objects.filter(pk__in=pks).update(deleted=now, modified_at=now)
    pending = [(model, pks)]
    touched = {model._meta.label}
    while pending:
        parent, parent_pks = pending.pop()
        if not parent_pks:
            continue
        for relation in _cascading_relations(parent):
            child = relation.related_model
            children = child.all_objects.filter(**{f"{relation.field.name}__in": parent_pks}, deleted__isnull=True)
            child_pks = list(children.values_list("pk", flat=True))
            child.all_objects.filter(pk__in=child_pks).update(deleted=now, deleted_by_cascade=True, modified_at=now)
            pending.append((child, child_pks))
            touched.add(child._meta.label)
    if settings.ENABLE_CACHE:  # set-based updates send no save signal: cached lists are invalidated here
        transaction.on_commit(lambda: response_cache.invalidate(*touched))
    return len(pks)
