"""Parsing of `SCHEDULED_TASKS` into a Celery beat schedule.

Two forms are accepted for each `;`-separated entry:
  4 fields: `name,dotted.task.path,hour,minute` (what the reference implementation reads)
  5 fields: `name,module,function,hour,minute` (what the seed README documents)
`hour` and `minute` are crontab fields (`*/2`, `3`, `0`, `1-5`…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from celery.schedules import crontab

from admin_cohort.env import ConfigurationError

MAINTENANCE_NOTIFIER_ENTRY = "maintenance_notifier"
MAINTENANCE_NOTIFIER_TASK = "admin_cohort.tasks.maintenance_notifier_checker"

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@dataclass(frozen=True)
class ScheduledTask:
    name: str
    task: str
    hour: str
    minute: str

    def as_beat_entry(self) -> dict:
        return {"task": self.task, "schedule": crontab(hour=self.hour, minute=self.minute)}


def _parse_entry(entry: str) -> ScheduledTask:
    fields = [f.strip() for f in entry.split(",")]
    if len(fields) == 4:
        name, task, hour, minute = fields
    elif len(fields) == 5:
        name, module, function, hour, minute = fields
        task = f"{module}.{function}"
    else:
        raise ConfigurationError(
            f"SCHEDULED_TASKS: entry {entry!r} must have 4 fields (name,task.path,hour,minute) "
            f"or 5 fields (name,module,function,hour,minute), not {len(fields)}"
        )
    if not name:
        raise ConfigurationError(f"SCHEDULED_TASKS: entry {entry!r} has an empty name")
    if not _DOTTED.match(task):
        raise ConfigurationError(f"SCHEDULED_TASKS: entry {entry!r} has an invalid task path {task!r}")
    for label, value in (("hour", hour), ("minute", minute)):
        if not _CRON_FIELD.match(value):
            raise ConfigurationError(f"SCHEDULED_TASKS: entry {entry!r} has an invalid {label} field {value!r}")
    try:
        crontab(hour=hour, minute=minute)
    except ValueError as error:
        raise ConfigurationError(f"SCHEDULED_TASKS: entry {entry!r}: {error}") from None
    return ScheduledTask(name=name, task=task, hour=hour, minute=minute)


def parse_scheduled_tasks(value: str) -> list[ScheduledTask]:
    tasks = [_parse_entry(entry.strip()) for entry in value.split(";") if entry.strip()]
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"SCHEDULED_TASKS: duplicated task name(s): {', '.join(duplicates)}")
    if MAINTENANCE_NOTIFIER_ENTRY in names:
        raise ConfigurationError(f"SCHEDULED_TASKS: the name {MAINTENANCE_NOTIFIER_ENTRY!r} is reserved")
    return tasks


def beat_schedule(value: str) -> dict[str, dict]:
    """The built-in maintenance notifier plus every configured task."""
    schedule = {
        MAINTENANCE_NOTIFIER_ENTRY: {"task": MAINTENANCE_NOTIFIER_TASK, "schedule": crontab(minute="*/1")},
    }
    for task in parse_scheduled_tasks(value):
        schedule[task.name] = task.as_beat_entry()
    return schedule


def cohort_beat_schedule() -> dict[str, dict]:
    """The periodic tasks of the cohort app: stale jobs are reconciled and due refresh schedules run."""
    return {
        "cohort_stale_jobs": {"task": "cohort.tasks.fail_stale_jobs", "schedule": crontab(minute="*/5")},
        "cohort_refresh_schedules": {"task": "cohort.tasks.run_due_refresh_schedules", "schedule": crontab()},
    }


def exports_beat_schedule(poll_interval_seconds: int) -> dict[str, dict]:
    """The periodic tasks of the exports app: running exports are polled, expired files deleted hourly."""
    return {
        "exports_poll": {"task": "exports.tasks.poll_exports", "schedule": timedelta(seconds=poll_interval_seconds)},
        "exports_clean_files": {"task": "exports.tasks.delete_exported_files", "schedule": crontab(minute="17")},
    }
