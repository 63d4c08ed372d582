"""The alias mini-language of watchlists, as typed values.

An alias is written as text in a watchlist (and kept as written, so the file round-trips); it
is parsed once, when the watchlist loads, into one of:

- ``PlainAlias``: a name or phrase, found where it stands ("export controls", 出口管制);
- ``AllWordsAlias``: ``<all> a|b + c|d``, a word of every group in the title or lead;
  ``<title> ...`` the same with every word in the title;
- ``AmountAlias``: ``<amount> phrase``, the phrase with a money figure of at least a billion.

A tag the language does not have, an empty word or group, or an ``<all>`` with one group is
an ``AliasSyntaxError`` (the loader adds file:line), never a literal alias that finds nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

ALL, TITLE, AMOUNT = "all", "title", "amount"
TAGS = (ALL, TITLE, AMOUNT)
GROUP_SEPARATOR = " + "  # with spaces, so "AI+" stays a word
_GROUP_SPLIT = re.compile(r"(?:^|\s)\+(?:\s|$)")  # also a "+" left dangling at either end
WORD_SEPARATOR = "|"
_TAG = re.compile(r"^<([^<>\s]*)>")


class AliasSyntaxError(ValueError):
    """An alias that is not well-formed; the message says what is wrong, not where."""


@dataclass(frozen=True)
class PlainAlias:
    text: str


@dataclass(frozen=True)
class AllWordsAlias:
    groups: tuple[tuple[str, ...], ...]  # at least two groups, each of at least one word
    title_only: bool = False  # "<title>": every word in the title, not the title or lead


@dataclass(frozen=True)
class AmountAlias:
    phrase: str


Alias = PlainAlias | AllWordsAlias | AmountAlias


@functools.lru_cache(maxsize=65536)
def parse_alias(text: str) -> Alias:
    """The typed form of one alias as written; AliasSyntaxError when it is malformed."""
    text = text.strip()
    tagged = _TAG.match(text)
    if tagged is None:
        return PlainAlias(text)
    tag, body = tagged.group(1), text[tagged.end() :]
    if tag not in TAGS:
        known = ", ".join(f"<{t}>" for t in TAGS)
        raise AliasSyntaxError(f"unknown tag <{tag}>; expected one of {known}")
    if not body.strip():
        raise AliasSyntaxError(f"<{tag}> is followed by nothing")
    if not body.startswith(" "):
        raise AliasSyntaxError(f"<{tag}> must be followed by a space")
    body = body.strip()
    if tag == AMOUNT:
        return AmountAlias(body)
    return AllWordsAlias(_groups(tag, body), title_only=tag == TITLE)


def _groups(tag: str, body: str) -> tuple[tuple[str, ...], ...]:
    groups = []
    for number, part in enumerate(_GROUP_SPLIT.split(body), 1):
        words = tuple(word.strip() for word in part.split(WORD_SEPARATOR))
        if not any(words):
            raise AliasSyntaxError(f"<{tag}> group {number} is empty")
        if not all(words):
            raise AliasSyntaxError(f"<{tag}> group {number} has an empty word (a stray '|')")
        groups.append(words)
    if len(groups) < 2:
        raise AliasSyntaxError(
            f"<{tag}> needs at least two word groups joined by ' + ' (one group is a plain alias)"
        )
    return tuple(groups)


def format_alias(alias: Alias) -> str:
    """The alias written in the mini-language (parse_alias reads it back the same)."""
    if isinstance(alias, PlainAlias):
        return alias.text
    if isinstance(alias, AmountAlias):
        return f"<{AMOUNT}> {alias.phrase}"
    groups = GROUP_SEPARATOR.join(WORD_SEPARATOR.join(words) for words in alias.groups)
    return f"<{TITLE if alias.title_only else ALL}> {groups}"


def parse_aliases(name: str, aliases: dict[str, tuple[str, ...]]) -> tuple[Alias, ...]:
    """An entity's name (always plain) and its aliases, typed, each once, in written order."""
    written = dict.fromkeys(a for script in aliases.values() for a in script if a and a != name)
    head: tuple[Alias, ...] = (PlainAlias(name),) if name else ()
    return head + tuple(parse_alias(a) for a in written)
