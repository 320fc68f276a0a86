"""Serializer pieces shared by the cohort app: owner-restricted relations and `<field>_id` aliases."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from admin_cohort.serializers import ModelFieldsBuiltOnce
from cohort.selectors import owned_by


class OwnedRelatedField(serializers.PrimaryKeyRelatedField):
    """A relation to one of the caller's own objects; any other uuid is refused like an unknown one (400)."""

    def get_queryset(self):
        request = self.context.get("request")
        # The caller's rows among those the field was declared with (e.g. no subset cohorts).
        return owned_by(self.queryset.model, request.user if request else None, among=self.queryset)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except DjangoValidationError:  # not a uuid: refused like any other unknown key
            self.fail("does_not_exist", pk_value=data)


class OwnerField(serializers.PrimaryKeyRelatedField):
    """`owner` defaults to the caller and may only name the caller (spec 02 §1.6)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", serializers.CurrentUserDefault())
        super().__init__(**kwargs)

    def get_queryset(self):
        from django.contrib.auth import get_user_model

        request = self.context.get("request")
        return get_user_model().objects.filter(pk=request.user.pk if request else None)


class CohortModelSerializer(ModelFieldsBuiltOnce, serializers.ModelSerializer):
    """Accepts `X_id` for every writable relation `X` (spec 02 §1.5): the alias wins when both are sent."""

    def to_internal_value(self, data):
        if hasattr(data, "copy") and not isinstance(data, list):
            data = data.copy()
            for name, field in self.fields.items():
                alias = f"{name}_id"
                if isinstance(field, serializers.RelatedField) and not field.read_only and alias in data:
                    data[name] = data[alias]
        return super().to_internal_value(data)
