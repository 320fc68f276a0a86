"""Embedded mode in one command: `python3 .setup/run.py [--host HOST] [--port PORT]`.

Creates .venv if needed, installs requirements.txt when it changed, then runs `manage.py run_embedded`
(SQLite, in-process task worker and scheduler, demo data, Swagger UI at /docs).
"""

from __future__ import annotations

import os
import sys

from bootstrap import REPO, ensure_venv, exec_in_repo

if __name__ == "__main__":
    python = ensure_venv("requirements.txt")
    # An empty DB_NAME beats a DB_NAME from the shell or from a production .env: this command is the embedded mode.
    os.environ["DB_NAME"] = ""
    exec_in_repo(python, str(REPO / "manage.py"), "run_embedded", *sys.argv[1:])
