"""Article pages -> Article, with trafilatura.

trafilatura returns None without saying why; here every failure is an ExtractError whose
message is the reason ("not HTML", "no main text", "too short"), which the pipeline stores on
the article row. Options are built once per Extractor, not per page.

Language: the page's own declaration when the text agrees with it, else a cheap script
heuristic (kana -> ja, hangul -> ko, Han -> Chinese, with simplified and traditional told
apart by which OpenCC conversion changes more characters; otherwise 'en').
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging
from typing import Any

import opencc
from htmldate import find_date
from trafilatura import bare_extraction
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Extractor as TrafilaturaOptions
from trafilatura.utils import load_html

from monitor.config import Settings
from monitor.errors import ExtractError
from monitor.models import Article, Fetched
from monitor.stopwords import latin_language

MIN_TEXT_CHARS = 80  # below this the "article" is a cookie wall or a teaser
SAMPLE_CHARS = 2000  # language is decided on the first characters only
HTML_TYPES = ("text/html", "application/xhtml")

# trafilatura logs every page it gives up on at WARNING; we report the reason ourselves.
logging.getLogger("trafilatura").setLevel(logging.ERROR)


class Extractor:
    """trafilatura with our options, built once.

    Metadata is read with trafilatura's cheap parts only (meta tags, JSON-LD, the title
    element, htmldate without its extensive search, and only when the date is wanted): its
    full metadata pass (author heuristics over the whole page, extensive date search) costs
    more than the text extraction itself, and the feed entry usually has title and date."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.options = TrafilaturaOptions(
            output_format="python",
            with_metadata=False,
            comments=False,
            tables=True,
            dedup=False,
        )

    def extract(self, fetched: Fetched, *, want_date: bool = True) -> Article:
        """The article in a fetched page. Raises ExtractError(reason)."""
        content_type = fetched.headers.get("content-type", "").lower()
        if content_type and not content_type.startswith(HTML_TYPES):
            raise ExtractError(f"not HTML ({content_type.split(';')[0]})")
        markup: str | bytes = fetched.text if fetched.text is not None else fetched.body
        if not markup or not _looks_like_html(markup):
            raise ExtractError("not HTML")
        return self.extract_html(markup, fetched.url, want_date=want_date)

    def extract_html(self, markup: str | bytes, url: str, *, want_date: bool = True) -> Article:
        try:
            tree = load_html(markup)
        except Exception as exc:  # lxml raises many types on hostile markup
            raise ExtractError(f"not HTML: {type(exc).__name__}") from exc
        if tree is None:
            raise ExtractError("not HTML")
        title, author, published, declared = _metadata(tree, url, want_date)
        options = copy.copy(self.options)
        options.url = url
        try:
            document: Any = bare_extraction(tree, options=options)
        except Exception as exc:  # lxml and trafilatura raise many types on hostile markup
            raise ExtractError(f"extraction failed: {type(exc).__name__}") from exc
        if document is None:
            raise ExtractError("no main text")
        text = str(document.text or "").strip()
        if not text:
            raise ExtractError("no main text")
        if len(text) < MIN_TEXT_CHARS:
            raise ExtractError(f"too short ({len(text)} characters)")
        return Article(
            url=url,
            title=title,
            text=text,
            language=detect_language(text, declared),
            published=published,
            author=author,
        )


def _metadata(tree: Any, url: str, want_date: bool) -> tuple[str, str, dt.datetime | None, str]:
    """(title, author, date, declared language) from the page's markup; read before
    extraction, which prunes the tree."""
    try:
        found = trafilatura_metadata.examine_meta(tree)
        found = trafilatura_metadata.extract_meta_json(tree, found)
        title = found.title or trafilatura_metadata.extract_title(tree) or ""
        author = found.author or ""
        date = (
            find_date(tree, url=url, extensive_search=False, original_date=True)
            if want_date
            else None
        )
    except Exception:  # metadata is a bonus; a page without it still has its text
        title, author, date = "", "", None
    declared = str(tree.get("lang") or tree.get("xml:lang") or "")
    return str(title).strip(), str(author).strip(), _date(date), declared


def _looks_like_html(markup: str | bytes) -> bool:
    head = markup[:2048].lower()
    needles: tuple[Any, ...] = (
        ("<html", "<!doctype", "<body", "<div", "<p", "<head")
        if isinstance(head, str)
        else (b"<html", b"<!doctype", b"<body", b"<div", b"<p", b"<head")
    )
    return any(needle in head for needle in needles)


def _date(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@functools.cache
def _converter(config: str) -> Any:
    return opencc.OpenCC(config)


def chinese_script(text: str) -> str:
    """'zh-Hant' or 'zh-Hans': which conversion changes more characters of ``text``."""
    to_simplified = _converter("t2s").convert(text)
    to_traditional = _converter("s2t").convert(text)
    traditional_chars = sum(a != b for a, b in zip(text, to_simplified, strict=False))
    simplified_chars = sum(a != b for a, b in zip(text, to_traditional, strict=False))
    return "zh-Hant" if traditional_chars > simplified_chars else "zh-Hans"


def detect_language(text: str, declared: str = "") -> str:
    """BCP 47 tag for ``text``; ``declared`` (the page's or the feed's) wins when the script
    agrees with it."""
    sample = text[:SAMPLE_CHARS]
    kana = hangul = han = latin = 0
    for ch in sample:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0xAC00 <= code <= 0xD7AF:
            hangul += 1
        elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            han += 1
        elif ch.isalpha() and code < 0x250:
            latin += 1
    declared = declared.strip().replace("_", "-")
    primary = declared.split("-")[0].lower()
    if kana > 10 and kana * 5 > han:
        return "ja"
    if hangul > 10:
        return "ko"
    if han > 10 and han * 2 > latin:
        return chinese_script(sample)
    if primary and primary not in {"zh", "ja", "ko"}:
        return primary
    return latin_language(sample)
