"""Shapes of the access-management API (spec 01 §11), as the Portail and Cohort360 read them."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from accesses import catalogue
from accesses.models import RIGHT_FLAGS, Access, Perimeter, Profile, Right, Role


def _string_or_none(value) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------------------------------ perimeters
class PerimeterLiteSerializer(serializers.ModelSerializer):
    parent_id = serializers.SerializerMethodField()
    type = serializers.CharField(source="type_source_value", read_only=True)

    class Meta:
        model = Perimeter
        fields = [
            "id",
            "name",
            "source_value",
            "parent_id",
            "type",
            "above_levels_ids",
            "inferior_levels_ids",
            "cohort_id",
            "cohort_size",
            "full_path",
        ]
        read_only_fields = fields

    def get_parent_id(self, perimeter: Perimeter) -> str | None:
        # A string, unlike `id`: the clients compare it with ids they parse from `above_levels_ids`.
        return _string_or_none(perimeter.parent_id)


class PerimeterSerializer(PerimeterLiteSerializer):
    care_site_id = serializers.IntegerField(source="id", read_only=True)
    care_site_name = serializers.CharField(source="name", read_only=True)
    care_site_source_value = serializers.CharField(source="source_value", read_only=True)
    care_site_short_name = serializers.CharField(source="short_name", read_only=True)
    care_site_type_source_value = serializers.CharField(source="type_source_value", read_only=True)
    names = serializers.SerializerMethodField()

    class Meta:
        model = Perimeter
        fields = [
            "id",
            "parent_id",
            "care_site_id",
            "care_site_name",
            "care_site_source_value",
            "care_site_short_name",
            "care_site_type_source_value",
            "type",
            "names",
            "insert_datetime",
            "update_datetime",
            "delete_datetime",
            "local_id",
            "name",
            "source_value",
            "short_name",
            "type_source_value",
            "above_levels_ids",
            "inferior_levels_ids",
            "cohort_id",
            "full_path",
            "cohort_size",
            "level",
            "count_allowed_users",
            "count_allowed_users_inferior_levels",
            "count_allowed_users_above_levels",
        ]
        read_only_fields = fields

    def get_names(self, perimeter: Perimeter) -> dict:
        return {"name": perimeter.name, "short": perimeter.short_name, "source_value": perimeter.source_value}


class ReadRightsSerializer(serializers.Serializer):
    """An item of `patient-data/rights` (documentation of the shape; built by reading_rights.read_rights_item)."""

    perimeter = PerimeterLiteSerializer()
    read_role = serializers.CharField()
    right_read_patient_nominative = serializers.BooleanField()
    right_read_patient_pseudonymized = serializers.BooleanField()
    right_search_patients_by_ipp = serializers.BooleanField()
    right_read_opposed_patients_data = serializers.BooleanField()


class ReadCheckSerializer(serializers.Serializer):
    allow_read_patient_data_nomi = serializers.BooleanField()
    allow_lookup_opposed_patients = serializers.BooleanField()
    allow_read_patient_without_perimeter_limit = serializers.BooleanField()
    allow_read_practitioner = serializers.BooleanField()


# ------------------------------------------------------------------------------------- roles and rights
class RoleSerializer(serializers.ModelSerializer):
    help_text = serializers.SerializerMethodField()

    class Meta:
        model = Role
        fields = ["id", "insert_datetime", "update_datetime", "delete_datetime", "name", *RIGHT_FLAGS, "help_text"]
        read_only_fields = ["id", "insert_datetime", "update_datetime", "delete_datetime", "help_text"]

    def get_help_text(self, role: Role) -> list[str]:
        return catalogue.help_text(role)

    def validate_name(self, name: str) -> str:
        others = Role.objects.filter(name=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("role with this name already exists.")
        return name


class RoleHolderSerializer(serializers.Serializer):
    provider_username = serializers.CharField()
    firstname = serializers.CharField(allow_null=True)
    lastname = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    perimeter = serializers.CharField(allow_null=True)
    start_datetime = serializers.CharField(help_text="Python string form, e.g. `2025-01-01 00:00:00+00:00`")
    end_datetime = serializers.CharField()


class RightSerializer(serializers.ModelSerializer):
    depends_on = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Right
        fields = ["name", "label", "depends_on", "category", "is_global"]


class RightInCategorySerializer(RightSerializer):
    class Meta(RightSerializer.Meta):
        fields = ["name", "label", "depends_on"]


class RightCategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    is_global = serializers.BooleanField()
    rights = RightInCategorySerializer(many=True)


# --------------------------------------------------------------------------------------------- profiles
class ProfileSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user_id", read_only=True)
    user_id = serializers.CharField(read_only=True)
    firstname = serializers.CharField(source="user.firstname", read_only=True, default=None)
    lastname = serializers.CharField(source="user.lastname", read_only=True, default=None)
    email = serializers.CharField(source="user.email", read_only=True, default=None)
    provider_id = serializers.CharField(source="user_id", read_only=True)
    provider_name = serializers.CharField(source="user.display_name", read_only=True, default=None)

    class Meta:
        model = Profile
        fields = [
            "id",
            "insert_datetime",
            "update_datetime",
            "delete_datetime",
            "source",
            "is_active",
            "user",
            "user_id",
            "firstname",
            "lastname",
            "email",
            "provider_id",
            "provider_name",
        ]
        read_only_fields = fields


class AccessProfileSerializer(serializers.ModelSerializer):
    provider_id = serializers.CharField(source="user_id", read_only=True)
    username = serializers.CharField(source="user_id", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True, default=None)
    firstname = serializers.CharField(source="user.firstname", read_only=True, default=None)
    lastname = serializers.CharField(source="user.lastname", read_only=True, default=None)

    class Meta:
        model = Profile
        fields = ["id", "provider_id", "username", "email", "firstname", "lastname", "source"]
        read_only_fields = fields


# --------------------------------------------------------------------------------------------- accesses
class AccessSerializer(serializers.ModelSerializer):
    """`editable` is added by the listing modes that compute it (context `editable`: {access id: bool})."""

    is_valid = serializers.BooleanField(read_only=True)
    profile = AccessProfileSerializer(read_only=True)
    care_site = serializers.SerializerMethodField()
    role = RoleSerializer(read_only=True)
    perimeter = PerimeterSerializer(read_only=True)
    actual_start_datetime = serializers.DateTimeField(source="start_datetime", read_only=True)
    actual_end_datetime = serializers.DateTimeField(source="end_datetime", read_only=True)
    created_by = serializers.CharField(source="created_by.display_name", read_only=True, default=None)
    updated_by = serializers.CharField(source="updated_by.display_name", read_only=True, default=None)

    class Meta:
        model = Access
        fields = [
            "id",
            "is_valid",
            "profile",
            "care_site",
            "role",
            "actual_start_datetime",
            "actual_end_datetime",
            "start_datetime",
            "end_datetime",
            "perimeter",
            "perimeter_id",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields

    def get_care_site(self, access: Access) -> dict:
        return {}  # a legacy nested field the clients still receive empty

    def to_representation(self, access: Access) -> dict:
        data = super().to_representation(access)
        editable = self.context.get("editable")
        if editable is not None:
            data["editable"] = editable.get(access.id, False)
        return data


class ExpiringAccessSerializer(serializers.ModelSerializer):
    profile = serializers.CharField(source="profile.user.display_name", read_only=True, default=None)
    perimeter = serializers.CharField(source="perimeter.name", read_only=True, default=None)

    class Meta:
        model = Access
        fields = ["start_datetime", "end_datetime", "profile", "perimeter"]
        read_only_fields = fields


class OptionalDateTimeField(serializers.DateTimeField):
    """An ISO datetime; empty means "not given"; no offset means UTC; anything else is a 400."""

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, value):
        if value in ("", None):
            return None
        try:
            moment = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well formed but impossible, e.g. month 13
            moment = None
        if moment is None:
            raise serializers.ValidationError(f"Invalid datetime {value!r}: expected ISO 8601.")
        return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


class AccessCreateSerializer(serializers.Serializer):
    profile_id = serializers.PrimaryKeyRelatedField(queryset=Profile.objects.all(), source="profile")
    role_id = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), source="role")
    perimeter_id = serializers.PrimaryKeyRelatedField(queryset=Perimeter.objects.all(), source="perimeter")
    start_datetime = OptionalDateTimeField()
    end_datetime = OptionalDateTimeField()


class AccessDatesSerializer(serializers.Serializer):
    start_datetime = OptionalDateTimeField()
    end_datetime = OptionalDateTimeField()
