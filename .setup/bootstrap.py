"""The project's virtual environment, created and kept in step with a requirements file.

Shared by run.py and test.py; standard library only, since it runs before anything is installed.
A stamp (the hash of the requirements file and of the files it includes with `-r`) is kept inside .venv,
so pip only runs when the requirements changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

MINIMUM_PYTHON = (3, 11)
REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def require_python() -> None:
    if sys.version_info < MINIMUM_PYTHON:
        wanted = ".".join(map(str, MINIMUM_PYTHON))
        fail(f"Python >= {wanted} is needed, this is {sys.version.split()[0]} ({sys.executable})")


def _requirement_files(path: Path) -> list[Path]:
    """The file and, recursively, those it includes with `-r` / `--requirement`."""
    files = [path]
    for line in path.read_text().splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) == 2 and parts[0] in ("-r", "--requirement"):
            files += _requirement_files(path.parent / parts[1])
    return files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stamp(path: Path) -> Path:
    return VENV / f".installed-{path.name}.sha256"


def _is_current(path: Path) -> bool:
    stamp = _stamp(path)
    return stamp.is_file() and stamp.read_text().strip() == _digest(path)


def ensure_venv(requirements: str) -> Path:
    """The venv's Python, after installing `requirements` (a file at the repository root) if it changed."""
    require_python()
    path = REPO / requirements
    if not VENV_PYTHON.exists():
        print(f"Creating the virtual environment {VENV} …", flush=True)
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode != 0:
            fail("could not create the virtual environment (on Debian/Ubuntu: apt-get install python3-venv)")
    included = _requirement_files(path)
    if all(_is_current(file) for file in included):
        return VENV_PYTHON
    print(f"Installing {requirements} into {VENV} …", flush=True)
    command = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(path)]
    if subprocess.run(command, cwd=REPO).returncode != 0:
        fail(f"pip could not install {requirements}")
    for file in included:  # what requirements-dev.txt installs covers requirements.txt too
        _stamp(file).write_text(_digest(file))
    return VENV_PYTHON


def exec_in_repo(program: Path, *arguments: str) -> None:
    """Replaces this process, so that signals (CONTROL-C, SIGTERM) and the exit code are the program's own."""
    os.chdir(REPO)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(program, [str(program), *arguments])
