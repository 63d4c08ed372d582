"""The matcher: folding, alias search, topic-aware scoring, dates and reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.match import Matcher
from monitor.models import Article, Baseline, Entity, Passage, Watchlist
from monitor.text import fold
from monitor.vocabulary import AllWordsAlias, parse_alias

PARAGRAPHS = (
    "芯片出口管制的来龙去脉。",
    "美国公司Nvidia和AMD主导数据中心GPU市场。",
    "2022年，拜登政府推出了出口管制，禁止向中国出售尖端芯片。随后英伟达推出了中国特供的H20。",
)


def entity(name: str, type_: str, weight: float, para: int, sentence: int = 1, **aliases: str):
    scripts = {key.replace("_", "-"): tuple(value.split("|")) for key, value in aliases.items()}
    return Entity(name, type_, weight, scripts, (Passage(para, sentence),))


def watchlist(published: dt.date | None = dt.date(2025, 1, 1)) -> Watchlist:
    baseline = Baseline("chips", "芯片限制", "zh-Hans", published, "baselines/chips.txt")
    entities = (
        entity("Nvidia", "company", 0.6, 2, en="Nvidia|NVIDIA", zh_Hans="英伟达", zh_Hant="輝達"),
        entity("AMD", "company", 0.4, 2, en="AMD"),
        entity("Meta", "company", 0.4, 2, en="Meta"),
        entity("H20", "product", 0.8, 3, 2, en="H20"),
        entity("export controls", "policy", 0.9, 3, en="export controls", zh_Hans="出口管制"),
        entity("China", "place", 0.2, 3, en="China", zh_Hans="中国"),
    )
    return Watchlist(baseline, entities, PARAGRAPHS)


def article(title: str, text: str = "", published: str | None = "2025-06-01T08:00:00+00:00"):
    when = dt.datetime.fromisoformat(published) if published else None
    return Article("https://example.com/a", title, text, "en", when)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher([watchlist()], threshold=0.5)


def test_fold_maps_traditional_full_width_and_case_to_one_form():
    assert fold("輝達") == fold("英偉達") == fold("英伟达")
    assert fold("ＮＶＩＤＩＡ　Ｈ２０") == "nvidia h20"
    assert fold("晶片") == fold("芯片")


WRITINGS = ["輝達", "輝达", "英伟达", "英偉達", "Nvidia", "NVIDIA", "ＮＶＩＤＩＡ"]


@pytest.mark.parametrize("name", WRITINGS)
def test_every_writing_of_nvidia_finds_the_same_entity(matcher: Matcher, name: str):
    found = matcher.found(article(f"{name}的H20芯片受出口管制"))
    names = {matcher._lists[0].entities[ei].name for ei in found[0]}
    assert "Nvidia" in names


def test_latin_alias_needs_word_boundaries(matcher: Matcher):
    found = matcher.found(article("AMDOCS updates its metadata tools", "Nvidia H200 export"))
    names = {matcher._lists[0].entities[ei].name for ei in found.get(0, {})}
    assert "AMD" not in names
    assert "Meta" not in names
    assert "H20" not in names  # H200 is another chip
    found = matcher.found(article("AMD and Meta's GPUs", ""))
    names = {matcher._lists[0].entities[ei].name for ei in found[0]}
    assert {"AMD", "Meta"} <= names


def test_latin_alias_is_found_inside_chinese_text(matcher: Matcher):
    found = matcher.found(article("英伟达H20芯片恢复对华销售"))
    names = {matcher._lists[0].entities[ei].name for ei in found[0]}
    assert {"Nvidia", "H20"} <= names


def test_article_about_the_thread_matches_with_reason(matcher: Matcher):
    matches = matcher.match(article("US tightens export controls on Nvidia H20 sales to China"))
    assert [m.baseline_id for m in matches] == ["chips"]
    match = matches[0]
    assert match.score >= 0.5
    assert {"export controls", "H20", "Nvidia"} <= set(match.entities)
    assert match.paragraph == 3
    assert "follows para 3 of 芯片限制" in match.reason
    assert "禁止向中国出售尖端芯片" in match.passage
    assert match.reason.startswith("export controls, H20, Nvidia: ")
    assert match.reason.endswith("“2022年，拜登政府推出了出口管制，禁止向中国出售尖端芯片。”")


def test_passing_mention_does_not_match(matcher: Matcher):
    review = article(
        "Nvidia GeForce RTX review: the best gaming card of the year",
        "We tested the card in twelve games. " * 20 + "Nvidia also faces export controls.",
    )
    assert matcher.match(review) == []


def test_name_alone_is_not_a_topic(matcher: Matcher):
    assert matcher.match(article("Nvidia and AMD shares rise")) == []


def test_article_published_before_the_baseline_does_not_follow_it(matcher: Matcher):
    title = "US export controls on Nvidia H20 to China"
    early = article(title, published="2024-12-31T23:00:00+00:00")
    same_month = article(title, published="2025-01-02T00:00:00+00:00")
    assert matcher.match(early) == []
    assert matcher.match(same_month) != []


def test_undated_article_is_judged_on_its_text(matcher: Matcher):
    assert matcher.match(article("US export controls on Nvidia H20", published=None)) != []


def test_threshold_is_respected():
    strict = Matcher([watchlist()], threshold=0.99)
    assert strict.match(article("Export controls on Nvidia H20", "")) == []


def test_matcher_without_aliases_matches_nothing():
    assert Matcher([]).match(article("US export controls on Nvidia H20")) == []


def test_central_names_only_deep_in_the_text_are_a_passing_mention():
    lenient = Matcher([watchlist()], threshold=0.1)
    body = "The ministers discussed farm quotas and fishing rights at length. " * 4
    buried = article("Trade ministers meet in Geneva", body + "H20 export controls came up.")
    assert lenient.match(buried) == []
    led = article("Trade ministers meet in Geneva", "H20 export controls came up. " + body)
    assert [m.baseline_id for m in lenient.match(led)] == ["chips"]


@pytest.mark.parametrize(
    "title",
    [
        "美股开盘：三大指数集体低开，英伟达H20受出口管制",
        "美股開盤／三大指數低開，輝達H20受出口管制",
        "午评：沪指半日跌1.6% 英伟达H20出口管制概念股走低",
        "氪星晚报｜英伟达H20受出口管制；另一条新闻",
        "派早报：英伟达H20受出口管制、另一条新闻等",
    ],
)
def test_a_market_wrap_or_headline_list_is_not_a_follow_up(matcher: Matcher, title: str):
    assert matcher.match(article(title, "英伟达的H20芯片受出口管制。")) == []


def test_a_listing_debut_is_not_taken_for_a_market_wrap(matcher: Matcher):
    found = matcher.match(article("英伟达H20受出口管制，中国GPU厂商港股上市首日高开"))
    assert [m.baseline_id for m in found] == ["chips"]


@pytest.mark.parametrize(
    "title",
    [
        "出口管制概念股走高，英伟达、AMD涨超3%",
        "Export controls stocks rally as Nvidia and AMD rise",
    ],
)
def test_a_thread_term_naming_a_sector_of_stocks_is_not_the_thread(matcher: Matcher, title: str):
    assert matcher.match(article(title)) == []


def test_the_same_names_with_the_thread_itself_match(matcher: Matcher):
    found = matcher.match(article("出口管制收紧，英伟达、AMD股价走低"))
    assert [m.baseline_id for m in found] == ["chips"]


def investment_watchlist() -> Watchlist:
    baseline = Baseline("capex", "AI投资", "zh-Hans", dt.date(2025, 1, 1), "baselines/capex.txt")
    entities = (
        entity(
            "AI capex",
            "concept",
            0.75,
            1,
            en="<amount> data centre|AI capex",
            zh_Hans="<amount> 数据中心",
        ),
        entity("OpenAI", "company", 0.4, 1, en="OpenAI"),
        entity("Oracle", "company", 0.4, 1, en="Oracle", zh_Hans="甲骨文"),
    )
    return Watchlist(baseline, entities, ("AI投资的规模。",))


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Oracle data centre setback", "A backer pulls out of the $10bn project for OpenAI"),
        ("甲骨文为OpenAI建设数据中心", "项目总投资达3000亿美元"),
        ("甲骨文为OpenAI建设数据中心", "项目总投资280多亿美元"),
    ],
)
def test_a_billion_figure_next_to_the_phrase_counts_as_the_thread(title: str, lead: str):
    found = Matcher([investment_watchlist()]).match(article(title, lead))
    assert [m.baseline_id for m in found] == ["capex"]
    assert found[0].entities[0] == "AI capex"


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Oracle data centre setback", "A backer pulls out of the project for OpenAI"),
        ("甲骨文为OpenAI建设数据中心", "拟募资不超9.84亿元"),
        ("OpenAI and Oracle raise $10bn", "The money goes to research"),
    ],
)
def test_the_phrase_without_a_billion_figure_or_the_figure_alone_is_not_the_thread(
    title: str, lead: str
):
    matcher = Matcher([investment_watchlist()])
    assert matcher.match(article(title, lead)) == []
    assert "<amount> data centre" not in {fold(k) for k in matcher._automaton.keys()}


def test_an_alias_opening_a_longer_word_is_not_found():
    chip_war = entity("chip war", "concept", 0.8, 1, zh_Hans="芯片战")
    baseline = Baseline("war", "芯片战", "zh-Hans", dt.date(2025, 1, 1), "baselines/war.txt")
    matcher = Matcher([Watchlist(baseline, (chip_war,), ("芯片战。",))])
    assert matcher.found(article("英伟达的芯片战略")) == {}
    assert matcher.found(article("中美芯片战升级"))[0]


EXPORTS = "<all> export|出口 + chip|semiconductor|芯片 + China|中国"


def all_words_watchlist() -> Watchlist:
    baseline = Baseline("all", "出口管制", "zh-Hans", dt.date(2025, 1, 1), "baselines/all.txt")
    entities = (
        Entity("export controls", "policy", 0.9, {"en": (EXPORTS,)}, (Passage(3, 1),)),
        entity("China", "place", 0.2, 3, en="China", zh_Hans="中国"),
    )
    return Watchlist(baseline, entities, PARAGRAPHS)


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("U.S. Pauses Exports of Airplane and Semiconductor Technology to China", ""),
        ("Washington stops exporting chips", "The rules cover sales to China from Monday."),
        ("美國暫停對中國出口半導體與晶片技術", ""),
    ],
)
def test_a_word_of_every_group_in_the_title_or_lead_names_the_thread(title: str, lead: str):
    matcher = Matcher([all_words_watchlist()])
    assert 0 in matcher.found(article(title, lead))[0]


def test_a_headline_telling_the_thread_in_ordinary_words_matches():
    matcher = Matcher([all_words_watchlist()])
    title = "U.S. Pauses Exports of Airplane and Semiconductor Technology to China"
    assert [m.baseline_id for m in matcher.match(article(title))] == ["all"]


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("China's exports rose in May", "Car and solar shipments led the rise."),
        ("Chip exports rose in May", "Shipments to Korea led the rise."),
        ("Exporters of chipboard to China", ""),
        ("China exports more", "Lead text. " * 20 + "Semiconductor sales come last."),
    ],
)
def test_a_missing_group_or_a_word_outside_title_and_lead_is_not_the_thread(title: str, lead: str):
    matcher = Matcher([all_words_watchlist()])
    assert 0 not in matcher.found(article(title, lead)).get(0, {})


def test_all_words_in_the_title_count_as_a_title_hit():
    matcher = Matcher([all_words_watchlist()])
    assert matcher.found(article("Chip exports to China paused"))[0][0].zone == 0
    assert matcher.found(article("Chip exports paused", "China is the target."))[0][0].zone == 1


def test_all_words_alias_is_not_searched_as_a_literal_phrase():
    matcher = Matcher([all_words_watchlist()])
    assert fold(EXPORTS) not in set(matcher._automaton.keys())


def reshoring_watchlist(alias: str) -> Watchlist:
    baseline = Baseline("fabs", "回流", "zh-Hans", dt.date(2025, 1, 1), "baselines/fabs.txt")
    entities = (
        Entity("reshoring", "concept", 0.75, {"en": (alias,)}, (Passage(3, 1),)),
        entity("United States", "place", 0.2, 3, en="U.S.", zh_Hans="美国"),
        entity("semiconductors", "concept", 0.25, 3, en="chip|chips"),
        entity("Export controls", "policy", 0.9, 3, en="export controls"),
    )
    return Watchlist(baseline, entities, PARAGRAPHS)


RESHORING = "chip|芯片 + production|生产 + U.S.|美国"


def test_a_title_alias_needs_every_group_in_the_title():
    matcher = Matcher([reshoring_watchlist(f"<title> {RESHORING}")])
    assert 0 in matcher.found(article("Taiwan shifts chip production to U.S."))[0]
    lead = "Taiwan will shift more of its chip production to the U.S."
    assert 0 not in matcher.found(article("Taiwan pushes back", lead)).get(0, {})


def test_every_group_in_the_title_makes_a_thread_term_of_anchor_weight_a_topic():
    title = "Taiwan Pushes Back on Idea of Shifting More Chip Production to U.S."
    told = Matcher([reshoring_watchlist(f"<title> {RESHORING}")])
    assert [m.baseline_id for m in told.match(article(title))] == ["fabs"]
    # The same weight named by one phrase is not enough on its own.
    named = Matcher([reshoring_watchlist("chip production")])
    assert named.match(article(title)) == []


def test_word_groups_keep_a_plus_inside_a_word():
    term = parse_alias("<all> AI+|人工智能+ + plan")
    assert term == AllWordsAlias((("AI+", "人工智能+"), ("plan",)))
    assert parse_alias("<title> chip + U.S.") == AllWordsAlias((("chip",), ("U.S.",)), True)


def test_context_entities_together_do_not_outvote_the_thread_for_the_passage():
    baseline = Baseline("chips", "芯片限制", "zh-Hans", dt.date(2025, 1, 1), "baselines/chips.txt")
    countries = ("China", "Japan", "India", "France", "Korea", "Germany", "Brazil", "Canada")
    entities = (
        entity("export controls", "policy", 0.6, 3, en="export controls"),
        entity("Nvidia", "company", 0.6, 3, en="Nvidia"),
        *(entity(name, "place", 0.2, 1, en=name) for name in countries),
    )
    only = Matcher([Watchlist(baseline, entities, PARAGRAPHS)], threshold=0.3)
    named = ", ".join(countries)
    story = article(f"Export controls on Nvidia: {named} answer", f"{named} weigh their answer.")
    [match] = only.match(story)
    assert match.paragraph == 3


def test_a_space_between_chinese_and_latin_does_not_hide_an_alias():
    baseline = Baseline("ascend", "昇腾", "zh-Hans", dt.date(2025, 1, 1), "baselines/a.txt")
    ascend = (
        entity("Ascend 910C", "product", 0.9, 1, zh_Hans="昇腾910C", zh_Hant="昇騰910C"),
        entity("Ascend 950", "product", 0.9, 1, zh_Hans="昇腾950"),
    )
    found = Matcher([Watchlist(baseline, ascend, PARAGRAPHS)]).found
    assert 0 in found(article("华为昇腾 910C 开始量产"))[0]
    assert 0 in found(article("華為昇騰 910C 開始量產"))[0]
    # a real headline (readhub, 2026-04-29) writes the space too
    assert 1 in found(article("DeepSeek V4 发布引爆需求，大厂争相订购华为昇腾 950 芯片"))[0]
    assert fold("华为昇腾 910C") == fold("華為昇騰910C") == fold("华为昇腾910c")


def test_an_alias_in_capitals_names_nothing_written_in_lower_case():
    """US is the United States; "us" is not (a press gaggle of 2025: "a lot of love for all of
    us"), nor is "who" the WHO. The acronym in a headline or in full-width letters is."""
    baseline = Baseline("trade", "Trade", "en", None, "baselines/trade.txt")
    entities = (
        entity("United States", "place", 0.8, 1, en="United States|US|U.S."),
        entity("WHO", "body", 0.6, 1, en="WHO", zh_Hans="世界卫生组织"),
        entity("AMD", "company", 0.4, 2, en="AMD"),
    )
    capitals = Matcher([Watchlist(baseline, entities, ("Trade.", "Chips."))])

    def names(title: str, text: str = "") -> set[str]:
        found = capitals.found(article(title, text))
        return {entities[ei].name for ei in found.get(0, {})}

    gaggle = "It’s going wild outside with a lot of love for all of us, I guess."
    assert names("Press Gaggle by President Trump", gaggle) == set()
    assert names("Those who eat sugar every day") == set()
    assert names("US tariffs on chips", "The WHO said") == {"United States", "WHO"}
    assert names("ＡＭＤ与世界卫生组织") == {"AMD", "WHO"}
