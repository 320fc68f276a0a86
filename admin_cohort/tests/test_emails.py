"""The common e-mail mechanism (spec 01 §18.1)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from email import message_from_bytes

import pytest
from django.core import mail

from admin_cohort.emails import LOGO_CONTENT_ID, send_email

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def notice_template(settings, tmp_path) -> str:
    """A template pair of this test only, so that the mechanism is checked independently of any app's e-mails."""
    (tmp_path / "notice.txt").write_text("Bonjour {{ name }}, l'équipe vous écrit.", encoding="utf-8")
    (tmp_path / "notice.html").write_text('<img src="cid:logo_cohort360.png"><p>Bonjour {{ name }}</p>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    return "notice"


@contextlib.contextmanager
def unreachable_smtp(settings, *, silent: bool = False) -> Iterator[None]:
    """Points the SMTP backend at a loopback port that refuses connections, or with `silent` never answers.

    The port stays bound meanwhile, so no other process can take it; bound but not listening, it refuses.
    """
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if silent:
            server.listen(1)  # the kernel completes the connection; nobody ever sends the SMTP greeting
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.getsockname()[1]
        settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 0.5
        yield


def parts_of(sent: mail.EmailMessage) -> list:
    """The MIME parts as a mail client sees them, after a round trip through the wire format."""
    return list(message_from_bytes(sent.message().as_bytes()).walk())


def test_text_and_html_bodies_with_the_logo_inline(notice_template, settings):
    assert send_email(subject="Sujet", recipients=["a@example.org"], template="notice", context={"name": "Zoé"})

    [sent] = mail.outbox
    assert (sent.subject, sent.to, sent.from_email) == ("Sujet", ["a@example.org"], settings.DEFAULT_FROM_EMAIL)
    assert sent.body == "Bonjour Zoé, l'équipe vous écrit."
    assert sent.alternatives[0].content == '<img src="cid:logo_cohort360.png"><p>Bonjour Zoé</p>'
    assert sent.alternatives[0].mimetype == "text/html"

    parts = parts_of(sent)
    assert parts[0].get_content_type() == "multipart/related"
    assert [part.get_content_type() for part in parts[1:]] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/png",
    ]
    logo = parts[-1]
    assert logo["Content-ID"] == f"<{LOGO_CONTENT_ID}>"
    assert logo.get_content_disposition() == "inline"
    assert logo.get_payload(decode=True).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("silent", [False, True], ids=["connection-refused", "timeout"])
def test_sending_errors_are_logged_and_swallowed(notice_template, settings, silent):
    with unreachable_smtp(settings, silent=silent):
        assert send_email(subject="s", recipients=["a@example.org"], template="notice", context={}) is False
