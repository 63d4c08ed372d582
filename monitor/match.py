"""Decide which baselines an article follows up, with a score and a reason a person can read.

Pure: no I/O, no clock. The caller builds one ``Matcher`` per set of watchlists; the
Aho-Corasick automaton over every alias of every watchlist is built once, so matching an
article costs one pass over its folded text whatever the number of aliases. The aliases
found are the candidates and the evidence; the decision is the relevance model's
(monitor.relevance) or the hand-written rules' (monitor.rule_score). An article published
before a baseline does not follow it up.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick

from monitor.alias_search import (
    alias_keys,
    find_bounded,
    inflected,
    inside_word,
)
from monitor.encoder import Vectors
from monitor.language import LanguageRules, default_rules
from monitor.models import (
    BODY,
    LEAD,
    TITLE,
    Article,
    Match,
    Watchlist,
)
from monitor.reasons import judged_match
from monitor.relevance import (
    Evidence,
    Judge,
    RelevanceModel,
    background_articles,
    encoded_text,
    load_model,
    make_judge,
    role_of,
)
from monitor.rule_score import (
    THREAD_TYPES,
    Hit,
    Indexed,
    contribution,
    index,
    is_topic,
    score,
)
from monitor.text import fold, on_word_edges, only_in_capitals, words_in_capitals
from monitor.vocabulary import AllWordsAlias, AmountAlias

LEAD_CHARS = 160  # of folded body text; feed summaries put the news first
# Rules about language (descriptors such as 芯片股, headline lists and market wraps, money
# figures for "<amount>" aliases, 芯片战 vs 芯片战略, inflections of "<all>" words) live in
# monitor/data/language.yaml, read by monitor.language.


def capitals_in(article: Article) -> frozenset[str]:
    return words_in_capitals(f"{article.title}\n{article.text}")


def is_headline_list(title: str, rules: LanguageRules | None = None) -> bool:
    """A market wrap or a list of the day's headlines, by its title."""
    return bool((rules or default_rules()).headline_list.search(fold(title)))


@dataclass
class _Found:
    hits: dict[int, Hit] = field(default_factory=dict)


class Matcher:
    """Matches articles against watchlists; build once, call ``match`` per article."""

    def __init__(
        self,
        watchlists: Sequence[Watchlist],
        threshold: float = 0.5,
        judge: Judge | None = None,
        rules: LanguageRules | None = None,
    ) -> None:
        """Without ``judge`` the hand-written rules decide (score >= ``threshold``); with it,
        the learned relevance model does, at its own calibrated threshold. ``rules``: the
        language rules (default: monitor/data/language.yaml)."""
        self.threshold = threshold
        self.rules = rules or default_rules()
        self.judge = judge
        self._lists = tuple(index(w) for w in watchlists)
        refs: dict[str, set[tuple[int, int]]] = defaultdict(set)
        keyed: list[tuple[str, str]] = []  # (key, the alias it was folded from)
        with_amount: dict[str, set[tuple[int, int]]] = defaultdict(set)
        # "<all>" aliases: each distinct group list once, with the entities it names; its
        # words go into the same automaton, tagged (alias index, group index).
        all_aliases: dict[tuple[bool, tuple[tuple[str, ...], ...]], set[tuple[int, int]]]
        all_aliases = defaultdict(set)
        for wi, indexed in enumerate(self._lists):
            for ei, entity in enumerate(indexed.entities):
                for term in entity.terms:
                    if isinstance(term, AllWordsAlias):
                        all_aliases[(term.title_only, term.groups)].add((wi, ei))
                    elif isinstance(term, AmountAlias):
                        for key in alias_keys(term.phrase):
                            with_amount[key].add((wi, ei))
                    else:
                        for key in alias_keys(term.text):
                            refs[key].add((wi, ei))
                            keyed.append((key, term.text))
        # an alias written in capitals (US, WHO, IT) names nothing in lower case: "told us"
        self._capital_keys = only_in_capitals(keyed)
        self._with_amount = {key: tuple(sorted(t)) for key, t in with_amount.items()}
        self._all = tuple(
            (len(groups), title_only, tuple(sorted(t)))
            for (title_only, groups), t in all_aliases.items()
        )
        group_refs: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for ai, (_, groups) in enumerate(all_aliases):
            for gi, words in enumerate(groups):
                for word in words:
                    for key in alias_keys(word):
                        group_refs[key].add((ai, gi))
        self._automaton = ahocorasick.Automaton()
        for key in refs.keys() | group_refs.keys():
            targets = tuple(sorted(refs.get(key, ())))
            self._automaton.add_word(key, (key, targets, tuple(sorted(group_refs.get(key, ())))))
        self._empty = not refs and not group_refs
        if not self._empty:
            self._automaton.make_automaton()

    def found(self, article: Article) -> dict[int, dict[int, Hit]]:
        """Entities present in the article: watchlist index -> entity index -> hit."""
        return self._found_in(fold(article.title), fold(article.text), capitals_in(article))

    def _found_in(
        self, title: str, body: str, capitals: frozenset[str]
    ) -> dict[int, dict[int, Hit]]:
        """``found`` on the article's title and text in the one normal form; ``capitals``:
        the words the article writes in capitals, folded."""
        rules = self.rules
        inflections = rules.inflections
        text = f"{title}\n{body}"
        lead_end = len(title) + 1 + LEAD_CHARS
        result: dict[int, dict[int, Hit]] = defaultdict(dict)
        group_words: dict[str, tuple[int, tuple[tuple[int, int], ...]]] = {}  # key -> zone, refs
        for end_index, (key, targets, groups) in () if self._empty else self._automaton.iter(text):
            start = end_index - len(key) + 1
            if (
                groups
                and start < lead_end
                and inflected(text, start, end_index + 1, key, inflections)
            ):
                zone = TITLE if start < len(title) else LEAD
                if key not in group_words or zone < group_words[key][0]:
                    group_words[key] = (zone, groups)
            if not targets or (key in self._capital_keys and key not in capitals):
                continue
            if not on_word_edges(text, start, end_index + 1, key):
                continue
            if inside_word(text, end_index, key, rules.longer_words):
                continue
            zone = TITLE if start < len(title) else LEAD if start < lead_end else BODY
            descriptor = bool(rules.descriptors.match(text, end_index + 1))
            for wi, ei in targets:
                if descriptor and self._lists[wi].entities[ei].type in THREAD_TYPES:
                    continue
                hit = result[wi].get(ei)
                if hit is None:
                    hit = result[wi][ei] = Hit(zone)
                hit.zone = min(hit.zone, zone)
                hit.count += 1
        if self._with_amount:
            self._find_with_amount(text[:lead_end], len(title), result)
        if group_words:
            self._find_all(group_words.values(), result)
        return result

    def _find_all(
        self,
        group_words: Iterable[tuple[int, tuple[tuple[int, int], ...]]],
        result: dict[int, dict[int, Hit]],
    ) -> None:
        """Aliases "<all> ...": a word of every group in the title or lead ("<title>": title)."""
        groups_hit: dict[tuple[int, int], int] = {}  # (alias, group) -> best zone
        for zone, refs in group_words:
            for ref in refs:
                if groups_hit.get(ref, BODY) > zone:
                    groups_hit[ref] = zone
        found = Counter(ai for ai, _ in groups_hit)
        for ai in sorted(found):
            size, title_only, targets = self._all[ai]
            if found[ai] < size:
                continue
            # all in the title, or in title + lead
            zone = max(groups_hit[(ai, gi)] for gi in range(size))
            if title_only and zone != TITLE:
                continue
            for wi, ei in targets:
                hit = result[wi].get(ei)
                # Each group's word is evidence, as a repeated name is.
                if hit is None:
                    result[wi][ei] = Hit(zone, size, combined=True)
                else:
                    hit.zone = min(hit.zone, zone)
                    hit.count += size - 1
                    hit.combined = True

    def _find_with_amount(
        self, head: str, title_end: int, result: dict[int, dict[int, Hit]]
    ) -> None:
        """Aliases "<amount> phrase": the phrase and a money figure both in the title or lead."""
        amount = self.rules.large_amount(head)
        if amount is None:
            return
        for key, targets in self._with_amount.items():
            start = find_bounded(head, key)
            if start < 0:
                continue
            in_title = start < title_end and amount.start() < title_end
            for wi, ei in targets:
                if ei not in result[wi]:
                    result[wi][ei] = Hit(TITLE if in_title else LEAD, 1)

    @property
    def indexed(self) -> tuple[Indexed, ...]:
        return self._lists

    def candidates(self, article: Article) -> list[tuple[Watchlist, Evidence]]:
        """Every baseline the article names something of and may follow up (not before it),
        with the evidence: the input of the relevance model."""
        published = _local_date(article.published)
        # folded once: folding (script conversion above all) is most of the alias pass's cost
        title, body = fold(article.title), fold(article.text)
        headline_list = is_headline_list(article.title, self.rules)  # a title: cheap to fold
        amount = self.rules.large_amount(f"{title}\n{body[:LEAD_CHARS]}") is not None
        result = []
        for wi, hits in sorted(self._found_in(title, body, capitals_in(article)).items()):
            indexed = self._lists[wi]
            if published and indexed.cutoff and published < indexed.cutoff:
                continue
            parts = [contribution(indexed.entities[ei], hit) for ei, hit in hits.items()]
            evidence = Evidence(
                hits=dict(hits),
                rule_score=min(1.0, sum(parts) / indexed.norm),
                rule_topic=is_topic(indexed.entities, hits),
                headline_list=headline_list,
                large_amount=amount,
            )
            result.append((indexed.watchlist, evidence))
        return result

    def match(self, article: Article, vector: Vectors | None = None) -> list[Match]:
        """The baselines this article follows up, best first. ``vector``: the article's
        encoder vector, when the caller encoded a batch of articles at once."""
        if self.judge is not None:
            return self._judged(article, self.judge, vector)
        if is_headline_list(article.title, self.rules):
            return []
        matches = []
        published = _local_date(article.published)
        for wi, hits in self.found(article).items():
            indexed = self._lists[wi]
            if published and indexed.cutoff and published < indexed.cutoff:
                continue
            found = score(indexed, hits)
            if found is not None and found.score >= self.threshold:
                matches.append(found)
        return sorted(matches, key=lambda m: (-m.score, m.baseline_id))

    def match_many(self, articles: Sequence[Article]) -> list[list[Match]]:
        """``match`` for each article. With the learned decision, the articles that name
        something of a baseline are encoded in one call: the encoder costs about a third as
        much per text in a batch as alone."""
        judge = self.judge
        if judge is None:
            return [self.match(article) for article in articles]
        found = [self.candidates(article) for article in articles]
        wanted = [n for n, candidates in enumerate(found) if worth_judging(candidates)]
        by_index: dict[int, Vectors] = {}
        if wanted:
            vectors = judge.encoder.encode([encoded_text(articles[n]) for n in wanted])
            by_index = dict(zip(wanted, vectors, strict=True))
        return [
            self._decided(article, found[n], judge, by_index.get(n))
            for n, article in enumerate(articles)
        ]

    def _judged(self, article: Article, judge: Judge, vector: Vectors | None) -> list[Match]:
        return self._decided(article, self.candidates(article), judge, vector)

    def _decided(
        self,
        article: Article,
        candidates: list[tuple[Watchlist, Evidence]],
        judge: Judge,
        vector: Vectors | None,
    ) -> list[Match]:
        if not worth_judging(candidates):
            return []
        matches = []
        for (watchlist, evidence), decision in zip(
            candidates, judge.decide(article, candidates, vector), strict=True
        ):
            if decision.probability >= judge.model.threshold:
                matches.append(judged_match(watchlist, evidence, decision))
        return sorted(matches, key=lambda m: (-m.score, m.baseline_id))

    def keyword_hits(self, article: Article) -> list[str]:
        """Baselines with any alias in the article: what a plain keyword alert would fire on."""
        return sorted(self._lists[wi].watchlist.baseline.id for wi in self.found(article))


def worth_judging(candidates: Sequence[tuple[Watchlist, Evidence]]) -> bool:
    """Whether an article goes to the relevance model (and the encoder): it names a thread or
    an actor of some baseline. One that names only context (a country, "AI") is a candidate
    the model has never accepted: 0 of 997 such pairs in the labelled sets, where its
    context_only feature weighs most against; skipping it spares a fifth of the encoder calls
    on ordinary news pages (benchmarks/relevance_cost.py)."""
    return any(
        role_of(watchlist.entities[ei]) != "context"
        for watchlist, evidence in candidates
        for ei in evidence.hits
    )


RULES = "rules"


def build(
    watchlists: Sequence[Watchlist],
    relevance_model: str = "",
    threshold: float = 0.5,
    encoder_model: str = "",
    cache_dir: Path | None = None,
) -> Matcher:
    """The matcher the configuration asks for: the learned relevance model (the shipped one,
    or a file ``monitor train`` wrote), or the hand-written rules."""
    if relevance_model == RULES:
        return Matcher(watchlists, threshold)
    model = load_model(relevance_model) if relevance_model else None
    return learned_matcher(watchlists, model, encoder_model, cache_dir)


def learned_matcher(
    watchlists: Sequence[Watchlist],
    model: RelevanceModel | None = None,
    encoder_name: str = "",
    cache_dir: Path | None = None,
) -> Matcher:
    """A Matcher whose decision is the relevance model's (the shipped one by default);
    ``cache_dir`` keeps the baselines' vectors between runs."""
    matcher = Matcher(watchlists)
    rates = background_rates(matcher)
    matcher.judge = make_judge(watchlists, rates, model, encoder_name, cache_dir)
    return matcher


def background_rates(matcher: Matcher) -> dict[str, float]:
    """Per baseline, the share of ordinary news that names one of its subjects: how much an
    alias hit says for this baseline."""
    articles = background_articles()
    counts: Counter[int] = Counter()
    for article in articles:
        counts.update(matcher.found(article).keys())
    return {
        indexed.watchlist.baseline.id: counts[wi] / max(1, len(articles))
        for wi, indexed in enumerate(matcher.indexed)
    }


def _local_date(published: dt.datetime | None) -> dt.date | None:
    # The date the publisher printed: a baseline's date is a calendar day (or month), too.
    return published.date() if published else None
