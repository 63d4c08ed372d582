"""Finding names in a baseline: the curated names (an Aho-Corasick automaton over their folded
forms, with their aliases in all three writings) and the proper nouns the curated data does not
know (Latin-script names, transliterated Chinese names, titles in 《》, quoted plan names).
Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import ahocorasick
import jieba

from monitor import dictionary
from monitor.models import TITLE_ABBREVIATIONS, AliasData, KnownName
from monitor.text import (
    CJK_RANGE,
    LATIN_LETTER,
    LATIN_LOWER,
    LATIN_UPPER,
    convert,
    fold,
    fold_forms,
    has_chinese,
    is_word_char,
    only_in_capitals,
)

CHINESE_SCRIPTS = ("zh-Hans", "zh-Hant")
VOCABULARY_TYPES = frozenset({"concept", "policy"})  # words, not names: regional wording applies


# --- script forms --------------------------------------------------------------------------


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


def unique(items: Iterable[str]) -> tuple[str, ...]:
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
    english = unique(known.aliases.get("en", ()))
    if english:
        out["en"] = english
    vocabulary = known.type in VOCABULARY_TYPES
    for script in CHINESE_SCRIPTS:
        converted = chinese_forms(chinese, script, vocabulary=vocabulary)
        forms = unique([*known.aliases.get(script, ()), *converted])
        if forms:
            out[script] = forms
    return out


class KnownIndex:
    """Aho-Corasick automaton over the folded forms of every curated name."""

    def __init__(self, data: AliasData) -> None:
        self.names = data.names
        self.by_name = {known.name.casefold(): known for known in data.names}
        self.automaton = ahocorasick.Automaton()
        forms: dict[str, int] = {}
        named: set[tuple[str, int]] = set()
        keyed: list[tuple[str, str]] = []  # (folded form, the name it was folded from)
        for index, known in enumerate(data.names):
            names = [f for a in known_aliases(known).values() for f in a] + [known.name]
            for form, is_name in [
                *((f, True) for f in names),
                *((f, False) for f in known.mentions),
            ]:
                for folded in sorted(fold_forms(form), key=lambda f: f != fold(form)):
                    if len(folded) >= 2 or has_chinese(folded):
                        forms.setdefault(folded, index)  # the first curated entry wins
                        keyed.append((folded, form))
                        if is_name:
                            named.add((folded, index))
        # forms that only find a name the article also writes out: 商务部 is the US
        # Department of Commerce in an article on US export rules, China's in most others
        self.mention_forms = frozenset(f for f, i in forms.items() if (f, i) not in named)
        # forms of names written only in capitals (US): not the same word in lower case (us)
        self.capital_forms = only_in_capitals(keyed)
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
            if is_word_char(form[0]) and start > 0 and is_word_char(folded[start - 1]):
                continue
            if is_word_char(form[-1]) and end + 1 < len(folded):
                if is_word_char(folded[end + 1]):
                    continue
            if has_chinese(form) and not _whole_in_chinese(folded, start, end + 1, form):
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


def _whole_in_chinese(folded: str, start: int, end: int, form: str) -> bool:
    """A Chinese name at folded[start:end] that is not a piece of other words: no word of the
    sentence (jieba's dictionary, no guessing) begins inside it and runs on past it, or the
    other way round (曝光机 in 曝光机会, "exposure opportunity"), and a name written in
    transliteration characters does not run on into another (阿里巴巴 in 阿里巴巴迪, a person)."""
    if set(form) <= TRANSLITERATION and end < len(folded) and folded[end] in TRANSLITERATION:
        return False
    return not any(
        start < word_start < end < word_end or word_start < start < word_end < end
        for word_start, word_end in _dictionary_words(folded)
    )


def _dictionary_words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of simplified ``text`` as jieba's dictionary cuts it, without
    guessing at the words it does not know."""
    spans, position = [], 0
    for word in jieba.cut(text, HMM=False):
        spans.append((position, position + len(word)))
        position += len(word)
    return spans


_NAME_TOKEN = (
    rf"(?:[{LATIN_UPPER}][{LATIN_LETTER}0-9]*|[{LATIN_LOWER}]+[{LATIN_UPPER}][{LATIN_LETTER}0-9]*)"
    rf"(?:['’][{LATIN_LETTER}]+)?(?:[-.][{LATIN_LETTER}0-9]+)*"
)
# J. / 232 / 3.1 / Trump; a number's full stop ends the sentence ("Executive Order 14323.")
_NAME_TAIL = rf"(?:[{LATIN_UPPER}]\.|\d+(?:\.\d+)*[{LATIN_LETTER}]*|" + _NAME_TOKEN + ")"
_LATIN_NAME = re.compile(
    rf"(?<![{LATIN_LETTER}0-9]){_NAME_TOKEN}"
    rf"(?:[ \t]+(?:(?:van|von|de|der|da|del|di|of|for|the|&)[ \t]+)*{_NAME_TAIL})*"
    rf"(?![{LATIN_LETTER}0-9])"
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
_HAN_RUN = f"[{CJK_RANGE}]{{1,6}}"
_DOT_NAME = re.compile(rf"{_HAN_RUN}[·・•‧]{_HAN_RUN}(?:[·・•‧]{_HAN_RUN})?")
_ACRONYM = re.compile(r"(?<![A-Za-z0-9.\-])[A-Z]{3,6}(?![A-Za-z0-9\-])")
_BOOK_TITLE = re.compile(r"《([^《》]{2,20})》")
_QUOTED_PLAN = re.compile(
    r"[“\"「『]\s*([^“”\"「」『』]{2,18}?"
    r"(?:计划|計劃|計畫|规划|規劃|规则|規則|法案|战略|戰略|倡议|倡議|行动|行動|清单|清單|条例|條例|任务|任務))"
    r"\s*[”\"」』]"
)
# Characters used to write foreign names in Chinese (斯科特·辛格, 約翰·史密斯). A name before or
# after the "·" is the run of these next to it; 研究员 before it or 表示 after it are not.
TRANSLITERATION = frozenset(
    "阿埃艾爱愛安昂奥奧巴拔柏班邦保鲍鮑贝貝本比彼毕畢宾賓波伯博布查达達戴丹道德登邓鄧迪蒂丁东東"
    "杜多厄恩尔爾法凡菲费費芬丰豐弗福盖蓋甘冈岡高戈格根古瓜哈海汉漢豪赫亨洪华華惠霍基吉加贾賈"
    "杰傑捷金津卡凯凱坎康柯科克肯库庫夸奎昆拉莱萊兰蘭朗劳勞勒雷蕾黎里裡裏理丽麗利莉廉列林琳"
    "隆卢盧鲁魯路伦倫罗羅洛马馬玛瑪迈邁麦麥曼梅蒙米密明莫默姆穆纳納娜奈南内內尼妮诺諾欧歐帕"
    "潘佩彭皮普齐齊奇乔喬琼瓊丘萨薩塞桑瑟森沙莎尚舍史斯松苏蘇索塔泰坦汤湯唐特提汀图圖托瓦万"
    "萬旺威韦韋维維温溫沃乌烏伍武西希锡錫夏谢謝辛休亚亞扬揚伊依因英尤约約詹珍朱兹茲卓佐琪娅"
    "婭嘉夫翰瑞茨琴黛杭罕荷胡怀懷蕊若赛賽圣聖施舒泽澤"
    "文什切扎耶雅各纽紐拜范涅庞龐策缪繆"
)
# abbreviated months and weekdays ("Dec 3", "Jan. 5"); sat, sun and mar stay: Sun, Mar-a-Lago
_DATE_WORDS = frozenset(
    "jan feb apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur fri".split()
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


_POSSESSIVE = re.compile(r"['’]s$")
# an adjective made on a name: Sacramento-based, U.S.-led, China-made (not Post-Gazette)
_MADE_ON_A_NAME = re.compile(rf"[{LATIN_UPPER}][^ ]*-[{LATIN_LOWER}]+$")
# plurals that take 's and open names of institutions: People's Republic, Women's Tennis
# Association, Children's Hospital
_COLLECTIVE_OWNERS = frozenset({"people", "women", "men", "children"})


def _name_parts(run: str) -> list[str]:
    """The names in a run of capitalised words. Cut after a possessive inside it: "Britain's
    Conservative Party" is Britain and the Conservative Party, "Apple's Tim Cook" Apple and Tim
    Cook (not "Britain Conservative Party", which no text writes), but an institution named on
    a plural stays whole (People's Republic of China) and a figure is the owner's (Boeing's 787
    is the Boeing 787). Cut at the "of" after a person: "Brian Batko of the Pittsburgh
    Post-Gazette" is a reporter and his paper; "Bank of America" and "Secretary of State" stay.
    And no name runs on into a figure ("Ten of the 18"), nor takes in an adjective made on a
    name (Sacramento-based McClatchy)."""
    parts: list[list[str]] = [[]]
    words = run.split()
    for number, word in enumerate(words):
        if _MADE_ON_A_NAME.match(word):
            parts.append([])  # Sacramento-based McClatchy is McClatchy
            continue
        if word == "of" and _person_before(parts[-1]):
            parts.append([])
            continue
        if word == "of" and _figure_after(words[number + 1 :]):
            break
        if word == "the" and not parts[-1]:
            continue  # "of the" after a person
        parts[-1].append(word)
        _end_at_possessive(parts, words[number + 1] if number + 1 < len(words) else "")
    return [" ".join(part) for part in parts if part]


def _end_at_possessive(parts: list[list[str]], following: str) -> None:
    """After a possessive a new name opens, unless its owner is a plural that names
    institutions or a figure follows (then the owner is written without its 's)."""
    word = parts[-1][-1]
    owner = _POSSESSIVE.sub("", word)
    if owner == word or owner.casefold() in _COLLECTIVE_OWNERS:
        return
    if following[:1].isalpha():
        parts.append([])
    else:
        parts[-1][-1] = owner  # a figure after the owner is its own: Boeing 787


def _person_before(words: Sequence[str]) -> bool:
    """Two or three words that read as a person's name: a first name the dictionary gives as a
    name and a last that is no English word (Brian Batko; not London School of Economics)."""
    return (
        2 <= len(words) <= 3
        and dictionary.is_name(words[0])
        and not dictionary.is_common_english(words[-1])
    )


def _figure_after(words: Sequence[str]) -> bool:
    """ "of the" and a figure: "Ten of the 18" (not "Trade Act of 1974")."""
    return len(words) > 1 and words[0] == "the" and words[1][:1].isdigit()


def _clean_latin(candidate: str, stop: frozenset[str] = frozenset()) -> str:
    """The candidate without stop words (``stop``: those of the article's language besides
    English), dates or contractions at its edges, nor a number in front ("Dec 3" and
    "2025 We’ve" are no names)."""
    words = candidate.split()
    # the name a possessive ends (Gannett's); inside, it is an institution's (People's Republic)
    words = _after_title([*words[:-1], _POSSESSIVE.sub("", words[-1])] if words else [])
    while words and (_edge_word(words[0], stop) or not any(ch.isalpha() for ch in words[0])):
        if _opens_name(words):
            break
        words.pop(0)  # a leading number too; a trailing one belongs (Section 232, H 20)
    # nor an abbreviated title at its end, cut off from the name by its full stop
    # ("Republican Gov." of "Republican Gov. Eric Holcomb")
    while words and (_edge_word(words[-1], stop) or words[-1] in TITLE_ABBREVIATIONS):
        words.pop()
    if words and words[-1].endswith(("'s", "’s")):
        words[-1] = words[-1][:-2]
    return " ".join(words)


# Titles before a name ("Secretary Rubio", "Governor John Rankin", "Acting Deputy Premier
# Honourable Natalio Wheatley" less its Premier, which "Premier League" keeps); not before "of"
# ("Secretary of Education" is an office), nor words that also open names of companies and
# bodies (General Motors, Justice Department)
_TITLES = frozenset(
    "secretary governor judge senator sen rep gov mayor ambassador chancellor commissioner "
    "envoy acting deputy vice honourable honorable admiral adm colonel col captain capt "
    "president minister chairman ceo administrator director spokesperson spokesman "
    "spokeswoman".split()
)


def _after_title(words: list[str]) -> list[str]:
    """A name after the title that precedes it, whatever qualifies the title: "Energy Secretary
    Chris Wright", "Foreign Minister Wang Yi", "NASA Administrator Jim Bridenstine" are Chris
    Wright, Wang Yi and Jim Bridenstine. A title before "of" is an office (Secretary of State)."""
    last = max(
        (
            i
            for i, word in enumerate(words[:-1])
            if word.casefold().removesuffix(".") in _TITLES
            if words[i + 1][:1].isupper()
        ),
        default=-1,
    )
    return words[last + 1 :]


# adjectives of yake's stop list that open names (New York, Eastern Equine Encephalitis, Best
# Buy, Old Trafford): stop words at the edge of a lowercase phrase, not of a capitalised one
NAME_ADJECTIVES = frozenset({"eastern", "new", "first", "old", "best", "last"})


def _opens_name(words: Sequence[str]) -> bool:
    """A capitalised name adjective before another name word: New Media Investment Group,
    not New alone nor "Last Friday"."""
    return (
        len(words) > 1
        and words[0].casefold() in NAME_ADJECTIVES
        and words[0][:1].isupper()
        and not _edge_word(words[1])
    )


_CONTRACTION = re.compile(r"['’](?:ve|re|ll|d|m|t)$", re.IGNORECASE)


def _edge_word(word: str, stop: frozenset[str] = frozenset()) -> bool:
    folded = word.casefold().strip("'’.")
    if folded in _LATIN_STOP or folded in stop or folded in _DATE_WORDS:
        return True
    return bool(_CONTRACTION.search(word))


def _clean_dot_name(candidate: str) -> str:
    before, _, after = candidate.partition("·")
    start = len(before)
    while start > 0 and before[start - 1] in TRANSLITERATION and len(before) - start < 4:
        start -= 1
    # the name opens where a word of the sentence does, not with the end of the word before
    # it: 理 of 總理 (prime minister) in 總理安東尼·阿爾巴尼斯
    # (not when the run went on beyond the four characters taken: 克里斯蒂安娜 is cut anyway;
    # and a word of the dictionary may swallow the name's head, 由约翰 of 由约翰·史密斯: then
    # the run of transliteration characters stands)
    if start == 0 or before[start - 1] not in TRANSLITERATION:
        edges = {word_start for word_start, _ in _dictionary_words(convert(before, "t2s"))}
        start = next((i for i in range(start, len(before)) if i in edges), start)
    end = 0
    while end < len(after) and after[end] in TRANSLITERATION and end < 5:
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


def is_plain_word(word: str) -> bool:
    """Program, Federal, Budget: a capitalised ordinary word, not an acronym (EDAG), a
    mixed-case brand (xAI, OpenAI) or a model number (H20)."""
    return word[:1].isupper() and word[1:].islower() and word.isalpha()


def unknown_candidates(sentence: str, stop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(surface, type guess) of names that may be proper nouns, in their own writing;
    ``stop``: the stop words of the article's language, when it is not English."""
    found: list[tuple[str, str]] = []
    for match in _LATIN_NAME.finditer(sentence):
        for part in _name_parts(match.group(0)):
            name = _clean_latin(part, stop)
            words = name.split()
            if len(name) < 3 or not words or (len(words) > 2 and name.isupper()):
                continue  # too short, or a heading in capitals
            found.append((name, _latin_type(words)))
    if has_chinese(sentence):
        # in Chinese text a word in capitals is an acronym, however like an English word:
        # WHO of 世界衛生組織（WHO）; not a title (CEO)
        names = {name for name, _ in found}
        for acronym in dict.fromkeys(_ACRONYM.findall(sentence)):
            if acronym not in names and acronym.casefold() not in _TITLES:
                found.append((acronym, _latin_type([acronym])))
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


def unknown_aliases(surface: str, language: str) -> dict[str, tuple[str, ...]]:
    if not has_chinese(surface):
        return {"en" if language.startswith(("en", "zh")) else language: (surface,)}
    # each writing its own characters: a simplified surface is no traditional alias
    return {script: unique(chinese_forms([surface], script)) for script in CHINESE_SCRIPTS}
