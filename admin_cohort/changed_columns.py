"""Saves that write only the columns that changed.

A full-row save writes back every column as it was read, so whatever another transaction committed in
between is undone: an owner renaming a cohort while its callback finishes it would put the job back to
`started` for ever, a request renamed while it is deleted would come back to life. Writing only the changed
columns leaves the others as the database has them. `ChangedColumnsModel`, the base of the domain models,
makes that the rule of every `save()` of a loaded row, wherever the code that saves is written (services,
DRF's serializers, the admin shell).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping

from django.db import models


class ChangedColumnsModel(models.Model):
    """A model whose `save()` of a row loaded from the database writes only the columns changed since it was
    loaded (and its `auto_now` timestamps), so that no save, wherever it is written, undoes another
    transaction's change. A new row, an explicit `update_fields`, or a row whose key changed saves as usual.
    Values held in place (a JSON field's dict) are compared with a copy, so mutating them counts as a change."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_loaded_columns()
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        loaded = self.__dict__.get("_loaded_columns")
        if fields is None or loaded is None:
            self._remember_loaded_columns()
            return
        # A partial refresh (Django's own, when a deferred field is read) reloads those columns only: the others
        # keep their unsaved changes, which the next save must still write.
        fresh = self._loaded_values()
        loaded.update({attname: fresh[attname] for attname in fields if attname in fresh})

    def save(self, *args, **kwargs) -> None:
        loaded = self.__dict__.get("_loaded_columns")
        if (
            loaded is not None
            and not args
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
            and not self._state.adding
            and self.pk is not None
            and self.pk == loaded.get(self._meta.pk.attname)
        ):
            kwargs["update_fields"] = [*self._columns_changed_since(loaded), *_auto_now_names(type(self))]
        super().save(*args, **kwargs)
        self._remember_loaded_columns()

    def changed_columns(self) -> list[str]:
        """The names of the fields changed since the row was loaded (every field for a row never loaded)."""
        loaded = self.__dict__.get("_loaded_columns")
        if loaded is None:
            return [field.name for field in self._meta.concrete_fields if not field.primary_key]
        return self._columns_changed_since(loaded)

    def columns_saved(self) -> None:
        """The row was written by other means than `save()` (a conditional UPDATE): what it holds now counts as
        loaded."""
        self._remember_loaded_columns()

    def _remember_loaded_columns(self) -> None:
        self._loaded_columns = self._loaded_values()

    def _loaded_values(self) -> dict[str, object]:
        # Every loaded row runs this, lists of thousands included: a shallow copy of the instance's attributes
        # (the columns among them), deep only for the JSON columns, whose values can be changed in place.
        # Deferred fields are not in __dict__ and are not remembered: they count as changed once set.
        values = self.__dict__.copy()
        values.pop("_loaded_columns", None)
        for attname in _json_attnames(type(self)):
            if attname in values:
                values[attname] = copy.deepcopy(values[attname])
        return values

    def _columns_changed_since(self, loaded: Mapping[str, object]) -> list[str]:
        missing = object()
        return [
            field.name
            for field in self._meta.concrete_fields
            if not field.primary_key
            and field.attname in self.__dict__
            and self.__dict__[field.attname] != loaded.get(field.attname, missing)
        ]


def update_columns(instance: models.Model, values: Mapping[str, object]) -> None:
    """Sets `values` (by field name) on the existing row and saves it (the changed columns only)."""
    for name, value in values.items():
        setattr(instance, name, value)
    instance.save()


@functools.cache
def _json_attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields if isinstance(field, models.JSONField))


@functools.cache
def _auto_now_names(model: type[models.Model]) -> tuple[str, ...]:
    """The `auto_now` timestamps, which every save refreshes."""
    return tuple(field.name for field in model._meta.concrete_fields if getattr(field, "auto_now", False))
