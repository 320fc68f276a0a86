from __future__ import annotations

from django.db import models

from admin_cohort.models import BaseModel


class Right(BaseModel):
    """A catalogue row describing one role flag for the UI (loaded by a data migration, read-only in the API)."""

    name = models.CharField(max_length=255, unique=True)
    label = models.TextField()
    depends_on = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    category = models.CharField(max_length=255)
    is_global = models.BooleanField(default=False)
    allow_edit_accesses_on_same_level = models.BooleanField(default=False)
    allow_edit_accesses_on_inf_levels = models.BooleanField(default=False)
    impact_inferior_levels = models.BooleanField(default=False)

    class Meta:
        db_table = "accesses_right"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
