"""The HTML digest as a browser renders it: headless Chromium (Debian's chromium package)
loads the written page; its DOM must show the title, one section per baseline and the items,
and a screenshot must come out."""

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
    return path


def test_chromium_renders_title_one_section_per_baseline_and_items(page, tmp_path) -> None:
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = lxml_html.fromstring(result.stdout)
    assert dom.findtext(".//title").startswith(f"Follow-ups for {DAY.isoformat()}")
    assert dom.findtext(".//h1") == f"Follow-ups for {DAY.isoformat()}"
    sections = dom.xpath("//section[@class='baseline']")
    assert [s.get("id") for s in sections] == [
        "baseline-decoupling-wastes-leverage",
        "baseline-goujon-real-stakes",
    ]
    for section in sections:
        items = section.xpath(".//article[@class='item']")
        assert items
        for item in items:
            assert item.xpath(".//h3//text()")
            assert "Why:" in item.text_content()
            assert item.xpath(".//p[@class='passage']/a/@href")[0].endswith("#p2")
    assert not dom.xpath("//script")


def test_chromium_takes_a_screenshot_of_the_digest(page, tmp_path) -> None:
    shot = tmp_path / "digest.png"
    result = chromium(tmp_path, "--window-size=900,1400", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
