"""The one way to call an outside service: a requests session with a timeout and bounded retries."""

from __future__ import annotations

import functools
import os
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT_SECONDS = 60


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        """requests' merge, with what the environment selects read once per origin (see `environment_settings`)."""
        if not self.trust_env or proxies or verify not in (None, True):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        env_proxies, env_verify = environment_settings(_origin(url))
        return {
            "proxies": merge_setting(dict(env_proxies), self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(env_verify or verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def close(self) -> None:
        """Also closes the idle kept-alive connections: urllib3 forgets its pools on close without closing them,
        and their sockets would stay open until garbage-collected. A connection still reading an answer is not
        in its pool, and stays open until that answer is closed."""
        for adapter in self.adapters.values():
            pools = adapter.poolmanager.pools
            for key in pools.keys():  # noqa: SIM118 (urllib3's pool container refuses iteration)
                pool = pools.get(key)
                if pool is not None:
                    pool.close()
        super().close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@functools.lru_cache(maxsize=128)
def environment_settings(origin: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The proxies (`HTTP_PROXY`, `NO_PROXY`…) and CA bundle the environment selects for an origin.

    requests reads them again for every call: two scans of the whole environment, which cost more than the call
    itself on a local network (a count's submission to the QueryExecutor). A running process's environment does
    not change, and `NO_PROXY` decides by host and port, so the answer is kept per origin.
    """
    proxies = get_environ_proxies(origin)
    return tuple(proxies.items()), os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def http_session(timeout: float = DEFAULT_TIMEOUT_SECONDS, retries: int = 2) -> requests.Session:
    """Retries only failed connections and idempotent methods' 502/503/504: a POST is never sent twice."""
    session = _TimeoutSession(timeout)
    retry = Retry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class RawBody:
    """The rest of a streamed answer's body as it arrives: `head`, already read past the headers, then `length`
    more bytes on `source`, the connection's socket."""

    head: bytes
    source: socket.socket
    length: int


def raw_body(response: requests.Response) -> RawBody | None:
    """The body of an answer opened with `stream=True` and not read yet, as bytes on a plain TCP socket, for a
    relay by the kernel (admin_cohort.zero_copy). None when the body is not sent as is: over TLS, chunked,
    compressed, or of unknown length. Once taken, the body can no longer be read through `response`, whose
    connection must be closed, not reused.
    """
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    answer = getattr(response.raw, "_fp", None)  # the http.client answer under urllib3's
    connection = response.raw.connection
    sock = getattr(connection, "sock", None)
    if answer is None or answer.chunked or answer.length is None or answer.fp is None:
        return None
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    try:
        # http.client read the headers through a buffer, which may hold the body's first bytes.
        buffered = answer.fp.peek(0)[: answer.length] if answer.length else b""
        head = answer.fp.read(len(buffered)) if buffered else b""
    except OSError:
        return None  # the answer's body does not come: reading it as usual reports the error
    return RawBody(head=head, source=sock, length=answer.length - len(head))
