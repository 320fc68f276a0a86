"""Typed access to the environment: the one place that reads configuration variables.

Variables come from the process environment, then from `.env` at the repository root and from
`admin_cohort/.env` (the process environment always wins).
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent
TRUTHY = {"1", "true", "yes", "on", "y", "t"}
FALSY = {"0", "false", "no", "off", "n", "f", ""}


class ConfigurationError(Exception):
    """A variable is missing or malformed: start-up must stop with this message."""


def _load_dotenv_files() -> dict[str, str]:
    values: dict[str, str] = {}
    for path in (BASE_DIR / ".env", BASE_DIR / "admin_cohort" / ".env"):
        if path.is_file():
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    return values


_FILE_VALUES = _load_dotenv_files()


def raw(name: str) -> str | None:
    """The variable's text, or None when it is set nowhere."""
    if name in os.environ:
        return os.environ[name]
    return _FILE_VALUES.get(name)


def is_set(name: str) -> bool:
    value = raw(name)
    return value is not None and value.strip() != ""


def string(name: str, default: str = "") -> str:
    value = raw(name)
    return default if value is None else value.strip()


def boolean(name: str, default: bool = False) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUTHY:
        return True
    if lowered in FALSY:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a boolean (use true or false)")


def integer(name: str, default: int) -> int:
    value = raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not an integer") from None


def choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (case-insensitive); anything else stops start-up with the accepted values."""
    value = string(name, default).lower() or default
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r} is not one of: {', '.join(choices)}")
    return value


def comma_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in string(name, default).split(",") if item.strip()]


def admins(name: str = "ADMINS") -> list[tuple[str, str]]:
    """`Name,email;Name2,email2` -> [(name, email)]; empty entries are skipped."""
    result = []
    for entry in string(name).split(";"):
        parts = [p.strip() for p in entry.split(",")]
        if len(parts) == 2 and parts[1]:
            result.append((parts[0], parts[1]))
        elif entry.strip():
            raise ConfigurationError(f"{name}: entry {entry!r} is not of the form 'Name,email'")
    return result


def require(names: list[str]) -> None:
    missing = [name for name in names if not is_set(name)]
    if missing:
        raise ConfigurationError(
            "Missing required environment variable(s) for production mode: "
            + ", ".join(missing)
            + ". Set them in the environment or in .env (see README.md)."
        )
