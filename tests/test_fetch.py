"""Fetching against a real HTTP server on 127.0.0.1: caching, failures, limits, politeness,
safety and charsets."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import itertools
import os
import socket
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli
import pytest

from monitor import config
from monitor.errors import FetchError
from monitor.fetch import FetchRequest, decode_page, fetch_all, fetch_one, is_public_address
from monitor.fetch import addresses as fetch_module  # where names are resolved and checked
from monitor.models import Fetched

PAGES = Path(__file__).parent / "data" / "pages"
FAST = 0.01  # retry backoff base for tests: the schedule is real, only shorter
HTML = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>hello</p></body></html>"


def tuned(settings: config.Settings, **changes: object) -> config.Settings:
    return dataclasses.replace(settings, **changes)


def fetch(url: str, settings: config.Settings, **kwargs: object) -> Fetched:
    return fetch_one(FetchRequest(url, **kwargs), settings, retry_base=FAST)  # type: ignore[arg-type]


def fails(url: str, settings: config.Settings, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings, **kwargs)
    return caught.value


# --- the basics ----------------------------------------------------------------------------


def test_page_is_fetched_with_a_clear_user_agent(http_server, settings) -> None:
    url = http_server.add("/page", HTML, headers={"Content-Type": "text/html; charset=utf-8"})
    fetched = fetch(url, settings)
    assert fetched.status == 200
    assert fetched.body == HTML
    assert fetched.text == HTML.decode()
    assert fetched.headers["content-type"] == "text/html; charset=utf-8"
    assert http_server.requests_for("/page")[0].headers["User-Agent"] == settings.user_agent
    assert settings.user_agent.startswith("followup-monitor/")


def test_conditional_get_sends_validators_and_gets_304(http_server, settings) -> None:
    url = http_server.add(
        "/feed.xml",
        b"<rss/>",
        headers={"ETag": '"v1"', "Last-Modified": "Sun, 01 Mar 2026 10:00:00 GMT"},
    )
    first = fetch(url, settings)
    assert first.status == 200
    second = fetch(
        url,
        settings,
        etag=first.headers["etag"],
        last_modified=first.headers["last-modified"],
    )
    assert second.status == 304
    assert second.body == b""
    sent = http_server.requests_for("/feed.xml")[1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Sun, 01 Mar 2026 10:00:00 GMT"


def test_304_without_validators_keeps_the_ones_sent(http_server, settings) -> None:
    def not_modified(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(304)
        handler.end_headers()

    url = http_server.add("/bare304", handler=not_modified)
    fetched = fetch(url, settings, etag='"abc"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT")
    assert fetched.status == 304
    assert fetched.headers["etag"] == '"abc"'
    assert fetched.headers["last-modified"] == "Sun, 01 Mar 2026 10:00:00 GMT"


def test_connections_are_reused_after_304s(http_server, settings) -> None:
    ports: list[int] = []

    def not_modified(handler: BaseHTTPRequestHandler) -> None:
        ports.append(handler.client_address[1])
        handler.send_response(304)
        handler.send_header("ETag", '"same"')
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url = http_server.add("/cached", handler=not_modified)
    one_lane = tuned(settings, per_host_concurrency=1)
    results = fetch_all([FetchRequest(url, etag='"same"') for _ in range(5)], one_lane)
    assert all(isinstance(r, Fetched) and r.status == 304 for r in results)
    assert len(set(ports)) == 1


def test_feed_body_is_left_undecoded(http_server, settings) -> None:
    body = (
        '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>新闻</title></channel></rss>'
    )
    url = http_server.add(
        "/f.xml", body.encode("gb2312"), headers={"Content-Type": "application/rss+xml"}
    )
    fetched = fetch(url, settings)
    assert fetched.body == body.encode("gb2312")
    assert fetched.text is None


def test_garbage_body_is_still_fetched(http_server, settings) -> None:
    garbage = bytes(range(256)) * 20 + b"<rss><item><title>unterminated"
    url = http_server.add("/junk", garbage, headers={"Content-Type": "application/rss+xml"})
    fetched = fetch(url, settings)
    assert fetched.status == 200
    assert fetched.body == garbage


def test_results_keep_request_order_and_failures_stay_alone(http_server, settings) -> None:
    ok = http_server.add("/ok", b"fine")
    missing = http_server.url("/nowhere")
    broken = http_server.add("/broken", status=500)
    requests = [FetchRequest(ok), FetchRequest(missing), FetchRequest(broken), FetchRequest(ok)]
    results = fetch_all(requests, settings, retry_base=FAST)
    assert [type(r) for r in results] == [Fetched, FetchError, FetchError, Fetched]
    assert isinstance(results[1], FetchError)
    assert results[1].status == 404
    assert fetch_all([], settings) == []


def test_each_bad_feed_fails_alone_while_the_good_ones_arrive(http_server, settings) -> None:
    good = [http_server.add(f"/good{n}.xml", b"<rss>%d</rss>" % n) for n in range(3)]
    http_server.add("/loop", status=302, headers={"Location": "/loop"})
    bad = {
        "500": http_server.add("/e500", status=500),
        "timeout": http_server.add("/stuck", b"x", delay=3.0),
        "drip": http_server.add("/drip", b"x" * 100_000, drip=0.05),
        "loop": http_server.url("/loop"),
        "huge": http_server.add("/huge", b"x" * 300_000),
        "bomb": http_server.add(
            "/bomb", gzip.compress(b"\0" * 5_000_000), headers={"Content-Encoding": "gzip"}
        ),
    }
    strictish = tuned(settings, http_timeout=0.6, max_body_bytes=200_000)
    urls = [good[0], *bad.values(), good[1], good[2]]
    started = time.monotonic()
    results = fetch_all([FetchRequest(u, trusted=True) for u in urls], strictish, retry_base=FAST)
    assert time.monotonic() - started < 2.5  # the slow ones fail in parallel, not in turn
    by_url = dict(zip(urls, results, strict=True))
    assert [by_url[u].body for u in good] == [b"<rss>0</rss>", b"<rss>1</rss>", b"<rss>2</rss>"]
    assert all(isinstance(by_url[u], FetchError) for u in bad.values())


def test_fetch_works_when_called_from_a_running_event_loop(http_server, settings) -> None:
    url = http_server.add("/inside", b"ok")

    async def caller() -> Fetched:
        return fetch(url, settings)

    assert asyncio.run(caller()).body == b"ok"


# --- failures and retries -------------------------------------------------------------------


def test_server_error_fails_after_quick_retries(http_server, settings) -> None:
    url = http_server.add("/500", b"oops", status=500)
    error = fails(url, tuned(settings, retries=2))
    assert error.status == 500
    assert "500" in str(error)
    assert len(http_server.requests_for("/500")) == 3


def test_one_server_error_is_retried_into_a_success(http_server, settings) -> None:
    calls: list[int] = []

    def flaky(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        status = 502 if len(calls) == 1 else 200
        handler.send_response(status)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    url = http_server.add("/flaky", handler=flaky)
    assert fetch(url, settings).body == b"ok"
    assert len(calls) == 2


def test_retries_back_off_exponentially(http_server, settings) -> None:
    url = http_server.add("/503", status=503)
    with pytest.raises(FetchError):
        fetch_one(FetchRequest(url), tuned(settings, retries=2), retry_base=0.2)
    times = [r.at for r in http_server.requests_for("/503")]
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    # jitter scales each wait by 0.5..1: 0.1..0.2 s, then 0.2..0.4 s
    assert first_wait >= 0.09
    assert second_wait >= 0.19


def test_connection_refused_fails_after_retries(settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fails(f"http://127.0.0.1:{port}/feed", settings)
    assert "ConnectError" in str(error)
    assert "3 attempts" in str(error)


def test_not_found_is_not_retried(http_server, settings) -> None:
    url = http_server.url("/gone")
    assert fails(url, settings).status == 404
    assert len(http_server.requests_for("/gone")) == 1


def test_timeout_fails_without_retrying(http_server, settings) -> None:
    url = http_server.add("/slow", b"late", delay=3.0)
    started = time.monotonic()
    error = fails(url, tuned(settings, http_timeout=0.5))
    assert time.monotonic() - started < 2.5
    assert "0.5s" in str(error)
    assert len(http_server.requests_for("/slow")) == 1


def test_slow_drip_fails_within_the_deadline(http_server, settings) -> None:
    # 200 KB at 1 KB per 20 ms takes 4 s; each read is quick, so only the deadline stops it.
    url = http_server.add("/drip", b"x" * 200_000, drip=0.02)
    started = time.monotonic()
    error = fails(url, tuned(settings, http_timeout=0.5))
    assert time.monotonic() - started < 2.5
    assert "within 0.5s" in str(error)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_surfaced_and_not_retried(http_server, settings, status) -> None:
    url = http_server.add("/busy", status=status, headers={"Retry-After": "120"})
    error = fails(url, settings)
    assert error.status == status
    assert error.retry_after == 120
    assert len(http_server.requests_for("/busy")) == 1


def test_retry_after_as_a_date_is_read(http_server, settings) -> None:
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
    url = http_server.add("/later", status=429, headers={"Retry-After": later})
    error = fails(url, settings)
    assert error.retry_after is not None
    assert 500 < error.retry_after <= 600


# --- redirects ------------------------------------------------------------------------------


def test_redirect_loop_fails(http_server, settings) -> None:
    http_server.add("/loop-a", status=302, headers={"Location": "/loop-b"})
    http_server.add("/loop-b", status=302, headers={"Location": "/loop-a"})
    error = fails(http_server.url("/loop-a"), settings)
    assert "redirect loop" in str(error)
    assert len(http_server.requests_for("/loop-a")) == 1


def test_cookie_wall_redirecting_to_itself_is_followed(http_server, settings) -> None:
    def wall(handler: BaseHTTPRequestHandler) -> None:
        if "seen=1" in handler.headers.get("Cookie", ""):
            handler.send_response(200)
            handler.send_header("Content-Length", "7")
            handler.end_headers()
            handler.wfile.write(b"article")
            return
        handler.send_response(302)
        handler.send_header("Set-Cookie", "seen=1; Path=/")
        handler.send_header("Location", "/wall")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url = http_server.add("/wall", handler=wall)
    assert fetch(url, settings).body == b"article"
    assert len(http_server.requests_for("/wall")) == 2


def test_cookie_wall_that_never_lets_in_is_a_loop(http_server, settings) -> None:
    headers = {"Set-Cookie": "try=again; Path=/", "Location": "/tease"}
    http_server.add("/tease", status=302, headers=headers)
    assert "redirect loop" in str(fails(http_server.url("/tease"), settings))
    assert len(http_server.requests_for("/tease")) == 2


def test_too_many_redirects_fail(http_server, settings) -> None:
    for n in range(8):
        http_server.add(f"/hop{n}", status=307, headers={"Location": f"/hop{n + 1}"})
    http_server.add("/hop8", b"end")
    error = fails(http_server.url("/hop0"), tuned(settings, max_redirects=5))
    assert "more than 5 redirects" in str(error)
    assert http_server.requests_for("/hop6") == []


def test_permanent_redirect_is_recorded(http_server, settings) -> None:
    http_server.add("/old", status=301, headers={"Location": "/older-still"})
    http_server.add("/older-still", status=308, headers={"Location": "/new"})
    new = http_server.add("/new", b"<rss/>")
    fetched = fetch(http_server.url("/old"), settings)
    assert fetched.url == new
    assert fetched.permanent_redirect == new


def test_temporary_hop_means_no_permanent_redirect(http_server, settings) -> None:
    http_server.add("/moved", status=301, headers={"Location": "/for-now"})
    http_server.add("/for-now", status=302, headers={"Location": "/here"})
    here = http_server.add("/here", b"<rss/>")
    fetched = fetch(http_server.url("/moved"), settings)
    assert fetched.url == here
    assert fetched.permanent_redirect is None
    assert fetch(here, settings).permanent_redirect is None


def test_redirect_to_a_file_url_is_refused_even_for_a_trusted_feed(http_server, settings) -> None:
    url = http_server.add("/evil", status=302, headers={"Location": "file:///etc/passwd"})
    error = fails(url, settings, trusted=True)
    assert "only http(s)" in str(error)


# --- size limits and decompression ----------------------------------------------------------


def test_gigantic_body_is_refused(http_server, settings) -> None:
    url = http_server.add("/huge", b"a" * 2_000_000)
    error = fails(url, tuned(settings, max_body_bytes=100_000))
    assert "limit" in str(error)


def test_gigantic_body_without_length_is_cut_off(http_server, settings) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            for _ in range(2000):  # 2000 x 64 KB = 128 MB if nobody stops reading
                handler.wfile.write(b"b" * 65_536)
        except (BrokenPipeError, ConnectionResetError):
            pass

    url = http_server.add("/endless", handler=endless)
    error = fails(url, tuned(settings, max_body_bytes=200_000))
    assert "limit" in str(error)


ZEROS = b"\0" * 50_000_000
BOMBS = {  # 50 MB of zeros: ~50 KB on the wire for gzip and deflate, 77 bytes for brotli
    "gzip": lambda: gzip.compress(ZEROS, compresslevel=9),
    "deflate": lambda: zlib.compress(ZEROS, 9),
    "br": lambda: brotli.compress(ZEROS, quality=5),
}


@pytest.mark.parametrize("encoding", list(BOMBS))
def test_compression_bomb_is_refused_without_eating_memory(http_server, settings, encoding) -> None:
    bomb = BOMBS[encoding]()
    url = http_server.add(
        "/bomb.xml", bomb, headers={"Content-Encoding": encoding, "Content-Type": "text/xml"}
    )
    tracemalloc.start()
    try:
        error = fails(url, tuned(settings, max_body_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "after decompression" in str(error)
    assert peak < 10_000_000


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress),
    ],
)
def test_compressed_bodies_are_decompressed(http_server, settings, encoding, compress) -> None:
    body = HTML * 50
    url = http_server.add(
        "/z", compress(body), headers={"Content-Encoding": encoding, "Content-Type": "text/html"}
    )
    fetched = fetch(url, settings)
    assert fetched.body == body
    assert http_server.requests_for("/z")[0].headers["Accept-Encoding"] == "gzip, deflate, br"


def test_corrupt_gzip_fails_cleanly(http_server, settings) -> None:
    url = http_server.add(
        "/bad.gz", b"\x1f\x8bnot really gzip", headers={"Content-Encoding": "gzip"}
    )
    assert "decompress" in str(fails(url, settings))


# --- politeness -----------------------------------------------------------------------------


def test_per_host_delay_is_respected(http_server, settings) -> None:
    urls = [http_server.add(f"/polite{n}", b"ok") for n in range(3)]
    polite = tuned(settings, per_host_delay=0.3, per_host_concurrency=4)
    results = fetch_all([FetchRequest(u) for u in urls], polite)
    assert all(isinstance(r, Fetched) for r in results)
    times = sorted(r.at for r in http_server.log)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 2
    assert min(gaps) >= 0.25


def test_per_host_delay_holds_across_calls(http_server, settings) -> None:
    # A poll fetches the feed, then its article pages from the same host in another call.
    polite = tuned(settings, per_host_delay=0.3)
    fetch(http_server.add("/feed-first", b"<rss/>"), polite)
    fetch(http_server.add("/page-next", b"<html></html>"), polite)
    gap = (
        http_server.requests_for("/page-next")[0].at - http_server.requests_for("/feed-first")[0].at
    )
    assert gap >= 0.25


def test_per_host_limit_holds_while_two_hosts_proceed_together(http_server, settings) -> None:
    for n in range(3):
        http_server.add(f"/slow{n}", b"ok", delay=0.4)
    by_ip = [FetchRequest(http_server.url(f"/slow{n}")) for n in range(3)]
    by_name = [
        FetchRequest(http_server.url(f"/slow{n}").replace("127.0.0.1", "localhost"))
        for n in range(3)
    ]
    limited = tuned(settings, per_host_concurrency=1, max_concurrency=8)
    results = fetch_all(by_ip + by_name, limited)
    assert all(isinstance(r, Fetched) for r in results)

    def arrivals(host: str) -> list[float]:
        return sorted(r.at for r in http_server.log if r.headers["Host"].startswith(host))

    ip_times, name_times = arrivals("127.0.0.1"), arrivals("localhost")
    assert len(ip_times) == len(name_times) == 3
    for times in (ip_times, name_times):  # one at a time per host: each waits out a 0.4 s answer
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.35
    # ...but the two hosts overlap: localhost's first request does not wait for 127.0.0.1's
    assert name_times[0] < ip_times[1]
    assert ip_times[0] < name_times[1]


# --- safety ---------------------------------------------------------------------------------


@pytest.fixture
def strict(settings: config.Settings) -> config.Settings:
    return tuned(settings, allow_private_addresses=False)


def test_loopback_link_is_refused_when_not_allowed(http_server, strict) -> None:
    url = http_server.add("/private", b"secret")
    error = fails(url, strict)
    assert "non-public address" in str(error)
    assert "allow_private_addresses" in error.hint
    by_name = fails(url.replace("127.0.0.1", "localhost"), strict)
    assert "non-public address" in str(by_name)
    assert http_server.requests_for("/private") == []


def test_file_links_are_refused_for_untrusted_requests(tmp_path, strict, settings) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    for cfg in (strict, settings):  # even when private addresses are allowed
        for url in (secret.as_uri(), str(secret), "ftp://example.com/x", "javascript:alert(1)"):
            assert "only http(s)" in str(fails(url, cfg))


def test_redirect_to_loopback_is_refused(http_server, strict) -> None:
    # A trusted feed on loopback is the user's choice; where it redirects is not.
    target = http_server.add("/inner", b"secret").replace("127.0.0.1", "localhost")
    url = http_server.add("/outer", status=302, headers={"Location": target})
    error = fails(url, strict, trusted=True)
    assert "non-public address" in str(error)
    assert http_server.requests_for("/inner") == []


def test_trusted_feed_on_loopback_is_fetched(http_server, strict) -> None:
    url = http_server.add("/local-feed.xml", b"<rss/>")
    assert fetch(url, strict, trusted=True).body == b"<rss/>"


def test_checked_name_is_connected_at_the_checked_address(http_server, strict, monkeypatch) -> None:
    # news.example "resolves" to 127.0.0.1 first and to a private address afterwards (DNS
    # rebinding); 127.0.0.1 counts as public here. The request must go to the address that
    # was checked, naming the host in the Host header, and resolve the name only once.
    answers = [["127.0.0.1"], ["10.0.0.7"]]
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    monkeypatch.setattr(fetch_module, "is_public_address", lambda a: a == "127.0.0.1")
    http_server.add("/story", b"<html><body>story</body></html>")
    url = f"http://news.example:{http_server.port}/story"
    fetched = fetch(url, strict)
    assert fetched.url == url
    assert fetched.body == b"<html><body>story</body></html>"
    assert asked == ["news.example"]
    assert (
        http_server.requests_for("/story")[0].headers["Host"] == f"news.example:{http_server.port}"
    )


def test_name_resolving_to_a_private_address_is_refused(http_server, strict, monkeypatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "192.168.0.10"]  # one bad answer is enough to refuse

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    error = fails("http://mixed.example/story", strict)
    assert "192.168.0.10" in str(error)


def test_unresolvable_name_fails_cleanly(strict) -> None:
    assert "cannot resolve" in str(fails("http://no-such-host.invalid/x", strict))


def test_malformed_links_fail_alone(http_server, strict) -> None:
    bad = [
        "http://",
        "http://[::1",
        "http://exa\x00mple.com/",
        "http://1.2.3.4:99999/",
        "http:example.com",
        "//example.com/x",
        "data:text/html,<b>x</b>",
        "http://0x7f000001/",
        "http://[::ffff:127.0.0.1]/",
        "http://xn--/",
        "",
    ]
    good = http_server.add("/fine", b"ok")
    requests = [FetchRequest(u) for u in bad] + [FetchRequest(good, trusted=True)]
    results = fetch_all(requests, strict, retry_base=FAST)
    assert all(isinstance(r, FetchError) for r in results[:-1])
    assert isinstance(results[-1], Fetched)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("not-an-ip", False),
    ],
)
def test_public_addresses_are_told_apart(address, public) -> None:
    assert is_public_address(address) is public


# --- local files (trusted feeds) ------------------------------------------------------------


def test_trusted_local_file_is_read_and_revalidated(tmp_path, settings) -> None:
    feed = tmp_path / "sample feed.xml"
    feed.write_bytes(b"<rss><channel/></rss>")
    for url in (str(feed), feed.as_uri()):
        fetched = fetch(url, settings, trusted=True)
        assert fetched.status == 200
        assert fetched.body == b"<rss><channel/></rss>"
        again = fetch(url, settings, trusted=True, last_modified=fetched.headers["last-modified"])
        assert again.status == 304
        assert again.body == b""


def test_local_file_changed_within_the_same_second_is_not_304(tmp_path, settings) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss>one</rss>")
    os.utime(feed, ns=(1_700_000_000_100_000_000, 1_700_000_000_100_000_000))
    first = fetch(str(feed), settings, trusted=True)
    feed.write_bytes(b"<rss>two!</rss>")
    os.utime(feed, ns=(1_700_000_000_900_000_000, 1_700_000_000_900_000_000))
    second = fetch(
        str(feed),
        settings,
        trusted=True,
        etag=first.headers["etag"],
        last_modified=first.headers["last-modified"],
    )
    assert first.headers["last-modified"] == second.headers["last-modified"]
    assert second.status == 200
    assert second.body == b"<rss>two!</rss>"


def test_local_file_over_the_limit_is_refused(tmp_path, settings) -> None:
    feed = tmp_path / "big.xml"
    feed.write_bytes(b"x" * 5000)
    assert "limit" in str(fails(str(feed), tuned(settings, max_body_bytes=1000), trusted=True))


def test_missing_local_file_fails_cleanly(tmp_path, settings) -> None:
    assert "cannot read" in str(fails(str(tmp_path / "absent.xml"), settings, trusted=True))


# --- charsets -------------------------------------------------------------------------------

XINHUA_TITLE = "话剧《约定无期限》河北各市巡演结束"
CNA_TITLE = "颱風巴威侵襲　中共1軍艦1公務船台海周邊活動"
PEOPLE_TITLE = "女儿出嫁，郑板桥画了几笔兰花当嫁妆"


@pytest.mark.parametrize(
    ("page", "content_type", "title", "encoding"),
    [
        # a real GB2312 page (meta charset only), with and without an HTTP charset
        ("xinhua-gb2312.html", "text/html", XINHUA_TITLE, "gb18030"),
        ("xinhua-gb2312.html", "text/html; charset=GB2312", XINHUA_TITLE, "gb18030"),
        ("xinhua-gb2312.html", "text/html; charset=gbk", XINHUA_TITLE, "gb18030"),
        ("xinhua-gb2312.html", "text/html; charset=utf-8", XINHUA_TITLE, "gb18030"),
        ("xinhua-gb2312.html", "text/html; charset=iso-8859-1", XINHUA_TITLE, "gb18030"),
        ("xinhua-gb2312.html", "", XINHUA_TITLE, "gb18030"),
        # a Big5 page: declared, undeclared in HTTP, and declared wrongly as GBK
        ("cna-big5.html", "text/html; charset=big5", CNA_TITLE, "big5hkscs"),
        ("cna-big5.html", "text/html", CNA_TITLE, "big5hkscs"),
        ("cna-big5.html", "text/html; charset=gbk", CNA_TITLE, "big5hkscs"),
        # a real UTF-8 page whose meta (and here HTTP) wrongly says GB2312
        ("people-utf8-declared-gb2312.html", "text/html; charset=gb2312", PEOPLE_TITLE, "utf-8"),
        ("people-utf8-declared-gb2312.html", "text/html", PEOPLE_TITLE, "utf-8"),
    ],
)
def test_chinese_pages_are_decoded(
    http_server, settings, page, content_type, title, encoding
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    url = http_server.add("/page.html", (PAGES / page).read_bytes(), headers=headers)
    fetched = fetch(url, settings)
    assert fetched.text is not None
    assert title in fetched.text
    assert "\ufffd" not in fetched.text
    assert fetched.encoding == encoding


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=gbk", ""])
def test_latin1_page_is_not_taken_for_chinese(http_server, settings, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = (PAGES / "next2games-latin1.html").read_bytes()
    fetched = fetch(http_server.add("/de.html", body, headers=headers), settings)
    assert fetched.text is not None
    assert "veröffentlichen" in fetched.text
    assert fetched.encoding == "cp1252"


def test_utf8_page_with_one_bad_byte_stays_utf8(http_server, settings) -> None:
    body = (PAGES / "maescot-utf8-one-bad-byte.html").read_bytes()
    headers = {"Content-Type": "text/html; charset=iso-8859-1"}
    fetched = fetch(http_server.add("/maescot.html", body, headers=headers), settings)
    assert fetched.text is not None
    assert "Standardausführung" in fetched.text
    assert fetched.encoding == "utf-8"


def test_long_page_with_a_wrong_single_byte_charset_is_detected() -> None:
    # Long pages are mostly ASCII markup; the check must look at the text, not at samples
    # of markup that any single-byte encoding would pass.
    body = (PAGES / "xinhua-gb2312.html").read_bytes() * 20
    text, encoding = decode_page(body, "text/html; charset=iso-8859-1")
    assert encoding == "gb18030"
    assert XINHUA_TITLE in text


def test_gbk_page_is_decoded(http_server, settings) -> None:
    body = (PAGES / "xinhua-gb2312.html").read_bytes()
    url = http_server.add("/gbk.html", body, headers={"Content-Type": "text/html; charset=GBK"})
    fetched = fetch(url, settings)
    assert fetched.text is not None
    assert XINHUA_TITLE in fetched.text


def test_big5_page_is_decoded(http_server, settings) -> None:
    body = (PAGES / "cna-big5.html").read_bytes()
    url = http_server.add("/big5.html", body, headers={"Content-Type": "text/html; charset=Big5"})
    fetched = fetch(url, settings)
    assert fetched.text is not None
    assert CNA_TITLE in fetched.text
    assert "國防部" in fetched.text


def test_byte_order_mark_wins() -> None:
    body = "<html><body>中文</body></html>".encode("utf-16")
    text, encoding = decode_page(body, "text/html; charset=iso-8859-1")
    assert "中文" in text
    assert encoding.startswith("utf-16")


def test_shift_jis_page_is_decoded() -> None:
    body = '<html><head><meta charset="shift_jis"></head>'
    body += "<body>日本語のニュース記事です。</body></html>"
    text, encoding = decode_page(body.encode("shift_jis"), "text/html")
    assert "日本語のニュース記事です。" in text
    assert encoding == "cp932"


def test_random_bytes_decode_to_something() -> None:
    text, encoding = decode_page(os.urandom(4096), "text/html; charset=utf-8")
    assert isinstance(text, str)
    assert encoding
