"""A Kerberos realm of the test's own: a real MIT KDC in a temporary directory (k5test), a user holding a ticket,
and the SPNEGO check of an HTTP service that trusts the realm (what a Hadoop namenode does).

It needs the system's Kerberos (Debian: krb5-kdc, krb5-admin-server, krb5-user, libkrb5-dev) and the packages of
requirements-kerberos.txt, which `.setup/test.py` installs where the system has Kerberos. Without them the tests
that use it are skipped (tests.fakes.fixtures), unless REQUIRE_KERBEROS_TESTS=1 (`.ci/run` sets it), which makes
them fail instead.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SERVICE = "HTTP/localhost"  # Kerberos names 127.0.0.1 by its canonical name
_PROGRAMS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")


def missing_parts() -> list[str]:
    """What this machine lacks to run a realm: Python packages, then the KDC's programs."""
    modules = [name for name in ("gssapi", "requests_gssapi", "k5test") if importlib.util.find_spec(name) is None]
    programs = [name for name in _PROGRAMS if not shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin")]
    return modules + programs


@dataclass(frozen=True)
class Realm:
    user: str  # the principal whose ticket is in `env`'s credential cache
    env: dict[str, str]  # KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME (the service's keytab)…


@contextmanager
def kerberos_realm() -> Iterator[Realm]:
    """A KDC for the duration, with the user's ticket and the HTTP service's key."""
    import k5test

    with socket.socket() as probe:  # k5test's default port would clash with another test run on the machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    realm = k5test.K5Realm(portbase=port)
    try:
        realm.addprinc(SERVICE)
        realm.extract_keytab(SERVICE, realm.keytab)
        yield Realm(user=realm.user_princ, env=dict(realm.env))
    finally:
        realm.stop()


def accept_negotiate(authorization: str | None) -> tuple[str | None, str | None]:
    """The client principal of a valid `Authorization: Negotiate <token>` header, and the token to answer it with
    (mutual authentication); (None, None) when there is no such header or the token is refused."""
    import gssapi

    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "negotiate" or not token:
        return None, None
    try:
        context = gssapi.SecurityContext(creds=gssapi.Credentials(usage="accept"), usage="accept")
        answer = context.step(base64.b64decode(token))
    except (gssapi.exceptions.GSSError, binascii.Error):
        return None, None
    if not context.complete:
        return None, None
    return str(context.initiator_name), base64.b64encode(answer).decode() if answer else None
