"""The web process's ASGI handler (admin_cohort.asgi_handler): each request runs whole on one thread, threads are
kept for the next requests, and a view still running for a client that went away delays no other request."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from admin_cohort import asgi_handler
from admin_cohort.asgi_handler import SyncChainASGIHandler

RECEIVE_TIMEOUT = 10
release_slow_view = threading.Event()
slow_view_started = threading.Event()
slow_views_running = threading.Semaphore(0)


def thread_name(request) -> HttpResponse:
    return HttpResponse(threading.current_thread().name)


def slow(request) -> HttpResponse:
    slow_view_started.set()
    slow_views_running.release()
    release_slow_view.wait(RECEIVE_TIMEOUT)
    return HttpResponse(threading.current_thread().name)


urlpatterns = [path("thread/", thread_name), path("slow/", slow)]


def scope_of(route: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def serve(handler: SyncChainASGIHandler, route: str, gone: asyncio.Event | None = None) -> tuple[int, str]:
    """Status and body of a GET; with `gone`, the client disconnects once the event is set."""
    messages: list[dict] = []
    received = 0

    async def receive() -> dict:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await (gone.wait() if gone else asyncio.Event().wait())
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)

    await handler(scope_of(route), receive, send)
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return (start["status"] if start else 0), body.decode()


@pytest.fixture
def handler():
    release_slow_view.clear()
    slow_view_started.clear()
    with override_settings(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["localhost"]):
        yield SyncChainASGIHandler()
    release_slow_view.set()


@pytest.mark.django_db
def test_requests_one_after_the_other_are_served_on_one_kept_thread(handler):
    async def three_requests() -> list[tuple[int, str]]:
        return [await serve(handler, "/thread/") for _ in range(3)]

    before = threading.active_count()
    answers = asyncio.run(three_requests())
    assert [status for status, _ in answers] == [200, 200, 200]
    names = {name for _, name in answers}
    assert len(names) == 1 and names.pop().startswith("request")
    assert threading.active_count() == before + 1  # Django's handler starts two threads per request


@pytest.mark.django_db
def test_requests_at_once_each_get_their_own_thread(handler):
    async def at_once() -> list[tuple[int, str]]:
        gone = asyncio.Event()
        slow_request = asyncio.create_task(serve(handler, "/slow/", gone))
        while not slow_view_started.is_set():
            await asyncio.sleep(0.01)
        fast = await serve(handler, "/thread/")
        release_slow_view.set()
        return [fast, await slow_request]

    (fast_status, fast_thread), (slow_status, slow_thread) = asyncio.run(at_once())
    assert (fast_status, slow_status) == (200, 200)
    assert fast_thread != slow_thread


@pytest.mark.django_db
def test_a_view_still_running_for_a_client_that_went_away_delays_no_later_request(handler):
    async def disconnect_then_ask_again() -> tuple[int, bool, int]:
        gone = asyncio.Event()
        abandoned = asyncio.create_task(serve(handler, "/slow/", gone))
        while not slow_view_started.is_set():
            await asyncio.sleep(0.01)
        gone.set()
        status, _ = await asyncio.wait_for(serve(handler, "/thread/"), RECEIVE_TIMEOUT / 2)
        still_running = not release_slow_view.is_set()
        release_slow_view.set()
        abandoned_status, _ = await asyncio.wait_for(abandoned, RECEIVE_TIMEOUT)
        return status, still_running, abandoned_status

    status, still_running, abandoned_status = asyncio.run(disconnect_then_ask_again())
    assert (status, still_running) == (200, True)  # answered while the abandoned view still ran
    assert abandoned_status == 0  # no answer for a client that left


@pytest.mark.django_db
def test_threads_past_the_idle_bound_end_with_their_request(handler, monkeypatch):
    monkeypatch.setattr(asgi_handler, "IDLE_THREADS", 2)

    async def four_at_once() -> list[tuple[int, str]]:
        requests = [asyncio.create_task(serve(handler, "/slow/")) for _ in range(4)]
        for _ in range(4):
            await asyncio.to_thread(slow_views_running.acquire, timeout=RECEIVE_TIMEOUT)
        release_slow_view.set()
        return await asyncio.gather(*requests)

    before = {thread.name for thread in threading.enumerate()}
    answers = asyncio.run(four_at_once())
    assert [status for status, _ in answers] == [200] * 4
    assert len({name for _, name in answers}) == 4
    for thread in threading.enumerate():
        if thread.name not in before and thread.name.startswith("request"):
            thread.join(timeout=0.5)  # the two threads past the bound end; the kept two wait for work
    kept = {thread.name for thread in threading.enumerate() if thread.name not in before}
    assert len(kept) == 2
