from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from admin_cohort.models import BaseModel

MANUAL = "Manual"
ORBIS = "ORBIS"


class Profile(BaseModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="profiles"
    )
    source = models.TextField(default=MANUAL)
    is_active = models.BooleanField(null=True, default=True)

    class Meta:
        db_table = "accesses_profile"


def role_holds_any(flags) -> Q:
    """A filter on accesses whose role has at least one of these right flags."""
    return Q(*((f"role__{flag}", True) for flag in flags), _connector=Q.OR)


class AccessQuerySet(models.QuerySet):
    def valid_now(self) -> AccessQuerySet:
        """Valid accesses for rights purposes: started, not ended, on an active profile."""
        now = timezone.now()
        return self.filter(start_datetime__lte=now, end_datetime__gte=now, profile__is_active=True).filter(
            profile__delete_datetime__isnull=True
        )

    def of_user(self, user) -> AccessQuerySet:
        return self.filter(profile__user=user)

    def with_role_holding_any(self, flags) -> AccessQuerySet:
        return self.filter(role_holds_any(flags))


class AliveAccessManager(models.Manager.from_queryset(AccessQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(delete_datetime__isnull=True)


class Access(BaseModel):
    perimeter = models.ForeignKey(
        "accesses.Perimeter", on_delete=models.SET_NULL, null=True, blank=True, related_name="accesses"
    )
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="accesses")
    role = models.ForeignKey("accesses.Role", on_delete=models.CASCADE, related_name="accesses")
    source = models.TextField(default=MANUAL)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    start_datetime = models.DateTimeField(null=True, blank=True)
    end_datetime = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AliveAccessManager()
    all_objects = models.Manager.from_queryset(AccessQuerySet)()

    class Meta:
        db_table = "accesses_access"
        indexes = [models.Index(fields=["start_datetime", "end_datetime"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_datetime__gte=models.F("start_datetime")) | Q(end_datetime__isnull=True),
                name="access_end_after_start",
            )
        ]

    @property
    def is_valid(self) -> bool:
        now = timezone.now()
        return bool(self.start_datetime and self.end_datetime and self.start_datetime <= now < self.end_datetime)
