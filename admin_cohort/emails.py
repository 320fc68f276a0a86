"""The common shape of every notification e-mail (spec 01 §18.1), reused by every app.

A text body and an HTML alternative rendered from `<template>.txt` / `<template>.html` with the same context,
wrapped in a multipart/related message carrying the Cohort360 logo inline, which the HTML references as
`cid:logo_cohort360.png`.
"""

from __future__ import annotations

import logging
import smtplib
from email.mime.image import MIMEImage
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

LOGO_STATIC_PATH = "admin_cohort/img/logo_cohort360.png"
LOGO_CONTENT_ID = "logo_cohort360.png"

_logger = logging.getLogger("info")


def send_email(*, subject: str, recipients: list[str], template: str, context: dict) -> bool:
    """Sends one notification; returns False when it could not be sent.

    Sending errors are logged and swallowed: a notification must never fail the operation that triggers it.
    """
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    logo = _logo()
    if logo is not None:
        message.mixed_subtype = "related"
        message.attach(logo)
    try:
        message.send()
    except (smtplib.SMTPException, OSError):  # OSError covers refused connections and timeouts
        _logger.exception("E-mail %r (%s) could not be sent to %s", subject, template, recipients)
        return False
    return True


def _logo() -> MIMEImage | None:
    # Found through the static finders, so that it works with or without `collectstatic`.
    path = finders.find(LOGO_STATIC_PATH)
    if path is None:
        _logger.warning("Static file %s not found: e-mails are sent without the logo", LOGO_STATIC_PATH)
        return None
    image = MIMEImage(Path(path).read_bytes(), "png")
    image.add_header("Content-ID", f"<{LOGO_CONTENT_ID}>")
    image.add_header("Content-Disposition", "inline", filename=LOGO_CONTENT_ID)
    return image
