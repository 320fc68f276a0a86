"""How a web process loads PyJWT: without its RSA backend when no OIDC token will ever be checked.

Locally issued tokens are HS256, which PyJWT verifies with the standard library; only OIDC tokens (RS256) need
the `cryptography` package, which PyJWT loads whenever it is installed. That package is 9 MiB of a web process's
memory, a tenth of it, and matters where downloads are streamed with a memory budget (bench/exports_download.py).
"""

from __future__ import annotations

import sys


def load_without_rsa_backend() -> None:
    """Imports PyJWT as if `cryptography` were not installed: the process then verifies HS256 tokens only.

    To be called before anything imports PyJWT, by a process that does not accept OIDC tokens. Other libraries
    may still import `cryptography` later: only PyJWT's choice of backends is made without it.
    """
    if "jwt" in sys.modules or "cryptography" in sys.modules:
        return
    sys.modules["cryptography"] = None  # an import of it raises ImportError, which PyJWT expects when it is absent
    try:
        import jwt  # noqa: F401
    finally:
        del sys.modules["cryptography"]
