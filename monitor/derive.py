"""Baseline text -> Watchlist: the entities an article rests on, their aliases in English,
simplified and traditional Chinese, a weight for how central each is, and the passages where
each appears.

Known names come from the curated alias data (watchlists/aliases.yaml); opencc adds the other
Chinese script and the Taiwan / mainland vocabulary. Names the curated data does not know
(Latin-script names, Chinese transliterated names, titles in 《》, quoted plan or rule names)
are kept in their own language with ``reviewed=False``.

``merge`` folds a fresh derivation into a watchlist a person may have edited, so hand edits
survive a re-derive. Pure functions: no file or network I/O here.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import ahocorasick
import opencc

from monitor.keyphrases import Background, default_background
from monitor.models import (
    AliasData,
    Baseline,
    Entity,
    KnownName,
    Passage,
    Watchlist,
    split_paragraphs,
    split_sentences,
)
from monitor.subjects import subjects

CHINESE_SCRIPTS = ("zh-Hans", "zh-Hant")
VOCABULARY_TYPES = frozenset({"concept", "policy"})  # words, not names: regional wording applies
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN_OR_DIGIT = re.compile(r"[a-z0-9]")
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")
_SPACES = re.compile(r"\s+")

# How the weight is made (see watchlists/README.md): frequency, spread, title/lead presence.
W_FREQUENCY, W_SPREAD, W_LEAD = 0.5, 0.3, 0.2
AUTHOR_MAX_WEIGHT = 0.2  # the baseline's author wrote it; the article is not about them
PARENT_CREDIT = 0.5  # a mention of Qwen is half a mention of Alibaba
UNREVIEWED_FACTOR = 0.7  # an unknown name counts for less until someone reviews it
HEADING_MAX_CHARS = 40


# --- script folding ----------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert(text: str, config: str) -> str:
    """opencc conversion: t2s, s2t, s2twp (Taiwan phrases) or tw2sp (mainland phrases)."""
    return str(_converter(config).convert(text))


def fold(text: str) -> str:
    """The form names are compared in: NFKC, case-folded, simplified script, no spaces next to
    Chinese characters (昇騰 910C == 昇腾910c)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = convert(text, "t2s")
    text = _SPACE_NEAR_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()


def has_chinese(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


def chinese_forms(names: Iterable[str], script: str, *, vocabulary: bool = False) -> list[str]:
    """Each name in ``script``; with ``vocabulary`` also the regional wording opencc knows
    (晶片 / 芯片, 資料 / 数据). That is for words only: a company called 数据公司 is not
    資料公司 in Taiwan, so regional forms of names are curated instead."""
    if script == "zh-Hans":
        configs = ("t2s", "tw2sp") if vocabulary else ("t2s",)
    else:
        configs = ("s2t", "s2twp") if vocabulary else ("s2t",)
    out: list[str] = []
    for name in names:
        for config in configs:
            out.append(convert(name, config))
    return out


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def known_aliases(known: KnownName) -> dict[str, tuple[str, ...]]:
    """A curated name's aliases in all three writings: as written, plus opencc's conversions
    of every Chinese alias into the other script."""
    chinese = [a for s in CHINESE_SCRIPTS for a in known.aliases.get(s, ())]
    out: dict[str, tuple[str, ...]] = {}
    english = _unique(known.aliases.get("en", ()))
    if english:
        out["en"] = english
    vocabulary = known.type in VOCABULARY_TYPES
    for script in CHINESE_SCRIPTS:
        converted = chinese_forms(chinese, script, vocabulary=vocabulary)
        forms = _unique([*known.aliases.get(script, ()), *converted])
        if forms:
            out[script] = forms
    return out


# --- finding names -----------------------------------------------------------------------


@dataclass
class _Found:
    """One name found in the baseline, known or not."""

    name: str
    type: str
    aliases: dict[str, tuple[str, ...]]
    reviewed: bool
    max_weight: float = 1.0
    passages: list[tuple[int, int]] = field(default_factory=list)
    mentions: float = 0
    lead: float = 0.0  # 1 when in the title, 0.5 in the opening or a heading


class _KnownIndex:
    """Aho-Corasick automaton over the folded forms of every curated name."""

    def __init__(self, data: AliasData) -> None:
        self.names = data.names
        self.by_name = {known.name.casefold(): known for known in data.names}
        self.automaton = ahocorasick.Automaton()
        forms: dict[str, int] = {}
        for index, known in enumerate(data.names):
            for alias in (*known_aliases(known).values(), known.mentions, (known.name,)):
                for form in alias:
                    folded = fold(form)
                    if len(folded) >= 2 or has_chinese(folded):
                        forms.setdefault(folded, index)  # the first curated entry wins
        for folded, index in forms.items():
            self.automaton.add_word(folded, (index, folded))
        self.forms = forms
        if forms:
            self.automaton.make_automaton()

    def with_parents(self, index: int) -> list[KnownName]:
        """The name, then the company behind it (Qwen, Alibaba), and so on up."""
        chain = [self.names[index]]
        while chain[-1].parent and len(chain) < 4:
            parent = self.by_name.get(chain[-1].parent.casefold())
            if parent is None or parent in chain:
                break
            chain.append(parent)
        return chain

    def find(self, folded: str) -> list[tuple[int, int, int]]:
        """Leftmost-longest, non-overlapping (start, end, name index) in a folded sentence;
        a Latin name must not run on into letters or digits (AMD, not AMDx)."""
        if not self.forms:
            return []
        hits: list[tuple[int, int, int]] = []
        for end, (index, form) in self.automaton.iter(folded):
            start = end - len(form) + 1
            if _LATIN_OR_DIGIT.match(form[0]) and start > 0:
                if _LATIN_OR_DIGIT.match(folded[start - 1]):
                    continue
            if _LATIN_OR_DIGIT.match(form[-1]) and end + 1 < len(folded):
                if _LATIN_OR_DIGIT.match(folded[end + 1]):
                    continue
            hits.append((start, end + 1, index))
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        chosen: list[tuple[int, int, int]] = []
        reach = 0
        for start, stop, index in hits:
            if start >= reach:
                chosen.append((start, stop, index))
                reach = stop
        return chosen


_NAME_TOKEN = (
    r"(?:[A-Z][A-Za-z0-9]*|[a-z]+[A-Z][A-Za-z0-9]*)(?:['’][A-Za-z]+)?(?:[-.][A-Za-z0-9]+)*"
)
_NAME_TAIL = r"(?:[A-Z]\.|\d[\d.]*[A-Za-z]*|" + _NAME_TOKEN + ")"  # J. / 232 / 3.1 / Trump
_LATIN_NAME = re.compile(
    rf"(?<![A-Za-z0-9]){_NAME_TOKEN}"
    rf"(?:[ \t]+(?:(?:van|von|de|der|da|del|di|of|for|the|&)[ \t]+)*{_NAME_TAIL})*"
    r"(?![A-Za-z0-9])"
)
# Capitalised words that make a phrase a title or an institution rather than a person's name.
_NOT_NAMES = frozenset(
    "federal government general national public american state states united new old north "
    "south east west central provisions members memorandum title division director chief "
    "president minister officer executive global international world".split()
)
_POLICY_WORDS = frozenset(
    "act law rule rules plan initiative policy program programme order section".split()
)
_COMPANY_WORDS = frozenset(
    "inc corp corporation group company co technologies technology labs securities research "
    "systems holdings ai capital ventures partners".split()
)
_BODY_WORDS = frozenset(
    "department ministry office agency bureau commission council committee university "
    "institute secretary representative administration congress senate court parliament "
    "lab laboratory foundation endowment center centre".split()
)
_DOT_NAME = re.compile(rf"[{_CJK}]{{1,6}}[·・•‧][{_CJK}]{{1,6}}(?:[·・•‧][{_CJK}]{{1,6}})?")
_BOOK_TITLE = re.compile(r"《([^《》]{2,20})》")
_QUOTED_PLAN = re.compile(
    r"[“\"「『]\s*([^“”\"「」『』]{2,18}?"
    r"(?:计划|計劃|計畫|规划|規劃|规则|規則|法案|战略|戰略|倡议|倡議|行动|行動|清单|清單|条例|條例|任务|任務))"
    r"\s*[”\"」』]"
)
# Characters used to write foreign names in Chinese (斯科特·辛格, 約翰·史密斯). A name before or
# after the "·" is the run of these next to it; 研究员 before it or 表示 after it are not.
_TRANSLITERATION = frozenset(
    "阿埃艾爱愛安昂奥奧巴拔柏班邦保鲍鮑贝貝本比彼毕畢宾賓波伯博布查达達戴丹道德登邓鄧迪蒂丁东東"
    "杜多厄恩尔爾法凡菲费費芬丰豐弗福盖蓋甘冈岡高戈格根古瓜哈海汉漢豪赫亨洪华華惠霍基吉加贾賈"
    "杰傑捷金津卡凯凱坎康柯科克肯库庫夸奎昆拉莱萊兰蘭朗劳勞勒雷蕾黎里裡裏理丽麗利莉廉列林琳"
    "隆卢盧鲁魯路伦倫罗羅洛马馬玛瑪迈邁麦麥曼梅蒙米密明莫默姆穆纳納娜奈南内內尼妮诺諾欧歐帕"
    "潘佩彭皮普齐齊奇乔喬琼瓊丘萨薩塞桑瑟森沙莎尚舍史斯松苏蘇索塔泰坦汤湯唐特提汀图圖托瓦万"
    "萬旺威韦韋维維温溫沃乌烏伍武西希锡錫夏谢謝辛休亚亞扬揚伊依因英尤约約詹珍朱兹茲卓佐琪娅"
    "婭嘉夫翰瑞茨琴黛杭罕荷胡怀懷蕊若赛賽圣聖施舒泽澤"
)
_LATIN_STOP = frozenset(
    """a an the this that these those there their they we i you he she it its in on at of to for
    from by with as and or but if when while after before however although though because so
    yet also still even just only not no yes mr ms mrs dr prof president minister chairman ceo
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today yesterday tomorrow last next
    new one two three first second some many most more much every each all any other such
    what which who whom whose where why how here according said says chapter figure table
    source sources note notes read more share update updated throughout day days week year
    during since until within without about across among""".split()
)


def _clean_latin(candidate: str) -> str:
    words = [re.sub(r"['’]s$", "", w) for w in candidate.split()]
    while words and words[0].casefold().strip("'’") in _LATIN_STOP:
        words.pop(0)
    while words and words[-1].casefold() in _LATIN_STOP:
        words.pop()
    if words and words[-1].endswith(("'s", "’s")):
        words[-1] = words[-1][:-2]
    return " ".join(words)


def _clean_dot_name(candidate: str) -> str:
    before, _, after = candidate.partition("·")
    start = len(before)
    while start > 0 and before[start - 1] in _TRANSLITERATION and len(before) - start < 4:
        start -= 1
    end = 0
    while end < len(after) and after[end] in _TRANSLITERATION and end < 5:
        end += 1
    before, after = before[start:], after[:end]
    return f"{before}·{after}" if before and after else ""


def _latin_type(words: Sequence[str]) -> str:
    last = words[-1].casefold().strip(".")
    if last in _POLICY_WORDS or words[0].casefold() in _POLICY_WORDS:
        return "policy"
    if last in _COMPANY_WORDS:
        return "company"
    if any(w.casefold() in _BODY_WORDS for w in words):
        return "body"
    if len(words) == 1 and any(c.isdigit() for c in words[0]):
        return "product"
    titled = all(w[0].isupper() and not w.isupper() for w in words)
    if 2 <= len(words) <= 3 and titled and not any(w.casefold() in _NOT_NAMES for w in words):
        return "person"
    return "concept"


def _is_plain_word(word: str) -> bool:
    """Program, Federal, Budget: a capitalised ordinary word, not an acronym (EDAG), a
    mixed-case brand (xAI, OpenAI) or a model number (H20)."""
    return word[:1].isupper() and word[1:].islower() and word.isalpha()


def _unknown_candidates(sentence: str) -> list[tuple[str, str]]:
    """(surface, type guess) of names that may be proper nouns, in their own writing."""
    found: list[tuple[str, str]] = []
    for match in _LATIN_NAME.finditer(sentence):
        name = _clean_latin(match.group(0))
        words = name.split()
        if len(name) < 3 or not words or (len(words) > 2 and name.isupper()):
            continue  # too short, or a heading in capitals
        found.append((name, _latin_type(words)))
    normalized = re.sub("[・•‧]", "·", sentence)
    for match in _DOT_NAME.finditer(normalized):
        name = _clean_dot_name(match.group(0))
        if name:
            found.append((name, "person"))
    for match in _BOOK_TITLE.finditer(sentence):
        found.append((match.group(1).strip(), "product"))
    for match in _QUOTED_PLAN.finditer(sentence):
        found.append((match.group(1).strip(), "policy"))
    return found


# --- deriving ----------------------------------------------------------------------------


def derive(
    baseline: Baseline, text: str, data: AliasData, background: Background | None = None
) -> Watchlist:
    """The watchlist of one baseline. ``text`` has one paragraph per line: the names the
    curated data knows, then the subjects read from the article itself (monitor.subjects),
    weighed by how central each is in it, and its threads."""
    paragraphs = split_paragraphs(text)
    index = _KnownIndex(data)
    ignore = [fold(i) for i in data.ignore]
    language = baseline.language
    chinese = len(_CJK_CHAR.findall(text)) > len(text) * 0.3
    latin_text = not (language.startswith("zh") or chinese)
    found: dict[str, _Found] = {}
    parent_credit: dict[str, int] = {}
    # A capitalised word that also appears in lower case is an ordinary word (Today, Proclamation).
    common_words = set(re.findall(r"(?<![A-Za-z])[a-z]+(?![A-Za-z])", text))
    lead_paragraphs = _lead_paragraphs(paragraphs)
    headings = {n for n, p in enumerate(paragraphs, 1) if _is_heading(p)}
    title = fold(baseline.title)

    for number, paragraph in enumerate(paragraphs, 1):
        lead = 0.5 if number in lead_paragraphs or number in headings else 0.0
        for sentence_number, sentence in enumerate(split_sentences(paragraph), 1):
            folded = fold(sentence)
            hits = index.find(folded)
            matched = [folded[start:stop] for start, stop, _ in hits]
            for _, _, name_index in hits:
                known, *parents = index.with_parents(name_index)
                entry = found.get(known.name)
                if entry is None:
                    entry = found[known.name] = _Found(
                        known.name, known.type, known_aliases(known), True, known.max_weight
                    )
                _count(entry, number, sentence_number, lead)
                for parent in parents:
                    parent_credit[parent.name] = parent_credit.get(parent.name, 0) + 1
            for candidate, kind in _unknown_candidates(sentence):
                if latin_text and " " not in candidate and _is_plain_word(candidate):
                    continue  # in English prose a lone capitalised word is mostly not a name
                surface = _residue(candidate, [*matched, *ignore])
                key = fold(surface)
                if surface != candidate:
                    kind = "product"  # what is left of "AMD MI325X" once AMD is known
                if _is_covered(key, matched, index.forms, ignore) or key in common_words:
                    continue
                entry = found.get(key)
                if entry is None:
                    entry = found[key] = _Found(
                        surface, kind, _unknown_aliases(surface, language), False
                    )
                _count(entry, number, sentence_number, lead)

    for name, credit in parent_credit.items():
        if name in found:  # a product's mentions add to its maker's, at half the value
            found[name].mentions += PARENT_CREDIT * credit
    for entry in found.values():
        if title and any(fold(a) in title for s in entry.aliases.values() for a in s):
            entry.lead = 1.0
    named = _weigh(list(found.values()), baseline)
    entities, threads = subjects(
        baseline.title, paragraphs, named, background or default_background()
    )
    return Watchlist(baseline=baseline, entities=entities, paragraphs=paragraphs, threads=threads)


def _count(entry: _Found, paragraph: int, sentence: int, lead: float) -> None:
    entry.mentions += 1
    if (paragraph, sentence) not in entry.passages:
        entry.passages.append((paragraph, sentence))
    entry.lead = max(entry.lead, lead)


def _lead_paragraphs(paragraphs: Sequence[str]) -> set[int]:
    """The title line (when the file starts with one) and the first paragraph of body text."""
    numbers = [n for n, p in enumerate(paragraphs, 1) if p]
    lead: set[int] = set()
    for number in numbers[:3]:
        lead.add(number)
        if not _is_heading(paragraphs[number - 1]):
            break
    return lead


def _is_heading(paragraph: str) -> bool:
    return 0 < len(paragraph) <= HEADING_MAX_CHARS and not paragraph.endswith(
        ("。", ".", "”", "」")
    )


def _residue(candidate: str, matched: Sequence[str]) -> str:
    """A candidate that contains a known name: the model-number-like word left over (MI325X in
    "AMD MI325X"), else nothing. A candidate without a known name comes back unchanged."""
    key = fold(candidate)
    inside = [m for m in matched if m in key and m != key]
    if not inside:
        return candidate
    rest = key
    for known in inside:
        rest = rest.replace(known, " ")
    left = set(rest.split())
    for word in candidate.split():
        if fold(word) in left and re.search(r"\d", word) and re.search(r"[A-Za-z]", word):
            return word
    return ""


def _is_covered(
    key: str, matched: Sequence[str], known: dict[str, int], ignore: Sequence[str]
) -> bool:
    """An unknown candidate that a known name already accounts for, or that is boilerplate."""
    if len(key) < 2 or key in known:
        return True
    if any(key in m or m in key for m in matched):
        return True
    return any(key in i or i == key for i in ignore)


def _unknown_aliases(surface: str, language: str) -> dict[str, tuple[str, ...]]:
    if not has_chinese(surface):
        return {"en" if language.startswith(("en", "zh")) else language: (surface,)}
    return {
        script: _unique([surface, *chinese_forms([surface], script)]) for script in CHINESE_SCRIPTS
    }


def _weigh(found: list[_Found], baseline: Baseline) -> tuple[Entity, ...]:
    """weight = 0.5 frequency (log, relative to the most mentioned) + 0.3 spread (paragraphs,
    relative to the most spread) + 0.2 title/lead presence; then caps."""
    if not found:
        return ()
    # Relative to the most mentioned name that is not capped: China and the United States are
    # everywhere in this news and would otherwise flatten everything else.
    scale = [f for f in found if f.max_weight >= 1] or found
    max_mentions = max(f.mentions for f in scale)
    max_spread = max(len({p for p, _ in f.passages}) for f in scale)
    author = fold(baseline.author) if baseline.author else ""
    entities: list[Entity] = []
    for f in found:
        spread = len({p for p, _ in f.passages})
        score = (
            W_FREQUENCY * min(1.0, math.log1p(f.mentions) / math.log1p(max_mentions))
            + W_SPREAD * min(1.0, spread / max_spread)
            + W_LEAD * f.lead
        )
        cap = f.max_weight
        if author and (fold(f.name) == author or author in map(fold, f.aliases.get("en", ()))):
            cap = min(cap, AUTHOR_MAX_WEIGHT)
        if not f.reviewed:
            score *= UNREVIEWED_FACTOR
        weight = round(max(0.05, min(cap, score)), 2)
        entities.append(
            Entity(
                name=f.name,
                type=f.type,
                weight=weight,
                aliases=f.aliases,
                passages=tuple(Passage(p, s) for p, s in sorted(f.passages)),
                reviewed=f.reviewed,
            )
        )
    entities.sort(key=lambda e: (-e.weight, e.name.casefold()))
    return tuple(entities)


# --- merging a re-derive with hand edits ------------------------------------------------


def merge(current: Watchlist | None, previous: Watchlist | None, fresh: Watchlist) -> Watchlist:
    """Fold a fresh derivation into the watchlist file as a person may have edited it.

    ``previous`` is what derivation wrote last time (kept beside the file). A field that differs
    from it was edited by hand and is kept; a field nobody touched takes the fresh value. Aliases
    merge as sets: hand-added ones stay, hand-removed ones stay removed, newly curated ones
    arrive. An entity deleted by hand is not brought back. Without ``previous`` the file wins
    for every entity it has and derivation only adds new entities and passages.
    """
    if current is None:
        return fresh
    old = {e.name.casefold(): e for e in previous.entities} if previous else {}
    new = {e.name.casefold(): e for e in fresh.entities}
    result: list[Entity] = []
    for entity in current.entities:
        key = entity.name.casefold()
        if key not in new:
            if key in old and _without_text(old[key]) == _without_text(entity):
                continue  # derivation no longer finds it and nobody had touched it
            result.append(entity)
            continue
        result.append(_merge_entity(entity, old.get(key), new[key]))
    present = {e.name.casefold() for e in current.entities}
    for key, entity in new.items():
        if key in present or key in old:
            continue  # kept above, or deleted by hand after an earlier derive
        result.append(entity)
    result.sort(key=lambda e: (-e.weight, e.name.casefold()))
    baseline = _merge_baseline(
        current.baseline, previous.baseline if previous else None, fresh.baseline
    )
    names = {e.name for e in result}
    threads = tuple(
        replace(t, subjects=tuple(n for n in t.subjects if n in names)) for t in fresh.threads
    )
    return Watchlist(
        baseline=baseline, entities=tuple(result), paragraphs=fresh.paragraphs, threads=threads
    )


def _without_text(entity: Entity) -> Entity:
    return replace(
        entity, passages=tuple(Passage(p.paragraph, p.sentence) for p in entity.passages)
    )


def _merge_entity(mine: Entity, base: Entity | None, theirs: Entity) -> Entity:
    if base is None:
        # added by hand before derivation found it: the hand version wins, derivation adds
        return replace(
            mine,
            aliases=_union_aliases(mine.aliases, theirs.aliases),
            passages=_union_passages(mine.passages, theirs.passages),
        )
    aliases: dict[str, tuple[str, ...]] = {}
    for script in _unique([*theirs.aliases, *mine.aliases]):
        m, b, t = (set(x.aliases.get(script, ())) for x in (mine, base, theirs))
        keep = (t | (m - b)) - (b - m)
        order = [*mine.aliases.get(script, ()), *theirs.aliases.get(script, ())]
        names = _unique(a for a in order if a in keep)
        if names:
            aliases[script] = names
    return Entity(
        name=mine.name,
        type=mine.type if mine.type != base.type else theirs.type,
        weight=mine.weight if mine.weight != base.weight else theirs.weight,
        aliases=aliases,
        passages=_union_passages(mine.passages, theirs.passages)
        if _pairs(mine.passages) != _pairs(base.passages)
        else theirs.passages,
        reviewed=mine.reviewed if mine.reviewed != base.reviewed else theirs.reviewed,
        role=mine.role if mine.role != base.role else theirs.role,
    )


def _pairs(passages: Iterable[Passage]) -> list[tuple[int, int]]:
    return [(p.paragraph, p.sentence) for p in passages]


def _union_aliases(
    a: dict[str, tuple[str, ...]], b: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    scripts = _unique([*a, *b])
    return {s: _unique([*a.get(s, ()), *b.get(s, ())]) for s in scripts}


def _union_passages(a: Sequence[Passage], b: Sequence[Passage]) -> tuple[Passage, ...]:
    pairs = sorted(set(_pairs(a)) | set(_pairs(b)))
    return tuple(Passage(p, s) for p, s in pairs)


def _merge_baseline(mine: Baseline, base: Baseline | None, theirs: Baseline) -> Baseline:
    if base is None:
        return mine
    values = {}
    for name in ("title", "language", "published", "path", "source_url", "author", "outlet"):
        m, b, t = getattr(mine, name), getattr(base, name), getattr(theirs, name)
        values[name] = m if m != b else t
    return replace(mine, **values)


# --- baseline text from files and pages -----------------------------------------------


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARK = re.compile(r"(\*\*|__|\*|_|`)")


def text_from_markdown(markdown: str) -> tuple[str, str]:
    """(title, plain text with one paragraph per line) of a Markdown document. The title is the
    front matter's ``title:`` or the first heading; each list item is a paragraph."""
    markdown = markdown.replace("\r\n", "\n").lstrip("\ufeff")
    title = ""
    front = _FRONT_MATTER.match(markdown)
    if front:
        markdown = markdown[front.end() :]
        title = _front_matter_title(front.group(1))
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
