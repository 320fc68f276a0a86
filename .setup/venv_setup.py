"""Creates or updates the project's virtual environment (.venv) from a requirements file.

Standard library only: it runs with a bare Python >= 3.11. Requirements are installed again only when the
requirements files changed (a hash stamp is kept in .venv).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def ensure_venv(requirements: str) -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 (runs on any Python, before the venv exists)
        sys.exit("Python 3.11 or newer is required.")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = sorted(ROOT.glob("requirements*.txt"))
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files) + requirements.encode()).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"Installing {requirements} …", flush=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(ROOT / requirements)], check=True)
        stamp.write_text(digest)
    return PYTHON
