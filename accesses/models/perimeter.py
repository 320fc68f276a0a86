from __future__ import annotations

from django.db import models

from admin_cohort.models import BaseModel


class Perimeter(BaseModel):
    """A node of the care-site tree (produced by the loader or the synchroniser, never by the API)."""

    id = models.BigIntegerField(primary_key=True)
    local_id = models.CharField(max_length=63, unique=True)
    name = models.TextField(null=True, blank=True)
    short_name = models.TextField(null=True, blank=True)
    source_value = models.TextField(null=True, blank=True)
    type_source_value = models.TextField(null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    above_levels_ids = models.TextField(null=True, blank=True)
    inferior_levels_ids = models.TextField(null=True, blank=True)
    cohort_id = models.TextField(null=True, blank=True, db_index=True)
    cohort_size = models.TextField(null=True, blank=True)
    full_path = models.TextField(null=True, blank=True)
    level = models.IntegerField(null=True, blank=True)
    count_allowed_users = models.IntegerField(default=0)
    count_allowed_users_inferior_levels = models.IntegerField(default=0)
    count_allowed_users_above_levels = models.IntegerField(default=0)

    class Meta:
        db_table = "accesses_perimeter"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"
