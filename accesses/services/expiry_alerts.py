"""Access-expiry alerts (spec 01 §12): each profile whose accesses end in `days` days is told so, once."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from accesses.models import Access, ExpiryAlertSent, Profile
from admin_cohort.emails import send_email

SUBJECT = "Expiration de vos accès à Cohort360"
TEMPLATE = "access_expiry_alert"

_logger = logging.getLogger("info")


def send_expiry_alerts(days: int) -> int:
    """Mails the users whose valid accesses end on today + `days` (server date); returns the number sent.

    One e-mail per profile. Each is claimed by an `ExpiryAlertSent` row committed before sending, not in one
    transaction: a second run the same day (another beat, a retry) must see the claims and mail nobody twice.
    """
    if not settings.ENABLE_ACCESS_EXPIRY_ALERTS:
        _logger.info("Access-expiry alerts are disabled (ENABLE_ACCESS_EXPIRY_ALERTS): none sent for %d days", days)
        return 0
    today = timezone.localdate()
    expiry_date = today + timedelta(days=days)
    # Claims on passed expiry dates can no longer prevent anything.
    ExpiryAlertSent.objects.filter(expiry_date__lt=today).delete()
    expiring = Access.objects.valid_now().filter(end_datetime__date=expiry_date)
    profiles = (
        Profile.objects.filter(id__in=expiring.values("profile_id"), user__delete_datetime__isnull=True)
        .select_related("user")
        .order_by("id")
    )
    sent = sum(_alert(profile, days, expiry_date) for profile in profiles)
    _logger.info("Access-expiry alerts for %d days (expiry on %s): %d e-mails sent", days, expiry_date, sent)
    return sent


def _alert(profile: Profile, days: int, expiry_date: date) -> bool:
    user = profile.user
    if not user.email:
        _logger.warning("Access-expiry alert not sent to %s (profile %s): no e-mail address", user.pk, profile.pk)
        return False
    claim, created = ExpiryAlertSent.objects.get_or_create(profile=profile, days=days, expiry_date=expiry_date)
    if not created:
        return False
    context = {
        "recipient_name": user.display_name,
        "expiry_days": days,
        "access_managers_list_link": settings.ACCESS_MANAGERS_LIST_LINK,
    }
    if send_email(subject=SUBJECT, recipients=[user.email], template=TEMPLATE, context=context):
        return True
    claim.delete()  # released, so that a later run of the day may try again
    return False
