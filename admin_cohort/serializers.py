from __future__ import annotations

import contextlib
import copy
import json
import re
from datetime import UTC, datetime

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from admin_cohort.models import MaintenancePhase, ReleaseNote, RequestLog, User

NAME_PATTERN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿ' \-]+$")


def format_json_datetime(value: datetime | None) -> str | None:
    """Millisecond precision with a `Z`, as in the raw JSON answers of the login view."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class ModelFieldsBuiltOnce:
    """For a ModelSerializer: its fields are built from the model once per class, then copied for each instance.

    DRF builds them again for every instance (reading the model's fields, their options and validators): half a
    millisecond for a count's representation, paid on every count, callback and job push. They depend on the
    class alone (no serializer here changes its fields per instance), and a copy costs half as much; DRF copies
    its declared fields for each instance the same way.
    """

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return copy.deepcopy(built)


class UserSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="created_by.display_name", read_only=True, default=None)
    updated_by = serializers.CharField(source="updated_by.display_name", read_only=True, default=None)

    class Meta:
        model = User
        fields = ["username", "firstname", "lastname", "email", "display_name", "created_by", "updated_by"]


def _unique(field: str) -> UniqueValidator:
    # Soft-deleted users still hold their username and e-mail in the table's unique indexes.
    return UniqueValidator(User.all_objects.all(), message=f"user with this {field} already exists.")


class UserCreateSerializer(serializers.ModelSerializer):
    username = serializers.CharField(max_length=30, validators=[_unique("username")])
    firstname = serializers.CharField(max_length=150)
    lastname = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254, validators=[_unique("email")])
    password = serializers.CharField(write_only=True, required=False, max_length=4096, trim_whitespace=False)

    class Meta:
        model = User
        fields = ["username", "firstname", "lastname", "email", "password"]

    def validate_username(self, value: str) -> str:
        if not value.strip() or any(c.isspace() or c == "/" for c in value):
            raise serializers.ValidationError("A username has no spaces nor slashes.")
        return value

    def validate(self, attrs: dict) -> dict:
        return validate_identity(attrs)


class UserUpdateSerializer(serializers.ModelSerializer):
    """Only the identity fields: the username (primary key) and the password are not editable here."""

    firstname = serializers.CharField(max_length=150, required=False)
    lastname = serializers.CharField(max_length=150, required=False)
    email = serializers.EmailField(max_length=254, required=False, validators=[_unique("email")])

    class Meta:
        model = User
        fields = ["firstname", "lastname", "email"]

    def validate(self, attrs: dict) -> dict:
        return validate_identity(attrs)


def validate_identity(attrs: dict) -> dict:
    errors = {}
    for field in ("firstname", "lastname"):
        if field in attrs and not NAME_PATTERN.match(attrs[field]):
            errors[field] = ["Only letters, spaces, apostrophes and hyphens are allowed."]
    if "email" in attrs and not re.match(settings.EMAIL_REGEX, attrs["email"]):
        errors["email"] = ["Invalid e-mail address format."]
    if errors:
        raise serializers.ValidationError(errors)
    return attrs


class UserCheckSerializer(serializers.Serializer):
    username = serializers.CharField()
    firstname = serializers.CharField(allow_null=True)
    lastname = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    already_exists = serializers.BooleanField()
    found = serializers.BooleanField()


class MaintenancePhaseSerializer(serializers.ModelSerializer):
    maintenance_start = serializers.DateTimeField(source="start_datetime", read_only=True)
    maintenance_end = serializers.DateTimeField(source="end_datetime", read_only=True)
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = MaintenancePhase
        fields = [
            "id",
            "insert_datetime",
            "update_datetime",
            "delete_datetime",
            "subject",
            "message",
            "type",
            "start_datetime",
            "end_datetime",
            "maintenance_start",
            "maintenance_end",
            "active",
        ]
        read_only_fields = ["id", "insert_datetime", "update_datetime", "delete_datetime"]

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("start_datetime", getattr(self.instance, "start_datetime", None))
        end = attrs.get("end_datetime", getattr(self.instance, "end_datetime", None))
        if start and end and start > end:
            raise serializers.ValidationError("end_datetime is lower than start_datetime")
        return attrs


class ReleaseNoteSerializer(serializers.ModelSerializer):
    message = serializers.ListField(child=serializers.CharField(allow_blank=True), allow_empty=True)

    class Meta:
        model = ReleaseNote
        fields = ["id", "insert_datetime", "update_datetime", "title", "message", "author"]
        read_only_fields = ["id", "insert_datetime", "update_datetime"]


class RequestLogSerializer(serializers.ModelSerializer):
    user_details = serializers.SerializerMethodField()
    related_names = serializers.SerializerMethodField()

    class Meta:
        model = RequestLog
        fields = [
            "id",
            "user",
            "username_persistent",
            "impersonated_by",
            "trace_id",
            "requested_at",
            "response_ms",
            "path",
            "view",
            "view_method",
            "remote_addr",
            "host",
            "method",
            "user_agent",
            "query_params",
            "data",
            "response",
            "errors",
            "status_code",
            "user_details",
            "related_names",
        ]

    @extend_schema_field(UserSerializer(allow_null=True))
    def get_user_details(self, log: RequestLog) -> dict | None:
        return UserSerializer(log.user).data if log.user_id else None

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "string"}, "example": {"name": "Hôpital Nord"}}
    )
    def get_related_names(self, log: RequestLog) -> dict:
        names: dict = {}

        def collect(value):
            if isinstance(value, dict):
                for k, v in value.items():
                    if str(k).endswith("name") and isinstance(v, str):
                        names[k] = v
                    collect(v)
            elif isinstance(value, list):
                for item in value:
                    collect(item)

        # Stored bodies are truncated past a size, so they may not parse.
        with contextlib.suppress(ValueError, RecursionError):
            collect(json.loads(log.response) if log.response else None)
        return names
