"""Access-expiry alerts (spec 01 §12, e-mail of §18.2)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accesses.models import ORBIS, Access, ExpiryAlertSent, Profile
from accesses.services.expiry_alerts import send_expiry_alerts
from accesses.tasks import check_expiring_accesses
from admin_cohort.emails import LOGO_CONTENT_ID
from admin_cohort.tests.test_emails import parts_of, unreachable_smtp
from tests.factories import RoleFactory, UserFactory, grant

SUBJECT = "Expiration de vos accès à Cohort360"
MANAGERS_LINK = "https://portail.example.org/gestionnaires"


@pytest.fixture(autouse=True)
def alerts_on(settings, db):
    settings.ENABLE_ACCESS_EXPIRY_ALERTS = True
    settings.ACCESS_MANAGERS_LIST_LINK = MANAGERS_LINK
    settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS, settings.ACCESS_EXPIRY_SECOND_ALERT_IN_DAYS = 30, 2


def ending_in(days: int, user=None, *, profile: Profile | None = None) -> Access:
    """A valid access of `user` (a new one by default) ending at noon, `days` days from today (server date)."""
    access = grant(user or UserFactory(), RoleFactory(), days=days + 1)
    expiry_date = timezone.localdate() + timedelta(days=days)
    access.end_datetime = timezone.make_aware(datetime.combine(expiry_date, time(12)))
    access.profile = profile or access.profile
    access.save()
    return access


def recipients() -> list[str]:
    return sorted(address for sent in mail.outbox for address in sent.to)


def test_an_access_ending_in_n_days_gets_one_mail():
    user = UserFactory(firstname="Zoé", lastname="MARTIN", username="4200001", email="zoe.martin@example.org")
    ending_in(30, user)

    assert send_expiry_alerts(30) == 1

    [sent] = mail.outbox
    assert (sent.subject, sent.to) == (SUBJECT, ["zoe.martin@example.org"])
    assert "Bonjour Zoé MARTIN (4200001)," in sent.body
    assert "expirent dans 30 jours" in sent.body
    assert MANAGERS_LINK in sent.body
    html = sent.alternatives[0].content
    assert sent.alternatives[0].mimetype == "text/html"
    assert "30 jours" in html and f'href="{MANAGERS_LINK}"' in html and f"cid:{LOGO_CONTENT_ID}" in html
    assert parts_of(sent)[-1]["Content-ID"] == f"<{LOGO_CONTENT_ID}>"


def test_accesses_ending_another_day_get_none():
    for days in (1, 2, 29, 31):
        ending_in(days)
    assert send_expiry_alerts(30) == 0
    assert mail.outbox == []


def test_switched_off_nothing_is_sent(settings):
    settings.ENABLE_ACCESS_EXPIRY_ALERTS = False
    ending_in(30)
    assert send_expiry_alerts(30) == 0
    assert mail.outbox == []
    assert not ExpiryAlertSent.objects.exists()


def test_one_mail_per_profile():
    several_accesses = UserFactory()
    ending_in(2, several_accesses)
    ending_in(2, several_accesses)
    two_profiles = UserFactory()
    ending_in(2, two_profiles)
    ending_in(2, two_profiles, profile=Profile.objects.create(user=two_profiles, source=ORBIS))

    assert send_expiry_alerts(2) == 3
    assert recipients() == sorted([several_accesses.email, two_profiles.email, two_profiles.email])


def test_only_valid_accesses_of_reachable_users_count():
    mailed = ending_in(2).profile.user
    ending_in(2).delete()
    not_started = ending_in(2)
    not_started.start_datetime = timezone.now() + timedelta(hours=1)
    not_started.save()
    inactive = ending_in(2).profile
    inactive.is_active = False
    inactive.save()
    ending_in(2, UserFactory(email=None))
    ending_in(2).profile.user.delete()

    assert send_expiry_alerts(2) == 1
    assert recipients() == [mailed.email]


def test_two_runs_the_same_day_still_one_mail():
    ending_in(30)
    assert send_expiry_alerts(30) == 1
    assert send_expiry_alerts(30) == 0
    assert len(mail.outbox) == 1


def test_the_task_alerts_at_both_horizons():
    first, second = ending_in(30), ending_in(2)
    check_expiring_accesses()
    check_expiring_accesses()  # another beat in the same minute
    assert recipients() == sorted([first.profile.user.email, second.profile.user.email])
    assert sorted("30 jours" in sent.body for sent in mail.outbox) == [False, True]


def test_a_failed_sending_is_tried_again_by_a_later_run(settings):
    ending_in(30)
    with unreachable_smtp(settings):
        assert send_expiry_alerts(30) == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_expiry_alerts(30) == 1
    assert len(mail.outbox) == 1


def test_claims_of_passed_expiry_dates_are_dropped():
    profile = ending_in(30).profile
    ExpiryAlertSent.objects.create(profile=profile, days=2, expiry_date=timezone.localdate() - timedelta(days=1))
    send_expiry_alerts(30)
    assert list(ExpiryAlertSent.objects.values_list("days", flat=True)) == [30]
