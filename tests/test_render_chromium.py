"""The HTML digest as a browser renders it: headless Chromium (Debian's chromium package)
loads the written digest and timeline pages; the digest's DOM must show the title, the table
of contents and each story once with its baselines, and screenshots must come out."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from digest_support import digest_settings, new_db, seed_day
from lxml import html as lxml_html

from monitor import pipeline

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
DAY = dt.date(2026, 3, 29)
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
    ),
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture
def page(settings, tmp_path) -> Path:
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    seed_day(db, DAY_START)
    path, _ = pipeline.digest_for_day(db, s, DAY, NOW)
    pipeline.write_outputs(db, s, NOW)
    return path


def test_chromium_renders_title_table_of_contents_and_each_story_once(page, tmp_path) -> None:
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = lxml_html.fromstring(result.stdout)
    assert dom.findtext(".//title").startswith(f"Follow-ups for {DAY.isoformat()}")
    assert dom.findtext(".//h1") == f"Follow-ups for {DAY.isoformat()}"
    toc = dom.xpath("//nav[@class='toc']/a/@href")
    assert toc == [
        "http://monitor.example/baselines/goujon-real-stakes.html",
        "http://monitor.example/baselines/decoupling-wastes-leverage.html",
    ]
    stories = dom.xpath("//article[@class='story']")
    titles = [story.xpath("string(.//h2)") for story in stories]
    assert len(titles) == len(set(titles)) == 6  # six sample articles follow these baselines
    for story in stories:
        followed = story.xpath(".//li[@class='baseline']")
        assert followed
        for baseline in followed:
            assert baseline.xpath(".//blockquote[@class='passage']/a/@href")[0].endswith("#p2")
    both = [s for s in stories if len(s.xpath(".//li[@class='baseline']")) == 2]
    assert both  # an article following two baselines is one story listing both
    assert not dom.xpath("//script")


def test_chromium_renders_the_timeline_page(page, tmp_path) -> None:
    timeline = page.parents[1] / "baselines" / "goujon-real-stakes.html"
    result = chromium(tmp_path, "--dump-dom", timeline.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = lxml_html.fromstring(result.stdout)
    assert dom.findtext(".//h1") == "人工智慧競賽的真正風險"
    assert dom.xpath("//div[@id='p2']//ul[@class='since']/li")


@pytest.mark.parametrize("name", ["digest", "timeline"])
def test_chromium_takes_a_screenshot(page, tmp_path, name) -> None:
    target = page if name == "digest" else page.parents[1] / "baselines" / "goujon-real-stakes.html"
    shot = tmp_path / f"{name}.png"
    result = chromium(tmp_path, "--window-size=900,1400", f"--screenshot={shot}", target.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
