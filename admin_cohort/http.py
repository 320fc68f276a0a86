"""The one way to call an outside service: a requests session with a timeout and bounded retries."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT_SECONDS = 60


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)

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
