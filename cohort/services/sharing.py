"""Sharing a request snapshot: each recipient gets a copy of the request in a "received" folder (spec 02 §10)."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from cohort.models import SHARED_FOLDER_NAME, Folder, Request, RequestQuerySnapshot
from cohort.services import notifications
from cohort.services.errors import Refused

_logger = logging.getLogger("info")


def _recipients(raw: str | None) -> list:
    usernames = list(dict.fromkeys(item.strip() for item in (raw or "").split(",") if item.strip()))
    if not usernames:
        raise Refused("No 'recipients' provided")
    users = {user.username: user for user in get_user_model().objects.filter(username__in=usernames)}
    unknown = [username for username in usernames if username not in users]
    if unknown:
        raise Refused(f"No users found with the following IDs: {','.join(unknown)}")
    return [users[username] for username in usernames]


def _received_folder(user) -> Folder:
    # Several folders may bear the name (nothing forbids it): the oldest one receives.
    folder = Folder.objects.filter(owner=user, name=SHARED_FOLDER_NAME).order_by("created_at").first()
    return folder or Folder.objects.create(owner=user, name=SHARED_FOLDER_NAME)


@transaction.atomic
def share_snapshot(
    *, snapshot: RequestQuerySnapshot, sharer, recipients: str | None, name: str | None, notify_by_email: bool
) -> list[Request]:
    """Copies the request (with this snapshot as its only version) to every recipient; returns the copies.

    `recipients` is the comma-joined usernames; one unknown username refuses the whole share. Counts,
    cohorts and the query history are not copied.
    """
    users = _recipients(recipients)
    source = snapshot.request
    name = name or source.name
    copies = []
    for user in users:
        copy = Request.objects.create(
            owner=user,
            name=name,
            description=source.description,
            favorite=False,
            shared_by=sharer,
            parent_folder=_received_folder(user),
        )
        RequestQuerySnapshot.objects.create(
            owner=user,
            request=copy,
            serialized_query=snapshot.serialized_query,
            translated_query=snapshot.translated_query,
            perimeters_ids=snapshot.perimeters_ids,
            name=snapshot.name,
            shared_by=sharer,
            previous_snapshot=None,
            version=1,
        )
        copies.append(copy)
        if notify_by_email:
            _notify(recipient=user, sharer=sharer, request_name=name)
    return copies


def _notify(*, recipient, sharer, request_name: str) -> None:
    if not recipient.email:
        _logger.info("Request shared with %s, who has no e-mail address: not notified", recipient.username)
        return
    sharer_name = f"{sharer.firstname or ''} {sharer.lastname or ''}".strip() or sharer.username
    notifications.email_after_commit(
        user=recipient,
        subject=f"{sharer_name} a partagé une requête avec vous",
        template="shared_request",
        context={"owner_name": sharer_name, "request_name": request_name},
    )
