from __future__ import annotations

import conftest
import pytest

from monitor.config import Settings
from monitor.errors import ExtractError
from monitor.extract import Extractor, detect_language
from monitor.fetch import FetchRequest, fetch_one
from monitor.models import Fetched

ARTICLES = conftest.DATA / "articles"


def fetched_page(
    http_server: conftest.TestHTTPServer, settings: Settings, name: str, content_type: str
) -> Fetched:
    url = http_server.add(
        f"/{name}", (ARTICLES / name).read_bytes(), headers={"Content-Type": content_type}
    )
    return fetch_one(FetchRequest(url), settings)


def test_gbk_page_is_decoded(http_server: conftest.TestHTTPServer, settings: Settings) -> None:
    # No charset in the header: the page's <meta charset=gbk> must be honoured.
    page = fetched_page(http_server, settings, "people-gbk.html", "text/html")
    article = Extractor(settings).extract(page)
    assert "郑板桥" in article.title
    assert "父爱如山" in article.text
    assert article.language == "zh-Hans"


def test_big5_page_is_decoded_as_traditional_chinese(
    http_server: conftest.TestHTTPServer, settings: Settings
) -> None:
    page = fetched_page(http_server, settings, "xinhua-big5.html", "text/html; charset=big5")
    article = Extractor(settings).extract(page)
    assert "法國全國大罷工" in article.title
    assert "巴黎" in article.text
    assert article.language == "zh-Hant"


def test_english_page_gives_text_title_and_date(
    http_server: conftest.TestHTTPServer, settings: Settings
) -> None:
    page = fetched_page(http_server, settings, "blog.python.org.html", "text/html; charset=utf-8")
    article = Extractor(settings).extract(page)
    assert article.language == "en"
    assert article.title
    assert article.published is not None
    assert len(article.text) > 500


def test_page_that_is_not_html_is_an_extract_error() -> None:
    fetched = Fetched(
        "https://example.com/a.pdf", 200, {"content-type": "application/pdf"}, b"%PDF"
    )
    with pytest.raises(ExtractError, match="not HTML"):
        Extractor().extract(fetched)


def test_page_without_main_text_says_why() -> None:
    markup = "<html><body><nav><a href='/'>Home</a></nav><p>Subscribe.</p></body></html>"
    fetched = Fetched("https://example.com/", 200, {"content-type": "text/html"}, b"", markup)
    with pytest.raises(ExtractError, match=r"no main text|too short"):
        Extractor().extract(fetched)


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        ("美国商务部周三宣布收紧对华人工智能芯片出口管制，英伟达股价应声下跌。", "", "zh-Hans"),
        ("美國商務部週三宣布收緊對華人工智慧晶片出口管制，輝達股價應聲下跌。", "zh-CN", "zh-Hant"),
        ("エヌビディアの株価は水曜日に下落した。輸出規制の強化が発表された。", "", "ja"),
        ("Nvidia shares fell on Wednesday after new export controls.", "", "en"),
        ("Die Aktie von Nvidia fiel am Mittwoch nach neuen Exportkontrollen.", "de-DE", "de"),
    ],
)
def test_language_is_told_from_the_script(text: str, declared: str, expected: str) -> None:
    assert detect_language(text, declared) == expected
