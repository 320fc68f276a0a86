"""The business refusals of the cohort services."""

from __future__ import annotations


class Refused(Exception):  # noqa: N818 (reads as "raise Refused(...)")
    """A request the service cannot accept: answered 400 with the message as a bare JSON string (spec 02 §1.2)."""
