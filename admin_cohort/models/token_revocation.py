from __future__ import annotations

from django.db import models


class RevokedToken(models.Model):
    """A revoked token id: a `jti` (one token) or a `sid` (every token of one login)."""

    key = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)
