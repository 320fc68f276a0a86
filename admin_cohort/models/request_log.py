from __future__ import annotations

from django.conf import settings
from django.db import models


class RequestLog(models.Model):
    """One audited API request (who did what, when, with which outcome)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    username_persistent = models.CharField(max_length=50, default="Anonymous")
    impersonated_by = models.CharField(max_length=50, null=True, blank=True)
    trace_id = models.CharField(max_length=100, null=True, blank=True)
    requested_at = models.DateTimeField(db_index=True)
    response_ms = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=1024, db_index=True)
    view = models.CharField(max_length=200, null=True, blank=True)
    view_method = models.CharField(max_length=200, null=True, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    host = models.URLField(null=True, blank=True)
    method = models.CharField(max_length=10)
    user_agent = models.CharField(max_length=255, null=True, blank=True)
    query_params = models.TextField(null=True, blank=True)
    data = models.TextField(null=True, blank=True)
    response = models.TextField(null=True, blank=True)
    errors = models.TextField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        db_table = "request_log"
