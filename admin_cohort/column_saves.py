"""Saving only the columns a change touched.

A full-row save writes back every column as it was read, so whatever another transaction committed in
between is undone: an owner renaming a cohort while its callback finishes it would put the job back to
`started` for ever, a request renamed while it is deleted would come back to life. Writing only the changed
columns leaves the others as the database has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import models
from rest_framework import serializers
from rest_framework.utils import model_meta


def column_values(instance: models.Model) -> dict[str, object]:
    """The row's values as loaded, to find later which columns a change touched."""
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def changed_columns(instance: models.Model, before: Mapping[str, object]) -> list[str]:
    """The fields whose value differs from `before` (column_values); values must be replaced, not mutated."""
    return [
        field.name
        for field in instance._meta.concrete_fields
        if getattr(instance, field.attname) != before[field.attname]
    ]


def save_columns(instance: models.Model, columns: Iterable[str]) -> None:
    """Saves the existing row's `columns` (field names), and its `auto_now` timestamps."""
    stamps = [field.name for field in instance._meta.concrete_fields if getattr(field, "auto_now", False)]
    instance.save(update_fields=list(dict.fromkeys([*columns, *stamps])))


def update_columns(instance: models.Model, values: Mapping[str, object]) -> None:
    """Sets `values` (by field name) on the existing row and saves those columns only."""
    for name, value in values.items():
        setattr(instance, name, value)
    save_columns(instance, values)


class ColumnsUpdateSerializer(serializers.ModelSerializer):
    """A model serializer whose updates write only the fields of the request (see the module)."""

    def update(self, instance: models.Model, validated_data: dict) -> models.Model:
        relations = model_meta.get_field_info(instance).relations
        to_many = {name for name in validated_data if name in relations and relations[name].to_many}
        update_columns(instance, {name: value for name, value in validated_data.items() if name not in to_many})
        for name in to_many:
            getattr(instance, name).set(validated_data[name])
        return instance
