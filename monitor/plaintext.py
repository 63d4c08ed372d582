"""Pure: wrap the plain-text part of a digest at WIDTH display columns.

Counts columns as a terminal does (a CJK character is two), breaks Latin text at spaces and
CJK text between characters, never puts closing punctuation (。，」) at the start of a line,
and never breaks a URL (a line holding only a URL may run past WIDTH: a broken link is worse).
Continuation lines keep the line's indent, and align after a "* ", "- " or "3. " bullet.
"""

from __future__ import annotations

import re
import unicodedata

WIDTH = 76
_CLOSING = set("。，、；：！？）」』”’》〉】…,.;:!?)]")
_BULLET = re.compile(r"^(?:[*-]|\d+\.) ")  # "* ", "- ", "12. ": continuation lines align after it
_TOKEN = re.compile(r"\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+|.")


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _tokens(text: str) -> list[str]:
    """Words, runs of spaces and single CJK characters; closing punctuation sticks to the
    token before it, so no line starts with it."""
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if tokens and not tokens[-1].isspace() and token[0] in _CLOSING:
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def wrap_line(line: str, width: int = WIDTH) -> list[str]:
    if columns(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    bullet = _BULLET.match(body)
    follow = indent + " " * (len(bullet.group(0)) if bullet else 0)
    lines: list[str] = []
    current = indent
    used = columns(current)
    for token in _tokens(body):
        if token.isspace():
            if current.strip():
                current += " "
                used += 1
            continue
        size = columns(token)
        if used + size > width and current.strip():
            lines.append(current.rstrip())
            current, used = follow, columns(follow)
        current += token
        used += size
    if current.strip():
        lines.append(current.rstrip())
    return lines


def wrap(text: str, width: int = WIDTH) -> str:
    """Every line of ``text`` wrapped at ``width`` columns; blank lines kept."""
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(wrap_line(line, width))
    return "\n".join(out)
