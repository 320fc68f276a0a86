"""Periodic tasks run once per tick, however many beats (`worker -B`) and workers are running."""

from __future__ import annotations

import functools
import logging

from django.core.cache import cache
from django.utils import timezone

_logger = logging.getLogger("info")
TICK_LOCK_SECONDS = 600


def once_per_tick(func):
    """The first run of a tick (same task, same minute) takes a lock in the shared cache; the others skip."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        tick = timezone.now().strftime("%Y%m%d%H%M")
        if not cache.add(f"tick:{func.__module__}.{func.__name__}:{tick}", 1, timeout=TICK_LOCK_SECONDS):
            _logger.info("%s already ran for tick %s", func.__name__, tick)
            return None
        return func(*args, **kwargs)

    return wrapper
