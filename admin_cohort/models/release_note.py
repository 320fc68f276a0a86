from __future__ import annotations

from django.db import models

from admin_cohort.models.base import BaseModel


class ReleaseNote(BaseModel):
    title = models.TextField()
    message = models.JSONField(default=list)
    author = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "release_note"
