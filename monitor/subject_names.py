"""One subject under all its names: the full name and the surname a person goes by (邁克·伯吉斯
and 伯吉斯, 凯文·沃什 and 沃什, Tova Noel and Noel), and the Latin name an article gives a Chinese
one in parentheses (斯塔默（Keir Starmer）). Pure: entities and the article's text in, entities
out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from monitor.models import Entity
from monitor.names import unique
from monitor.subject_aliases import in_both_scripts, jieba_frequency
from monitor.text import LATIN_LETTER, convert, fold, has_chinese

# jieba's count of a surname that stands for others too (布朗 Brown 958, 米兰 Milan 607; 鲍威尔
# Powell 58, 沃什 Warsh 3)
COMMON_SURNAME_FREQUENCY = 100
# a Latin-script name in parentheses right after a Chinese one: （Keir Starmer）, (GDP)
# (the first of several: 澳洲安全情报组织（Australian Security Intelligence Organisation，ASIO）)
_LATIN_IN_PARENTHESES = (
    rf"\s*[（(]\s*([{LATIN_LETTER}][{LATIN_LETTER}0-9 .'&\-]{{0,50}}[{LATIN_LETTER}0-9.])"
    r"\s*[)）,，;；]"
)
# what may stand between a name and its rendering: the mark that closes a quoted or titled
# name (「碳简报」（Carbon Brief）, 《广角镜》（Panorama）) or a form of address
# (长尾贤博士（Satoru Nagao）)
_BEFORE_RENDERING = r"(?:[」』》〉”\"']|博士|教授|先生|女士)?"


def with_full_names(entities: Sequence[Entity]) -> list[Entity]:
    """A person written in full once and by the last name after that is one subject, weighed
    by the article's use of the last name. 邁克·伯吉斯 joins 伯吉斯 (whose dictionary English
    it keeps); "Tova Noel" takes in "Noel", whose renderings as a given name (托马斯 of Thomas)
    would find other people."""
    by_name = {e.name: e for e in entities}
    joined: set[str] = set()
    for entity in entities:
        last = _last_name(entity)
        target = by_name.get(last) if last else None
        if target is None or target is entity or target.name in joined:
            continue
        weight = max(target.weight, entity.weight)
        if has_chinese(last):
            aliases = dict(target.aliases)
            for script in ("zh-Hans", "zh-Hant"):
                aliases[script] = unique(
                    [*aliases.get(script, ()), *entity.aliases.get(script, ())]
                )
            by_name[last] = replace(target, aliases=aliases, weight=weight)
            joined.add(entity.name)
        else:
            aliases = {**entity.aliases, "en": unique([entity.name, last])}
            by_name[entity.name] = replace(
                target,
                name=entity.name,
                type="person",
                role="actor",
                aliases=aliases,
                weight=weight,
                passages=tuple(
                    sorted(
                        {*target.passages, *entity.passages},
                        key=lambda p: (p.paragraph, p.sentence),
                    )
                ),
            )
            joined.add(last)
    return [by_name[e.name] for e in entities if e.name not in joined]


def with_surnames(entities: dict[str, Entity], text: str) -> dict[str, Entity]:
    """A foreign person the article names in full (凯文·沃什) and by the surname alone after
    that (沃什) is named both ways, as Chinese news names them: the surname is one of their
    Chinese names, and its mentions are theirs. Not a surname that stands for more than this
    person (布朗 Brown, 米兰 Milan: COMMON_SURNAME_FREQUENCY) or that another subject goes by.
    ``text``: the article in simplified characters."""
    taken = {fold(a) for e in entities.values() for a in e.all_aliases()}
    result = {}
    for name, entity in entities.items():
        last = _last_name(entity)
        if "·" in entity.name and _named_alone(last, entity, text) and fold(last) not in taken:
            entity = with_aliases(entity, {"zh-Hans": (last,), "zh-Hant": (convert(last, "s2t"),)})
        result[name] = entity
    return result


def _named_alone(surname: str, entity: Entity, text: str) -> bool:
    """The article writes ``surname`` outside the person's full name."""
    if len(surname) < 2 or jieba_frequency().get(surname, 0) >= COMMON_SURNAME_FREQUENCY:
        return False
    for full in sorted(entity.aliases.get("zh-Hans", ()), key=len, reverse=True):
        text = text.replace(full, "\n")
    return surname in text


def _last_name(entity: Entity) -> str:
    """The name a person goes by after the first mention: 伯吉斯 of 邁克·伯吉斯, Noel of Tova
    Noel; empty for a name the curated data knows, or no person's."""
    if entity.reviewed or entity.type != "person":
        return ""
    if "·" in entity.name:
        return convert(entity.name.rsplit("·", 1)[-1], "tw2sp")
    words = entity.name.split()
    return words[-1] if len(words) > 1 and not has_chinese(entity.name) else ""


def with_own_renderings(entities: Sequence[Entity], text: str) -> list[Entity]:
    """A Chinese name nothing knows in English that the article follows with its name in
    Latin script, in parentheses (斯塔默（Keir Starmer）, 南利斯特（Tom Nunlist）), takes that
    name as its English alias: the article's own rendering. A subject read from the
    parenthesis alone is the same one and joins it. Not for a word the dictionary glosses:
    模型 (model) of 大型语言模型（LLM） ends where a longer term does. A name the dictionary
    renders as another's (麦克斯韦, James Clerk Maxwell, of 吉斯兰·麦克斯韦（Ghislaine Maxwell）)
    takes the article's rendering first."""
    result = list(entities)
    joined: set[str] = set()  # names of the Latin-only subjects that joined a Chinese one
    for index, entity in enumerate(entities):
        english = entity.aliases.get("en", ())
        if english and not all(name[:1].isupper() for name in english):
            continue
        rendering = _rendering(entity, text)
        if not rendering or rendering.casefold() in {name.casefold() for name in english}:
            continue
        # the subject read off the parenthesis may have lost its article (The Lancet is Lancet),
        # a form that is no name of its own: an everyday word (lancet, wheel)
        forms = {rendering.casefold(), re.sub(r"^the\s+", "", rendering.casefold())}
        twins = [e for e in entities if e.name.casefold() in forms and "zh-Hans" not in e.aliases]
        joined.update(e.name for e in twins)
        weight = max([entity.weight, *(e.weight for e in twins)])
        twin_names = [
            name
            for twin in twins
            for name in twin.aliases.get("en", ())
            if name.casefold() not in forms - {rendering.casefold()}
        ]
        aliases = {**entity.aliases, "en": unique([rendering, *twin_names, *english])}
        result[index] = replace(entity, aliases=aliases, weight=weight)
    return [e for e in result if e.name not in joined]


def _rendering(entity: Entity, text: str) -> str:
    for alias in entity.aliases.get("zh-Hans", ()):
        if has_chinese(alias):
            found = re.search(re.escape(alias) + _BEFORE_RENDERING + _LATIN_IN_PARENTHESES, text)
            if found:
                return found.group(1)
    return ""


# a name and the short form the article says it will use: 全國運動會（簡稱全運會）,
# 深圳市杰我睿珠宝有限公司（以下简称“杰我睿”）, 深圳易储数智能源集团有限公司（下称深圳易储）
_SHORT_FORM_NOTE = re.compile(
    r"[（(](?:以下|下文)?(?:简称|簡稱|下称|下稱)\s*[“\"「『]?([^”\"」』（）()，,]{2,12}?)[”\"」』]?[）)]"
)
FULL_NAME_REACH = 30  # characters before the note where the full name may start


def with_declared_short_forms(entities: Sequence[Entity], text: str) -> list[Entity]:
    """A name the article says it will call by a short form is that short form's subject: the
    short form takes the full name as an alias, and a subject read from the full name joins it
    (全运会 takes 全国运动会 and its English, National Games). The full name opens at the last
    character before the note that the short form opens with (全 of 全國運動會, 深 of
    深圳易储...). ``text``: the article in simplified characters."""
    result = list(entities)
    joined: set[str] = set()
    for note in _SHORT_FORM_NOTE.finditer(text):
        short = note.group(1)
        before = text[max(0, note.start() - FULL_NAME_REACH) : note.start()]
        opening = before.rfind(short[0])
        full = before[opening:] if opening >= 0 else ""
        if len(full) <= len(short) or not all(has_chinese(ch) for ch in full):
            continue
        owner = next((i for i, e in enumerate(result) if _goes_by(e, short)), None)
        if owner is None:
            continue
        twins = [e for e in result if e is not result[owner] and _goes_by(e, full)]
        joined.update(e.name for e in twins)
        entity = result[owner]
        for more in [*(t.aliases for t in twins), in_both_scripts(full)]:
            entity = with_aliases(entity, more)
        weight = max([entity.weight, *(t.weight for t in twins)])
        reviewed = entity.reviewed or any(t.reviewed for t in twins)
        result[owner] = replace(entity, weight=weight, reviewed=reviewed)
    return [e for e in result if e.name not in joined]


def _goes_by(entity: Entity, name: str) -> bool:
    return fold(name) in {fold(alias) for alias in entity.all_aliases()}


def with_aliases(entity: Entity, more: dict[str, tuple[str, ...]]) -> Entity:
    """The entity with ``more`` aliases (script -> names) after its own."""
    aliases = dict(entity.aliases)
    for script, names in more.items():
        aliases[script] = unique([*aliases.get(script, ()), *names])
    return replace(entity, aliases=aliases)
