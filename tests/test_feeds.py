from __future__ import annotations

import datetime as dt
from pathlib import Path

import conftest
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import ConfigError, FeedParseError
from monitor.feed_list import add_feeds, load_feeds, read_opml, spread_by_host, write_opml
from monitor.feeds import parse_feed
from monitor.models import Feed

FEEDS = conftest.DATA / "feeds"
REPO = Path(__file__).resolve().parents[1]


def parse(name: str, headers: dict[str, str] | None = None) -> list:
    return parse_feed(
        (FEEDS / name).read_bytes(), headers or {}, f"https://feeds.test/{name}"
    ).entries


def test_rss2_entries_have_guid_link_title_and_date() -> None:
    entries = parse("ft-home.xml", {"content-type": "application/rss+xml"})
    assert len(entries) == 20
    first = entries[0]
    assert first.guid == "bc45946e-3751-402c-94b8-947d2fc41717"
    assert first.link.startswith("https://archive.is/newest/https://www.ft.com/content/")
    assert first.title.startswith("Carmakers to win reprieve")
    assert first.published == dt.datetime(2026, 2, 18, 5, 0, 39, tzinfo=dt.UTC)


def test_json_feed_is_read_without_feedparser() -> None:
    entries = parse("scmp-china.json", {"content-type": "application/feed+json"})
    assert len(entries) == 6
    assert entries[0].title.startswith("China’s deflation near-miss")
    assert entries[0].summary.startswith("China did not slip into outright deflation")
    assert entries[0].published is not None


def test_atom_and_rss10_feeds_are_read() -> None:
    atom = parse("feed1.atom")
    assert [e.title for e in atom] == ["Atom-Powered Robots Run Amok", "Self-referenced link"]
    assert atom[0].guid == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    rdf = parse("rss10.rdf")
    assert rdf[0].title == "Example title"
    assert rdf[0].link == "http://example.com/1"


def test_chinese_rss_keeps_its_text() -> None:
    entries = parse("36kr-ai.xml")
    assert entries
    assert all(e.title for e in entries)
    assert any("AI" in e.title or "大模型" in e.title or "智能" in e.title for e in entries)


def test_entry_without_id_falls_back_to_link_then_title_and_date() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>With link</title><link>https://example.com/a</link></item>
      <item><title>No link</title><pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    with_link, without = parse_feed(body, {}, "https://feeds.test/x").entries
    assert with_link.guid == "https://example.com/a"
    assert without.guid.startswith("sha1:")
    again = parse_feed(body, {}, "https://feeds.test/x").entries[1]
    assert again.guid == without.guid


def test_ill_formed_feed_with_entries_is_used_with_a_warning() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>Broken &amp entity</title><link>https://example.com/a</link></item>
    </channel></rss>"""
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, "https://feeds.test/x")
    assert parsed.warning.startswith("ill-formed feed")
    assert parsed.entries[0].link == "https://example.com/a"


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>Not a feed</body></html>", b"\x00\x01garbage\xff", b'{"items": 3}'],
)
def test_body_without_entries_is_a_feed_parse_error(body: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(body, {}, "https://feeds.test/x")


def test_shipped_feed_lists_are_valid() -> None:
    default = load_feeds(REPO / "watchlists" / "feeds.yaml")
    assert len(default) >= 30
    assert {f.language for f in default} == {"en", "zh-Hans", "zh-Hant"}
    samples = load_feeds(REPO / "watchlists" / "sample-feeds.yaml")
    assert samples
    for feed in samples:
        assert Path(feed.url).is_file()
        assert not feed.fetch_pages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  - url: https://a.test/rss\n    interval: 1\n", r":2: interval: expected"),
        ("feeds:\n  - url: https://a.test/rss\n    colour: red\n", r":2: colour: unknown field"),
        ("feeds:\n  - name: no url\n", r":2: url: missing"),
        ("feeds:\n  - url: ftp://a.test/rss\n", r":2: url: only http"),
        (
            "feeds:\n  - url: https://a.test/rss\n  - url: https://a.test/rss\n",
            r":3: url: .* already listed on line 2",
        ),
        ("feeds: [\n", r":\d+: not valid YAML"),
        ("other: 1\n", r":1: feeds: expected"),
    ],
)
def test_bad_feeds_file_names_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_feeds(path)


def test_opml_round_trip_keeps_url_name_and_language(tmp_path: Path) -> None:
    feeds = [
        Feed("https://36kr.com/feed", "36氪 & friends", "zh-Hans"),
        Feed("https://feeds.test/rss?a=1&b=2", "", "en"),
    ]
    back = read_opml(write_opml(feeds).encode("utf-8"))
    assert [(f.url, f.name or f.url, f.language) for f in back] == [
        ("https://36kr.com/feed", "36氪 & friends", "zh-Hans"),
        ("https://feeds.test/rss?a=1&b=2", "https://feeds.test/rss?a=1&b=2", "en"),
    ]


def test_opml_import_appends_new_feeds_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("# my feeds\nfeeds:\n  - url: https://a.test/rss\n    name: A\n")
    added = add_feeds(path, [Feed("https://a.test/rss", "A"), Feed("https://b.test/atom", "B")])
    assert [f.url for f in added] == ["https://b.test/atom"]
    assert path.read_text().startswith("# my feeds\n")
    assert [f.url for f in load_feeds(path)] == ["https://a.test/rss", "https://b.test/atom"]


def test_opml_with_external_entities_is_refused() -> None:
    hostile = b"""<?xml version="1.0"?>
    <!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.test/rss"/></body></opml>"""
    with pytest.raises(ConfigError, match="not valid OPML"):
        read_opml(hostile)


def test_feeds_import_and_export_commands(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="Tech">'
        '<outline text="WSJ Tech" type="rss" xmlUrl="https://feeds.test/wsj"/>'
        '<outline text="BBC 中文" type="rss" xmlUrl="https://feeds.test/bbc" language="zh-Hant"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    feeds_file = tmp_path / "feeds.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["feeds", "import", str(opml), "--feeds", str(feeds_file)])
    assert result.exit_code == 0, result.output
    assert "2 feeds added" in result.output
    result = runner.invoke(cli, ["feeds", "export", "--feeds", str(feeds_file)])
    assert result.exit_code == 0, result.output
    assert 'xmlUrl="https://feeds.test/bbc"' in result.output
    assert 'language="zh-Hant"' in result.output


def test_feeds_import_of_a_missing_file_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["feeds", "import", str(tmp_path / "nope.opml"), "--feeds", str(tmp_path / "f.yaml")]
    )
    assert result.exit_code == 1
    assert "cannot read" in result.output
    assert "Traceback" not in result.output


def test_feeds_are_spread_across_hosts_so_batches_mix_hosts() -> None:
    urls = ["https://a.test/0", "https://a.test/1", "https://b.test/0", "https://b.test/1"]
    urls.append("https://c.test/1")
    spread = spread_by_host(urls, lambda u: u)
    assert spread == [
        "https://a.test/0",
        "https://b.test/0",
        "https://c.test/1",
        "https://a.test/1",
        "https://b.test/1",
    ]
