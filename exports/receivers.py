"""The exports' reactions to job ends: subsets let their export go on, ended exports are announced."""

from exports.services import notifications, subsets  # noqa: F401 (their job_ended receivers)
