"""Where an alias sits in folded text: the forms it is searched under, and the word edges a
Latin alias must respect ("amd" is not in "amdocs"; a plural "s" may follow)."""

from __future__ import annotations

from monitor.text import fold_forms, is_word_char, on_word_edges


def alias_keys(alias: str) -> set[str]:
    """Every folded form an alias is searched under."""
    return {key for key in fold_forms(alias) if searchable(key)}


def searchable(key: str) -> bool:
    # One Latin letter or one Han character would hit almost every text.
    return len(key) >= 2 and not key.isdigit()


def inflected(text: str, start: int, end: int, key: str, inflections: tuple[str, ...]) -> bool:
    """Word boundaries for a group word of an "<all>" alias: a Latin word may be inflected."""
    if is_word_char(key[0]) and start > 0 and is_word_char(text[start - 1]):
        return False
    if not is_word_char(key[-1]) or end >= len(text) or not is_word_char(text[end]):
        return True
    stop = end
    while stop < len(text) and is_word_char(text[stop]):
        stop += 1
    return text[end:stop] in inflections


def inside_word(text: str, last: int, key: str, longer: dict[str, str]) -> bool:
    """Does the alias ending at ``last`` run on into a longer word (芯片战|略)?"""
    after = text[last + 1 : last + 2]
    return bool(after) and after in longer.get(key[-1], "")


def find_bounded(text: str, key: str) -> int:
    """Where ``key`` first occurs in ``text`` on word boundaries, or -1."""
    start = text.find(key)
    while start >= 0 and not on_word_edges(text, start, start + len(key), key):
        start = text.find(key, start + 1)
    return start
