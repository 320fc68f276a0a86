#!/usr/bin/env python3
"""Runs the whole product on embedded defaults: SQLite, in-process worker and scheduler, demo data.

Usage: python3 .setup/run.py [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from venv_setup import ROOT, ensure_venv

if __name__ == "__main__":
    python = ensure_venv("requirements.txt")
    env = {k: v for k, v in os.environ.items() if k != "DB_NAME"}
    os.chdir(ROOT)
    os.execve(str(python), [str(python), "manage.py", "run_embedded", *sys.argv[1:]], env)
