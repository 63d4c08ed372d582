"""The key phrases of Chinese text: strings of characters that recur in the article, cut on
jieba's word edges, so that names jieba's dictionary does not know and splits (优必选 -> 优 /
必选, 高市早苗 -> 高市 / 早苗) come back whole, with the part-of-speech tags and the IDF table
jieba ships to tell names, terms and everyday words apart. Counted here, weighed by
monitor.keyphrases.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import jieba
import jieba.posseg

from monitor import dictionary
from monitor.phrase_tally import EXTENDS, Tally
from monitor.text import CJK_RANGE, fold

jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
# POS tags that never start or end a Chinese phrase: particles, prepositions, conjunctions,
# adverbs, pronouns, numerals, measure words, time and place words, punctuation.
_EDGE_TAGS = frozenset(
    "uj ul uz ug uv ud u p c d r m mq q x t f y e o zg ad ag dg rg rr tg b k h".split()
)
_CLAUSE_TAGS = frozenset({"v", "p", "c", "uj", "d", "r"})
NAME_TAGS = {"nr": "person", "nrt": "person", "nrfg": "person", "ns": "place", "nt": "body"}
MAX_CHINESE_CHARS = 8
JIEBA_TYPICAL_IDF = 9.0  # a specific word (稀土 8.4, 机器人 8.5); 时候 is 4.3
EVERYDAY_IDF = 5.0  # the 419 commonest words of jieba's table are under it (发展 3.6, 方面 4.3)


_STOP_EDGE = frozenset(
    "的了是在和也就都而与及对把被让这那我你他她它们一不有说会要很更最又还其之以为从到于或等并但所将已被个年月日"
)
# 年, 月 and 日 close a date (2025年, 3月, 5日) but open words and names: 日本, 日元, 月之暗面
_STOP_START = _STOP_EDGE - frozenset("年月日")
# a name followed by "(pseudonym)", with what comes before it: 上海人陈辉（化名）, whose tails
# (陈辉) are the made-up name
_PSEUDONYM = re.compile(rf"([{CJK_RANGE}]{{2,4}})\s*[（(]\s*化名\s*[）)]")
MIN_CHINESE_COUNT = 3
SHORT_ARTICLE_CHARS = 1000  # below this, twice is as telling as three times
ALIGNED = 0.5  # a string cut across jieba's words half the time (国游客 in 中国游客) is not one


def _chinese_runs(paragraph: str) -> list[tuple[str, bool]]:
    """Runs of Chinese characters, each with whether a figure comes right before it, spaced
    or not (10亿欧元, 10 亿欧元: outlets differ)."""
    return [
        (found.group(), paragraph[: found.start()].rstrip(" \t\u00a0\u3000")[-1:].isdigit())
        for found in re.finditer(f"[{CJK_RANGE}]+", paragraph)
        if len(found.group()) >= 2
    ]


def _chinese_phrases(paragraphs: Sequence[str]) -> dict[str, tuple[int, set[int]]]:
    """Character strings of 2-8 that recur in the article (>= 3 times, or in the title):
    recurring strings find the names jieba's dictionary does not know and splits (优必选,
    高市早苗, 普发现金), and compounds it cuts in two (人形机器人). A string that nearly always
    continues with the same character is a fragment of a longer one and is dropped."""
    counts: Counter[str] = Counter()
    aligned: Counter[str] = Counter()  # occurrences that start and end on jieba's word edges
    after_figure: Counter[str] = Counter()  # 亿至 of 535亿至565亿: a unit, not a word
    where: dict[str, set[int]] = defaultdict(set)
    for number, paragraph in enumerate(paragraphs, 1):
        for run, figure_before in _chinese_runs(paragraph):
            edges = _word_edges(run)
            for size in range(2, min(MAX_CHINESE_CHARS, len(run)) + 1):
                for i in range(len(run) - size + 1):
                    gram = run[i : i + size]
                    counts[gram] += 1
                    aligned[gram] += i in edges and i + size in edges
                    after_figure[gram] += i == 0 and figure_before
                    where[gram].add(number)
    kept = {g: c for g, c in counts.items() if c >= 2}
    # the most frequent one-character extension of each string, on either side
    extended: Counter[str] = Counter()
    for gram, count in kept.items():
        if len(gram) > 2:
            for part in (gram[:-1], gram[1:]):
                extended[part] = max(extended[part], count)
    result = {}
    for gram, count in kept.items():
        if gram[0] in _STOP_START or (gram[-1] in _STOP_EDGE and not _institution(gram)):
            continue
        if extended.get(gram, 0) >= EXTENDS * count or aligned[gram] < ALIGNED * count:
            continue
        if after_figure[gram] * 2 >= count:
            continue
        result[gram] = (count, where[gram])
    return result


_INSTITUTION_ENDS = frozenset("会所")
_NOUN_TAGS = frozenset({"n", "nt", "nz", "j"})
_NOT_AN_INSTITUTION = frozenset({"ns", "nr", "r"})


def _institution(gram: str) -> bool:
    """A body whose name ends in 会 or 所, that jieba's dictionary knows as a noun: 立法会,
    交易所, 中常会; not a place or a pronoun followed by "will" (美国会, 他们会)."""
    tags = jieba.posseg.dt.word_tag_tab
    return (
        gram[-1] in _INSTITUTION_ENDS
        and tags.get(gram) in _NOUN_TAGS
        and tags.get(gram[:-1]) not in _NOT_AN_INSTITUTION
    )


def _word_edges(run: str) -> set[int]:
    edges = {0}
    end = 0
    for word in jieba.cut(run):
        end += len(word)
        edges.add(end)
    return edges


@functools.lru_cache(maxsize=1)
def jieba_idf() -> dict[str, float]:
    import jieba.analyse

    return dict(jieba.analyse.default_tfidf.idf_freq)


def chinese_tallies(title: str, paragraphs: Sequence[str]) -> dict[str, Tally]:
    tags = {w.word: w.flag for p in paragraphs for w in jieba.posseg.cut(p)}
    folded_title = fold(title)
    tallies = {}
    grams = _chinese_phrases(paragraphs)
    # a short article names its subjects fewer times (美团 twice in five paragraphs)
    short = sum(len(p) for p in paragraphs) < SHORT_ARTICLE_CHARS
    least = MIN_CHINESE_COUNT - 1 if short else MIN_CHINESE_COUNT
    pseudonyms = {found for p in paragraphs for found in _PSEUDONYM.findall(p)}
    for gram, (count, where) in grams.items():
        if count < least and gram not in folded_title:
            continue
        if any(name.endswith(gram) for name in pseudonyms):
            continue  # a name the article made up for a witness: no one news will name
        tag = tags.get(gram, "")
        if _function_word(gram, tag):
            continue
        if _clause_fragment(gram, grams):
            continue
        parts = tuple(jieba.lcut(gram, HMM=False))
        if _glued_to_function_word(gram):
            continue
        # a compound of dictionary words (人工智能公司, 外国芯片) is a concept, not a name
        unknown = not tag and gram not in jieba_idf() and not is_compound(parts)
        kind = NAME_TAGS.get(tag, "name" if unknown else "concept")
        if kind != "concept" and dictionary.is_common_noun(gram):
            kind = "concept"  # jieba's one tag per word is not this use: 入口 is no place
        tallies[fold(gram)] = Tally(gram, kind, parts, count, set(where))
    return tallies


def _function_word(word: str, tag: str) -> bool:
    """A verb, adjective, adverb or particle jieba knows: not a subject. Except a verb or an
    adjective that general text rarely writes: it names what the article is about (外卖
    takeout, 停火 ceasefire, 罢免 recall, 节俭 frugal), whatever jieba's one tag per word says."""
    if not tag or not (tag in _EDGE_TAGS or (tag[0] in "va" and tag != "vn")):
        return False
    return not (tag[0] in "va" and _rare(word))


def _rare(word: str) -> bool:
    return jieba_idf().get(word, 0.0) >= JIEBA_TYPICAL_IDF


def is_everyday_chinese(word: str) -> bool:
    """One of the words of everyday Chinese (jieba's IDF under EVERYDAY_IDF: 发展, 方面, 政府,
    技术, 投资; about 400 words): it says nothing about which story an article tells."""
    return jieba_idf().get(word, EVERYDAY_IDF) < EVERYDAY_IDF


def is_place_name(word: str) -> bool:
    """A Latin word whose every Chinese name in the dictionary is a place to jieba (California:
    加利福尼亚, 加州), not a person's (Clarke: 克拉克)."""
    names = dictionary.chinese_name(word)
    tags = jieba.posseg.dt.word_tag_tab
    return bool(names) and all(tags.get(name) == "ns" for name in names)


def is_compound(parts: Sequence[str]) -> bool:
    """Made only of dictionary words of two or more characters (jieba cut without guessing)."""
    return len(parts) > 1 and all(len(part) >= 2 for part in parts)


def _glued_to_function_word(gram: str) -> bool:
    """做人形, 向日本, 上一切, 做的事情: a single-character verb, preposition, locative or
    pronoun in front of a word, or a structural particle inside: pieces of a clause."""
    words = [(w.word, w.flag) for w in jieba.posseg.cut(gram)]
    if len(words) < 2:
        return False
    if any(flag == "uj" for _, flag in words):
        return True
    first_word, first_flag = words[0]
    return len(first_word) == 1 and first_flag[0] in "vpfrdc"


def _clause_fragment(gram: str, grams: dict[str, tuple[int, set[int]]]) -> bool:
    """使中国, 中国获得, 美国则: a phrase the article has anyway, with a verb, preposition or
    particle stuck to one end. (优必选 = 优 + 必选 stays: 优 alone is no phrase.)"""
    words = [(w.word, w.flag) for w in jieba.posseg.cut(gram)]
    if len(words) < 2:
        return False
    # built of real words (two of two characters or more) around a verb or a preposition:
    # 中国获得先进, 美国对中国; an unknown name cut into single characters is not (优/必选)
    # 电磁弹射 (electromagnetic catapult) is a term: a rare verb (弹射) is no clause's verb
    clause_words = [w for w, t in words if t in _CLAUSE_TAGS and not (t == "v" and _rare(w))]
    if sum(len(w) >= 2 for w, _ in words) >= 2 and clause_words:
        return True
    first, last = words[0], words[-1]
    if (first[1] in _EDGE_TAGS or first[1][0] in "vp") and gram[len(first[0]) :] in grams:
        return True
    return (last[1] in _EDGE_TAGS or last[1][0] in "vp") and gram[: -len(last[0])] in grams
