"""Signals other apps listen to, so that this app never imports them."""

from django.dispatch import Signal

# Sent by perimeter synchronisers after a commit that changed perimeters' cohort ids, with
# `changes={old cohort id: new cohort id}` (strings). Cohort apps rewrite saved queries that referenced
# the old ids.
perimeter_cohort_ids_changed = Signal()
