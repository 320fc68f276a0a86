"""First set-up of a database: the perimeter tree from a CSV file, the admin user, the machine users.

The whole file is validated before anything is written, and everything is written in one transaction,
so a refused file leaves the database as it was. Running it again with the same file changes nothing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accesses.models import MANUAL, RIGHT_FLAGS, Access, Perimeter, Profile, Role
from accesses.services.perimeter_tree import (
    Ancestry,
    TreeError,
    compute_ancestry,
    full_path,
    join_ids,
    node_label,
    rebuild_closure,
    upsert_perimeters,
)
from admin_cohort.lookups import one_or_none
from admin_cohort.models import User

PERIMETERS_HEADER = (
    "id",
    "name",
    "short_name",
    "type_source_value",
    "source_value",
    "local_id",
    "cohort_id",
    "parent_id",
    "level",
    "above_levels_ids",
    "inferior_levels_ids",
)
FULL_ADMIN_ROLE = "Full Admin"
ADMIN_ACCESS_DAYS = 365
MAX_REPORTED_ERRORS = 20
SINGLE_ROOT = "ensure you have a single root perimeter"
# Written from the file (or computed from it): a perimeter whose values all match is left untouched.
PERIMETER_FIELDS = (*PERIMETERS_HEADER[1:], "full_path")
_NON_NEGATIVE_INTEGER = re.compile(r"^\d+$")


class InitialDataError(Exception):
    """The input cannot be loaded; the message names the offending lines."""


@dataclass(frozen=True)
class _Row:
    line: int
    cells: dict[str, str | None]
    id: int
    parent_id: int | None
    level: int | None
    above_levels_ids: frozenset[int] | None
    inferior_levels_ids: frozenset[int] | None


@dataclass
class InitialDataReport:
    perimeters_created: int = 0
    perimeters_updated: int = 0
    admin_username: str = ""
    admin_granted: bool = False
    full_admin_role_changed: bool = False
    machine_users_changed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.perimeters_created
            or self.perimeters_updated
            or self.admin_granted
            or self.full_admin_role_changed
            or self.machine_users_changed
        )

    def summary(self) -> str:
        admin = "admin user set up" if self.admin_granted else "admin user already set up"
        machines = (
            f"machine users set up: {', '.join(self.machine_users_changed)}"
            if self.machine_users_changed
            else "machine users already set up"
        )
        return f"Perimeters: {self.perimeters_created} created, {self.perimeters_updated} updated; {admin}; {machines}"


def _integer(text: str | None, column: str, line: int, errors: list[str]) -> int | None:
    if text is None:
        return None
    if not _NON_NEGATIVE_INTEGER.match(text):
        errors.append(f"line {line}: {column} {text!r} is not a non-negative integer")
        return None
    return int(text)


def _integer_set(text: str | None, column: str, line: int, errors: list[str]) -> frozenset[int] | None:
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in items if not _NON_NEGATIVE_INTEGER.match(item)]
    if bad:
        errors.append(f"line {line}: {column} {text!r} is not a comma-separated list of integers")
        return None
    return frozenset(int(item) for item in items)


def _parse_row(line: int, cells: dict[str, str | None], errors: list[str]) -> _Row | None:
    """The row with its integer columns parsed, or None after appending its errors."""
    row_errors: list[str] = []
    if cells["id"] is None:
        row_errors.append(f"line {line}: id is empty")
    node_id = _integer(cells["id"], "id", line, row_errors)
    parent_id = _integer(cells["parent_id"], "parent_id", line, row_errors)
    level = _integer(cells["level"], "level", line, row_errors)
    above = _integer_set(cells["above_levels_ids"], "above_levels_ids", line, row_errors)
    inferior = _integer_set(cells["inferior_levels_ids"], "inferior_levels_ids", line, row_errors)
    errors += row_errors
    if row_errors or node_id is None:
        return None
    return _Row(
        line=line,
        cells=cells,
        id=node_id,
        parent_id=parent_id,
        level=level,
        above_levels_ids=above,
        inferior_levels_ids=inferior,
    )


def _read_rows(path: Path) -> list[_Row]:
    errors: list[str] = []
    rows: list[_Row] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file, delimiter=";")
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in PERIMETERS_HEADER if name not in header]
            unknown = [name for name in header if name not in PERIMETERS_HEADER]
            duplicated = sorted({name for name in header if header.count(name) > 1})
            if missing or unknown or duplicated:
                problems = [
                    f"{label}: {', '.join(names)}"
                    for label, names in (("missing", missing), ("unknown", unknown), ("duplicated", duplicated))
                    if names
                ]
                raise InitialDataError(
                    f"{path}: line 1: the header must be {';'.join(PERIMETERS_HEADER)} ({'; '.join(problems)})"
                )
            for values in reader:
                line = reader.line_num
                if not any(value.strip() for value in values):
                    continue  # blank lines (a trailing newline, a separator line) carry no perimeter
                if len(values) != len(header):
                    errors.append(f"line {line}: {len(values)} fields instead of {len(header)}")
                    continue
                cells = {name: (value.strip() or None) for name, value in zip(header, values, strict=True)}
                row = _parse_row(line, cells, errors)
                if row is not None:
                    rows.append(row)
    except UnicodeDecodeError as error:
        raise InitialDataError(f"{path}: not a UTF-8 text file ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise InitialDataError(f"{path}: line {reader.line_num}: {error}") from None
    except OSError as error:
        raise InitialDataError(f"{path}: cannot be read ({error.strerror})") from None
    _raise_if_any(path, errors)
    if not rows:
        raise InitialDataError(f"{path}: no perimeter in the file")
    return rows


def _raise_if_any(path: Path, errors: list[str]) -> None:
    if not errors:
        return
    shown = errors[:MAX_REPORTED_ERRORS]
    if len(errors) > MAX_REPORTED_ERRORS:
        shown.append(f"… and {len(errors) - MAX_REPORTED_ERRORS} more")
    raise InitialDataError(f"{path}: the file was not loaded:\n  " + "\n  ".join(shown))


def _check_unique(rows: list[_Row], key, label: str, errors: list[str]) -> None:
    first_line: dict = {}
    for row in rows:
        value = key(row)
        if value in first_line:
            errors.append(f"line {row.line}: duplicate {label} {value} (already on line {first_line[value]})")
        else:
            first_line[value] = row.line


def _local_id(row: _Row) -> str:
    return row.cells["local_id"] or str(row.id)


def read_perimeters(path: Path) -> list[Perimeter]:
    """The file's perimeters (unsaved), with their ancestry, parents before children.

    Raises InitialDataError naming every offending line; nothing is written.
    """
    rows = _read_rows(path)
    errors: list[str] = []
    _check_unique(rows, lambda row: row.id, "id", errors)
    _check_unique(rows, _local_id, "local_id", errors)
    _raise_if_any(path, errors)

    by_id = {row.id: row for row in rows}
    roots = [row for row in rows if row.parent_id is None]
    if not roots:
        errors.append(f"no root perimeter (a row with an empty parent_id): {SINGLE_ROOT}")
    elif len(roots) > 1:
        lines = ", ".join(str(row.line) for row in roots)
        errors.append(f"lines {lines}: {len(roots)} root perimeters (empty parent_id): {SINGLE_ROOT}")
    ancestry: dict[int, Ancestry] = {}
    try:
        ancestry = compute_ancestry({row.id: row.parent_id for row in rows})
    except TreeError as error:
        errors.append(f"line {by_id[error.node_id].line}: {error}")
    _raise_if_any(path, errors)

    labels = {row.id: node_label(row.id, row.cells["name"], row.cells["source_value"]) for row in rows}
    perimeters = []
    for row in rows:
        computed = ancestry[row.id]
        _check_given_matches(row, "level", row.level, computed.level, errors)
        _check_given_matches(row, "above_levels_ids", row.above_levels_ids, frozenset(computed.ancestor_ids), errors)
        _check_given_matches(row, "inferior_levels_ids", row.inferior_levels_ids, frozenset(computed.child_ids), errors)
        perimeters.append(
            Perimeter(
                id=row.id,
                local_id=_local_id(row),
                name=row.cells["name"],
                short_name=row.cells["short_name"],
                source_value=row.cells["source_value"],
                type_source_value=row.cells["type_source_value"],
                cohort_id=row.cells["cohort_id"],
                parent_id=row.parent_id,
                level=computed.level,
                above_levels_ids=join_ids(computed.ancestor_ids),
                inferior_levels_ids=join_ids(computed.child_ids),
                full_path=full_path(row.id, computed, labels),
            )
        )
    _raise_if_any(path, errors)
    return sorted(perimeters, key=lambda perimeter: perimeter.level)


def _check_given_matches(row: _Row, column: str, given, computed, errors: list[str]) -> None:
    """A filled ancestry column must agree with the parent links: stored ancestry drives every rights check."""
    if given is not None and given != computed:
        shown = join_ids(sorted(computed)) if isinstance(computed, frozenset) else computed
        errors.append(
            f"line {row.line}: {column} {row.cells[column]!r} does not match the parent links "
            f"(expected {shown or 'empty'}; leave the column empty to have it computed)"
        )


def _check_local_ids_free(path: Path, perimeters: list[Perimeter]) -> None:
    """A local_id held by another perimeter of the database would only fail at write time."""
    taken = dict(
        Perimeter.all_objects.filter(local_id__in=[p.local_id for p in perimeters])
        .exclude(id__in=[p.id for p in perimeters])
        .values_list("local_id", "id")
    )
    _raise_if_any(
        path,
        [
            f"perimeter {p.id}: local_id {p.local_id!r} is already used by perimeter {taken[p.local_id]}"
            for p in perimeters
            if p.local_id in taken
        ],
    )


def _upsert_perimeters(perimeters: list[Perimeter], report: InitialDataReport) -> None:
    result = upsert_perimeters(perimeters, PERIMETER_FIELDS)
    report.perimeters_created = len(result.created)
    report.perimeters_updated = len(result.updated)
    rebuild_closure()


def _full_admin_role(report: InitialDataReport) -> Role:
    all_rights = {flag: True for flag in RIGHT_FLAGS}
    role = Role.objects.filter(name=FULL_ADMIN_ROLE).first()
    if role is None:
        report.full_admin_role_changed = True
        return Role.objects.create(name=FULL_ADMIN_ROLE, **all_rights)
    missing = [flag for flag in RIGHT_FLAGS if not getattr(role, flag)]
    if missing:
        for flag in missing:
            setattr(role, flag, True)
        role.save(update_fields=[*missing, "update_datetime"])
        report.full_admin_role_changed = True
    return role


def _manual_profile(user: User) -> tuple[Profile, bool]:
    """The user's first manual profile, active (created when missing); and whether anything was written."""
    profile = Profile.objects.filter(user=user, source=MANUAL).order_by("id").first()
    if profile is None:
        return Profile.objects.create(user=user, source=MANUAL, is_active=True), True
    if not profile.is_active:
        profile.is_active = True
        profile.save(update_fields=["is_active", "update_datetime"])
        return profile, True
    return profile, False


def _new_user(username: str, password: str | None, **fields) -> User:
    user = User(username=username, **fields)
    user.set_password(password)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
        raise InitialDataError(f"cannot create user {username!r}: {details}") from None
    user.save(force_insert=True)
    return user


def _set_up_admin(root: Perimeter, report: InitialDataReport) -> None:
    username = settings.ADMIN_USERNAME
    report.admin_username = username
    role = _full_admin_role(report)
    user = one_or_none(User.all_objects.filter(pk=username))
    if user is None:
        user = _new_user(
            username,
            settings.ADMIN_PASSWORD,
            firstname=settings.ADMIN_FIRSTNAME,
            lastname=settings.ADMIN_LASTNAME,
            email=settings.ADMIN_EMAIL,
        )
        if settings.ADMIN_PASSWORD == settings.DEFAULT_ADMIN_PASSWORD and not settings.EMBEDDED:
            report.warnings.append(
                f"user {username!r} has the default password: set ADMIN_PASSWORD before the first run, "
                "or change the password now"
            )
    elif user.delete_datetime is not None:
        report.warnings.append(f"user {username!r} was deleted: it is not set up again")
        return
    profile, profile_written = _manual_profile(user)
    holds_full_admin = (
        Access.objects.valid_now().filter(profile__user=user, perimeter=root, role__right_full_admin=True).exists()
    )
    if not holds_full_admin:
        now = timezone.now()
        Access.objects.create(
            profile=profile,
            role=role,
            perimeter=root,
            start_datetime=now,
            end_datetime=now + timedelta(days=ADMIN_ACCESS_DAYS),
        )
    report.admin_granted = profile_written or not holds_full_admin


def _set_up_machine_users(report: InitialDataReport) -> None:
    """Machine users authenticate with their static token only: no usable password, no access."""
    # The deployment pipeline's user exists only where its token is configured.
    rollout = [settings.ROLLOUT_USERNAME] if settings.ROLLOUT_TOKEN else []
    for username in [*settings.APPLICATIVE_USERS, *rollout]:
        user = one_or_none(User.all_objects.filter(pk=username))
        written = False
        if user is None:
            user = _new_user(username, None, firstname=username, lastname="APPLICATION")
            written = True
        elif user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password", "update_datetime"])
            written = True
        if not Profile.all_objects.filter(user=user).exists():
            Profile.objects.create(user=user, source=MANUAL, is_active=True)
            written = True
        if written:
            report.machine_users_changed.append(username)


@transaction.atomic
def load_initial_data(*, perimeters_csv: Path) -> InitialDataReport:
    """Raises InitialDataError (nothing written) when the file or the configured users cannot be loaded."""
    perimeters = read_perimeters(perimeters_csv)
    _check_local_ids_free(perimeters_csv, perimeters)
    report = InitialDataReport()
    unknown_types = sorted({p.type_source_value for p in perimeters} - {*settings.PERIMETER_TYPES, None})
    if unknown_types:
        # Loaded anyway (the types only label perimeters here), but the OMOP sync would drop such perimeters.
        report.warnings.append(f"perimeter types not in PERIMETER_TYPES: {', '.join(unknown_types)}")
    _upsert_perimeters(perimeters, report)
    root = next(p for p in perimeters if p.parent_id is None)
    _set_up_admin(root, report)
    _set_up_machine_users(report)
    return report
