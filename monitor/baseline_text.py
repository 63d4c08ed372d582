"""Baseline text from the files and pages a user gives: one paragraph per line, and a title;
and the baseline id made from that title."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from monitor.models import split_paragraphs
from monitor.text import has_chinese

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Markdown may carry HTML inline (the White House's exports underline headings with <span>):
# its tags and comments are markup, their text and entities are the article's.
_HTML_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.DOTALL)
_MD_MARK = re.compile(r"(\*\*|__|\*|_|`)")


# control characters (tab, line feed and carriage return are layout) and U+FFFD, what a
# decoder puts where bytes made no character
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
BINARY_SHARE = 0.02  # a damaged character or two in a long article is not a binary file


def is_binary(content: str) -> bool:
    """Decoded bytes that are no text: a picture, an archive or a PDF given as an article."""
    return len(_NOT_TEXT.findall(content)) > BINARY_SHARE * max(1, len(content))


def printable(content: str) -> str:
    """The text without its stray control characters and undecodable bytes."""
    return _NOT_TEXT.sub("", content)


def text_from_markdown(markdown: str) -> tuple[str, str]:
    """(title, plain text with one paragraph per line) of a Markdown document. The title is the
    front matter's ``title:`` or the first heading; each list item is a paragraph."""
    markdown = markdown.replace("\r\n", "\n").lstrip("\ufeff")
    title = ""
    front = _FRONT_MATTER.match(markdown)
    if front:
        markdown = markdown[front.end() :]
        title = _front_matter_title(front.group(1))
    markdown = html.unescape(_HTML_TAG.sub("", markdown))
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", markdown):
        for item in _MD_ITEM.split(block.strip()):
            lines = [line.strip() for line in item.splitlines() if line.strip()]
            if not lines:
                continue
            if lines[0].startswith("#"):
                heading = lines[0].lstrip("#").strip()
                title = title or heading
                blocks.append(heading)
                lines = lines[1:]
            if lines:
                blocks.append(_join_lines(lines))
    text = "\n".join(_MD_MARK.sub("", _MD_LINK.sub(r"\1", b)) for b in blocks)
    return _MD_MARK.sub("", title), text


_FRONT_MATTER = re.compile(r"^---\n(.*?)\n---[ \t]*\n", re.DOTALL)
_MD_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


def _front_matter_title(front: str) -> str:
    import yaml

    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError:
        return ""
    title = data.get("title") if isinstance(data, dict) else None
    return str(title).strip() if title else ""


def text_from_plain(text: str) -> tuple[str, str]:
    """(first line, text with one paragraph per line). Hard-wrapped paragraphs separated by
    blank lines are joined; a file already one paragraph per line is kept as it is."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    if any(len(b.strip().splitlines()) > 1 for b in blocks) and len(blocks) > 1:
        text = "\n".join(
            _join_lines([x.strip() for x in b.splitlines() if x.strip()]) for b in blocks
        )
    paragraphs = split_paragraphs(text)
    title = next((p for p in paragraphs if p), "")
    return (title if len(title) <= 200 else ""), "\n".join(paragraphs)


def _join_lines(lines: Sequence[str]) -> str:
    out = ""
    for line in lines:
        if out and not (has_chinese(out[-1]) and has_chinese(line[0])):
            out += " "
        out += line
    return out


def slug(text: str, fallback: str = "baseline") -> str:
    """A baseline id from a title or file name: lower-case ASCII words joined by '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words)[:60].strip("-") or fallback
