from __future__ import annotations

from django.db import models


class ExpiryAlertSent(models.Model):
    """An access-expiry e-mail already sent to a profile for one horizon and one expiry date.

    The daily alert may run more than once a day (several beats, a retry); claiming this row before
    sending makes it mail each profile once per horizon.
    """

    profile = models.ForeignKey("accesses.Profile", on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    expiry_date = models.DateField()
    sent_datetime = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accesses_expiry_alert_sent"
        constraints = [
            models.UniqueConstraint(fields=["profile", "days", "expiry_date"], name="unique_expiry_alert"),
        ]
        indexes = [models.Index(fields=["expiry_date"], name="expiry_alert_date")]
