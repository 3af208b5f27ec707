"""Fetches cannot reach inside: every connection is checked at the address it goes to (issue 32).

The probes of docs/reliability.md's security section: loopback, IPv6, cloud metadata, decimal and
octal spellings, IPv4 inside IPv6, redirects, names that resolve inside; slow headers cut at the
deadline; oversized headers refused; feeds validated on subscription (API and service).
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import pytest
from fastapi.testclient import TestClient
from live_http import LocalSite

from assistant.errors import InputError
from assistant.live.fetch import Fetcher, FetchError, FetchPolicy
from live_fixtures import WIRE, page, rss

_connects: list[tuple] = []
_recording = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _recording.is_set():
        _connects.append(args[1])


sys.addaudithook(_audit)


@pytest.fixture
def connects():
    """Every address this process tries to connect to while the test runs."""
    _connects.clear()
    _recording.set()
    yield _connects
    _recording.clear()


@pytest.fixture
def site():
    with LocalSite() as site:
        yield site


def fetch_error(url: str, **policy) -> str:
    with Fetcher(FetchPolicy(**{"host_delay": 0, "timeout": 2, **policy})) as fetcher:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(url)
    return caught.value.reason


@pytest.mark.parametrize(("host", "kind"), [
    ("127.0.0.1", "loopback"), ("localhost", "loopback"), ("[::1]", "loopback"), ("2130706433", "loopback"),
    ("0x7f.1", "loopback"), ("127.1", "loopback"), ("0.0.0.0", "unspecified"), ("[::ffff:127.0.0.1]", "loopback"),
    ("[::]", "unspecified"), ("169.254.169.254", "link-local"), ("[fe80::1]", "link-local"),
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("172.16.0.1", "private"), ("[fd00::1]", "unique-local"),
    ("100.64.0.1", "not public"), ("[::ffff:a9fe:a9fe]", "link-local"), ("[2002:7f00:1::]", "loopback")])
def test_addresses_inside_are_refused_before_connecting(site, connects, host, kind):
    reason = fetch_error(f"http://{host}:{site.port}/secret")
    assert reason.startswith("refused:") and f"({kind}" in reason and "ASSISTANT_FETCH_ALLOW" in reason, reason
    assert connects == [] and site.requests == []


def test_what_the_operator_allows_is_fetched_and_nothing_else(site):
    site.add("/feed.xml", b"<rss/>", content_type="application/rss+xml")
    with Fetcher(FetchPolicy(host_delay=0, timeout=2, allow=("127.0.0.0/8",))) as fetcher:
        assert fetcher.fetch(site.url("/feed.xml")).body == b"<rss/>"
        assert fetcher.fetch(f"http://localhost:{site.port}/feed.xml").body == b"<rss/>"  # resolves to 127.0.0.1
    # A host name allows that name (whatever it resolves to), not the address spelled another way.
    with Fetcher(FetchPolicy(host_delay=0, timeout=2, allow="localhost")) as fetcher:
        assert fetcher.fetch(f"http://localhost:{site.port}/feed.xml").status == 200
    assert "refused:" in fetch_error(site.url("/feed.xml"), allow="localhost")
    assert "refused:" in fetch_error(f"http://[::1]:{site.port}/feed.xml", allow="127.0.0.1")


def test_a_redirect_to_an_address_inside_is_refused(site, connects):
    site.redirect("/go-meta", "http://169.254.169.254/latest/meta-data/")
    site.redirect("/go-v6", f"http://[::1]:{site.port}/secret")
    site.redirect("/go-decimal", f"http://2130706434:{site.port}/secret")  # 127.0.0.2
    site.add("/secret", b"INTERNAL SECRET")
    for path in ("/go-meta", "/go-v6", "/go-decimal"):
        reason = fetch_error(site.url(path), allow="127.0.0.1/32")
        assert reason.startswith("redirect to ") and "refused:" in reason, reason
    assert site.requests_for("/secret") == []
    assert not any(address[0] in ("169.254.169.254", "::1", "127.0.0.2") for address in connects)


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(site, connects, monkeypatch):
    """DNS tricks: whatever a name resolves to is judged as that address, and the connection goes to
    exactly the address that was checked (no second lookup that could answer differently)."""
    answers = {"news.example": [("127.0.0.1", site.port)], "rebind.example": [("10.0.0.7", site.port)]}
    lookups, real = [], socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in answers:  # an address (the connection to a checked one) resolves to itself
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip, _ in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    site.add("/feed.xml", b"<rss/>", content_type="application/rss+xml")
    assert "refused: rebind.example is 10.0.0.7" in fetch_error(f"http://rebind.example:{site.port}/x")
    assert "refused: news.example is 127.0.0.1" in fetch_error(f"http://news.example:{site.port}/feed.xml")
    with Fetcher(FetchPolicy(host_delay=0, timeout=2, allow="127.0.0.1")) as fetcher:
        fetched = fetcher.fetch(f"http://news.example:{site.port}/feed.xml")
    assert fetched.body == b"<rss/>" and site.requests_for("/feed.xml")[-1].headers["host"].startswith("news.example")
    assert lookups == ["rebind.example", "news.example", "news.example"]  # one lookup per connection
    assert connects == [("127.0.0.1", site.port)]  # the checked address, never 10.0.0.7


def test_a_resolver_that_does_not_answer_is_cut_at_the_deadline(monkeypatch):
    real, released = socket.getaddrinfo, threading.Event()

    def stuck(host, port, *args, **kwargs):
        if host == "stuck.example":
            released.wait(10)
            raise socket.gaierror("gave up")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    started = time.monotonic()
    try:
        assert fetch_error("http://stuck.example/feed.xml", timeout=1.0) == "timed out after 1 s"
    finally:
        released.set()
    assert time.monotonic() - started < 3


def _raw_server(respond) -> tuple[socket.socket, threading.Event]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            try:
                respond(connection, stop)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


def test_headers_trickling_in_are_cut_at_the_deadline():
    def trickle(connection, stop):
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            if stop.wait(0.1):
                return
            connection.sendall(bytes([byte]))

    listener, stop = _raw_server(trickle)
    started = time.monotonic()
    try:
        reason = fetch_error(f"http://127.0.0.1:{listener.getsockname()[1]}/", allow="127.0.0.1", timeout=1.0)
    finally:
        stop.set()
        listener.close()
    assert reason == "timed out after 1 s" and time.monotonic() - started < 3


def test_oversized_headers_are_refused():
    def huge(connection, _stop):
        connection.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\nbody")

    listener, _ = _raw_server(huge)
    try:
        reason = fetch_error(f"http://127.0.0.1:{listener.getsockname()[1]}/", allow="127.0.0.1")
    finally:
        listener.close()
    assert reason == "response headers larger than 100 KB"


def test_a_malformed_allow_entry_is_refused_naming_it():
    from pydantic import ValidationError

    from assistant import Settings

    with pytest.raises(ValidationError, match="ASSISTANT_FETCH_ALLOW: '10.0.0.0/33' is not"):
        Settings(fetch_allow="127.0.0.1, 10.0.0.0/33")
    assert Settings(fetch_allow="127.0.0.1, 10.1.0.0/16, intranet.example").fetch_allow


# --- through the service and the API ---------------------------------------------------------

@pytest.fixture
def open_api(make_assistant):
    """The API with the default settings: nothing inside is allowed."""
    from assistant.apps.api import create_api

    assistant = make_assistant(fetch_host_delay=0, fetch_timeout=2)
    return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)


def test_the_api_refuses_to_subscribe_or_ingest_an_internal_address(site, open_api):
    secret = site.add("/direct-secret", page("INTERNAL SECRET admin token", WIRE, "Intranet"))
    for url in (secret, f"http://localhost:{site.port}/direct-secret", "http://169.254.169.254/latest/"):
        refused = open_api.post("/api/feeds", json={"url": url})
        assert refused.status_code == 400 and "refused:" in refused.json()["error"]["message"], refused.text
    assert open_api.get("/api/feeds").json() == {"feeds": []}
    assert site.requests == []
    assert open_api.get("/api/articles").json()["total"] == 0  # nothing of the internal page was indexed


def test_feed_items_pointing_inside_are_not_fetched(site, make_assistant):
    """A public feed (allowed here as 127.0.0.1) whose items point at other internal addresses."""
    feed = site.add("/feed.xml", rss("Riverton Post", [("Meta", "http://169.254.169.254/latest/meta-data/",
                                                        "Tue, 05 Nov 2024 10:00:00 GMT"),
                                                       ("V6", f"http://[::1]:{site.port}/a",
                                                        "Tue, 05 Nov 2024 11:00:00 GMT")]),
                    content_type="application/rss+xml")
    site.add("/a", page("Internal", WIRE, "Intranet"))
    assistant = make_assistant(fetch_host_delay=0, fetch_timeout=2, fetch_allow="127.0.0.1")
    done = assistant.add_feed(feed)
    reasons = [item["reason"] for item in done.report.items]
    assert len(reasons) == 2 and all("refused:" in reason for reason in reasons), reasons
    assert site.requests_for("/a") == []


def test_a_subscription_is_refused_with_the_reason_when_it_is_not_a_feed(site, make_assistant):
    assistant = make_assistant(fetch_host_delay=0, fetch_timeout=2, fetch_allow="127.0.0.1")
    site.add("/gone.xml", b"no", status=404, content_type="text/plain")
    article = site.add("/a/story", page("Riverton approves desalination plant", WIRE, "Riverton Post"))
    with pytest.raises(InputError, match="not subscribed: HTTP 404 Not Found"):
        assistant.add_feed(site.url("/gone.xml"))
    with pytest.raises(InputError, match=r"not an RSS or Atom feed \(the server sent text/html, a web page\)"):
        assistant.add_feed(article, fetch=False)
    assert assistant.feeds() == [] and assistant.store.count() == 0
