"""Signals of the cohort app."""

from django.dispatch import Signal

# Sent after a job (count, cohort, feasibility study) reached a final status, once, with `instance`.
# Receivers run inside the transaction that recorded it.
job_ended = Signal()
