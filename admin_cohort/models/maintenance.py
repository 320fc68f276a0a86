from __future__ import annotations

from django.db import models
from django.utils import timezone

from admin_cohort.models.base import BaseModel


class MaintenancePhase(BaseModel):
    class Type(models.TextChoices):
        PARTIAL = "partial"
        FULL = "full"

    subject = models.TextField()
    message = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.PARTIAL)
    start_datetime = models.DateTimeField()
    end_datetime = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["start_datetime", "end_datetime"])]

    @property
    def active(self) -> bool:
        return self.start_datetime < timezone.now() < self.end_datetime
