"""ASGI application: HTTP (Django) and the websocket (/ws/) on one port."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_cohort.settings")
from django.conf import settings

from admin_cohort.auth.token_library import load_without_rsa_backend
from admin_cohort.databases import pool_web_connections

# Loaded first, this module starts a web process (the web server imports it); loaded by a process already set
# up (tests, the embedded mode), it only gives the application.
STARTS_THE_PROCESS = not settings.configured
if STARTS_THE_PROCESS:
    pool_web_connections()  # a web process's connections come from a pool
    if not settings.ENABLE_OIDC_AUTH:
        load_without_rsa_backend()  # checks HS256 tokens only: 9 MiB less memory
django.setup(set_prefix=False)

from admin_cohort.asgi_handler import SyncChainASGIHandler  # noqa: E402 (needs Django set up)
from admin_cohort.streaming import CHUNK_SIZE  # noqa: E402

django_asgi_app = SyncChainASGIHandler()
# A streamed chunk is sent as one message rather than cut into Django's 64 KB ones, which saves the web process
# about an eighth of its CPU per GB sent (bench/exports_download.py).
django_asgi_app.chunk_size = CHUNK_SIZE

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 (needs Django set up)
from django.urls import re_path  # noqa: E402

from admin_cohort.consumers import PushConsumer  # noqa: E402
from admin_cohort.zero_copy import ZeroCopySend  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ZeroCopySend(django_asgi_app),
        "websocket": URLRouter([re_path(r"ws", PushConsumer.as_asgi())]),
    }
)

if STARTS_THE_PROCESS:
    # Everything loaded so far lives as long as the process: the garbage collector stops scanning it, which
    # shortens the full collections that otherwise pause requests (bench/cohort_workspace.py).
    gc.freeze()
