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
        indexes = [models.Index(fields=["full_path", "id"], name="perimeter_full_path")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class PerimeterClosure(models.Model):
    """One row per (ancestor, descendant) pair of the tree, the node itself included at depth 0.

    Written only by `perimeter_tree.rebuild_closure()` after the tree is loaded or synced; rights queries
    answer "P or an ancestor of P" and "every descendant of P" with indexed lookups on it.
    """

    ancestor = models.ForeignKey(Perimeter, on_delete=models.CASCADE, related_name="+", db_index=False)
    descendant = models.ForeignKey(Perimeter, on_delete=models.CASCADE, related_name="+", db_index=False)
    depth = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "accesses_perimeter_closure"
        constraints = [
            models.UniqueConstraint(fields=["descendant", "ancestor"], name="unique_perimeter_closure_pair"),
        ]
        indexes = [models.Index(fields=["ancestor", "descendant"], name="perimeter_closure_down")]
