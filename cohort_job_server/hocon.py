"""The body of `POST /jobs`: one line of `input.<key> = <value>` HOCON assignments (spec 03 §2.2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

COHORT_DEFINITION_NAME = "Created from C360 backend"

# Words HOCON reads back unchanged when unquoted: no separators, quotes, braces, comments (`//`, `#`) or
# substitutions (`${`). Anything else is written as a JSON string, which HOCON reads as the same text.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.\-/]+(?: [A-Za-z0-9_.\-/]+)*")


@dataclass(frozen=True)
class JobInput:
    syntax: str  # the normalised query's compact JSON
    mode: str
    cohort_uuid: str
    owner: str | None = None
    callback_path: str | None = None
    sampling: float | None = None
    details: str | None = None


def _text(value: str) -> str:
    if _UNQUOTED.fullmatch(value) and "//" not in value:
        return value
    return json.dumps(value)


def job_body(job: JobInput) -> str:
    """The reference's exact line for ordinary values; only unusual values (a username with a comma…) get quoted."""
    assignments = [
        ("cohortDefinitionName", _text(COHORT_DEFINITION_NAME)),
        ("cohortDefinitionSyntax", json.dumps(job.syntax)),
    ]
    # Without an owner the QueryExecutor uses its default: better than the reference's literal `None`.
    if job.owner:
        assignments.append(("ownerEntityId", _text(job.owner)))
    assignments += [("mode", _text(job.mode)), ("cohortUuid", _text(job.cohort_uuid))]
    if job.callback_path:
        assignments.append(("callbackPath", _text(job.callback_path)))
    if job.sampling or job.details:
        sampling = float(job.sampling) if job.sampling else None
        options = {"sampling": sampling, "details": job.details or None}
        assignments.append(("modeOptions", json.dumps(options, separators=(",", ":"))))
    return ",".join(f"input.{key} = {value}" for key, value in assignments)
