"""Immutable values that cross stage boundaries. Stages add fields here, never globals."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from monitor.vocabulary import Alias, parse_aliases

# Writing systems an alias can be in.
SCRIPTS = ("en", "zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class Baseline:
    id: str
    title: str
    language: str  # "en", "zh-Hans", "zh-Hant", or any BCP 47 tag
    published: dt.date | None
    path: str  # text file, relative to the watchlists directory
    source_url: str = ""
    author: str = ""
    outlet: str = ""


@dataclass(frozen=True)
class Passage:
    """Where an entity appears in a baseline (1-based paragraph and sentence)."""

    paragraph: int
    sentence: int
    text: str = ""


@dataclass(frozen=True)
class SharedVocabulary:
    """Aliases of a thread that several watchlists follow, written once in aliases.yaml
    (``vocabulary:``) and taken by an entity with ``vocabulary: <name>``."""

    name: str
    aliases: dict[str, tuple[str, ...]]  # script -> aliases, in the alias mini-language


@dataclass(frozen=True)
class Entity:
    name: str  # canonical name, English where one is known
    type: str  # company, person, product, model, policy, body, place, concept
    weight: float  # 0..1, how central to the baseline
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # script -> names
    passages: tuple[Passage, ...] = ()
    reviewed: bool = True  # False: found in the text, unknown to the curated alias data
    # thread (what the article is about), actor (who: a company, person, body), context
    # (where or in what field: a country, "AI"); empty in older files: read from type/weight
    role: str = ""
    # the shared thread vocabulary (aliases.yaml ``vocabulary:``) whose aliases lead ``aliases``
    vocabulary: SharedVocabulary | None = None
    # ``aliases`` typed (name first): what matching reads. Parsed from the text, so a changed
    # copy (dataclasses.replace) is parsed again; a malformed alias is an AliasSyntaxError.
    terms: tuple[Alias, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", parse_aliases(self.name, self.aliases))

    def all_aliases(self) -> tuple[str, ...]:
        names = [self.name]
        for script in self.aliases:
            names.extend(self.aliases[script])
        return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class Thread:
    """A line of development the baseline follows: subjects the same paragraphs develop."""

    name: str
    subjects: tuple[str, ...]  # entity names
    paragraphs: tuple[int, ...] = ()  # 1-based line numbers


ROLES = ("thread", "actor", "context")
# Where an alias hit sits in an article (monitor.match): its title, its lead, the rest.
TITLE, LEAD, BODY = 0, 1, 2
ENTITY_TYPES = ("company", "person", "product", "model", "policy", "body", "place", "concept")


@dataclass(frozen=True)
class Watchlist:
    baseline: Baseline
    entities: tuple[Entity, ...]
    paragraphs: tuple[str, ...] = ()  # the baseline text, one paragraph each, for reasons
    threads: tuple[Thread, ...] = ()


@dataclass(frozen=True)
class Feed:
    url: str  # http(s) URL or a local file path
    name: str = ""
    language: str = ""
    interval_minutes: int = 60
    fetch_pages: bool = True  # False: keep the feed's own text, never fetch entry pages


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL after redirects
    status: int  # 304 means not modified, body empty
    headers: dict[str, str]
    body: bytes
    text: str | None = None  # decoded body, when the fetcher decoded it
    encoding: str | None = None
    permanent_redirect: str | None = None  # the new URL when 301/308 redirects moved it


@dataclass(frozen=True)
class Entry:
    feed_url: str
    guid: str
    link: str
    title: str
    summary: str
    published: dt.datetime | None
    language: str = ""
    author: str = ""


@dataclass(frozen=True)
class Article:
    url: str  # canonical URL
    title: str
    text: str
    language: str
    published: dt.datetime | None
    author: str = ""
    feed_url: str = ""
    source_name: str = ""
    extract_error: str = ""  # why the page text could not be used, if it could not


@dataclass(frozen=True)
class Match:
    baseline_id: str
    score: float
    entities: tuple[str, ...]
    paragraph: int  # the baseline paragraph it follows up (1-based)
    passage: str  # that paragraph's text, or its key sentence
    reason: str
    thread: str = ""  # the baseline thread the article moves on, when the watchlist has threads


@dataclass(frozen=True)
class DigestSource:
    """Another outlet carrying the same story as a digest item."""

    name: str
    url: str  # empty when the source gave no usable http(s) link
    title: str = ""


@dataclass(frozen=True)
class DigestItem:
    """One story in a digest: the best-scoring article, plus the other outlets reporting it."""

    article_id: int
    baseline_id: str
    title: str
    url: str  # http(s) only; empty if the source gave something else
    source: str
    published: dt.datetime | None
    language: str
    extract: str  # a short plain-text excerpt
    reason: str
    score: float
    entities: tuple[str, ...]
    paragraph: int  # the baseline paragraph followed up (1-based)
    passage: str
    passage_url: str  # link to that paragraph on the baseline page
    stored_at: dt.datetime
    matched_at: dt.datetime
    other_sources: tuple[DigestSource, ...] = ()


@dataclass(frozen=True)
class DigestSection:
    """The items following up one baseline."""

    baseline_id: str
    baseline_title: str
    baseline_url: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class FollowedBaseline:
    """One baseline a story follows up: why (the thread), and the passage followed, once."""

    baseline_id: str
    baseline_title: str
    baseline_url: str  # the baseline's "what happened since" page
    paragraph: int  # 1-based; 0 when the match named none
    passage: str  # the passage as shown (a title-only or too-short passage is widened)
    passage_url: str
    why: str  # the reason without the passage it quotes
    score: float


@dataclass(frozen=True)
class DigestStory:
    """One development, shown once: its best report, every baseline it follows up (best
    first), and the other outlets (any language) that reported it."""

    lead: DigestItem
    baselines: tuple[FollowedBaseline, ...]
    other_sources: tuple[DigestSource, ...] = ()

    @property
    def score(self) -> float:
        return max((b.score for b in self.baselines), default=self.lead.score)


@dataclass(frozen=True)
class FeedHealth:
    """How one feed is doing, for `monitor feeds list` and the digest's attention section."""

    url: str
    name: str
    status: str  # "ok", "failing", "disabled" (410, or 404 again and again), "new" (never polled)
    last_success_at: dt.datetime | None
    last_polled_at: dt.datetime | None
    failing_since: dt.datetime | None
    consecutive_failures: int
    last_status: int | None
    last_error: str
    next_poll_at: dt.datetime | None
    articles_7d: int


@dataclass(frozen=True)
class Digest:
    kind: str  # "daily" or "alert"
    key: str  # the local day (YYYY-MM-DD) or the alert batch key
    title: str
    start: dt.datetime  # window, UTC, half-open [start, end)
    end: dt.datetime
    timezone: str
    sections: tuple[DigestSection, ...]
    stories: tuple[DigestStory, ...] = ()  # the same follow-ups, one entry per development
    attention: tuple[FeedHealth, ...] = ()  # feeds failing for more than a day
    so_far: bool = False  # a day still running (the served digest.html of today)

    @property
    def empty(self) -> bool:
        return not self.sections

    @property
    def item_count(self) -> int:
        return sum(len(section.items) for section in self.sections)

    @property
    def baseline_count(self) -> int:
        return len({b.baseline_id for story in self.stories for b in story.baselines})


@dataclass(frozen=True)
class DeliveryReport:
    """What one send_pending_digests or send_alerts call did."""

    built: tuple[str, ...] = ()  # keys of digests recorded in the outbox
    sent: tuple[str, ...] = ()  # keys sent
    failed: tuple[tuple[str, str], ...] = ()  # (key, error) left pending
    skipped: tuple[str, ...] = ()  # empty days not sent (digest_skip_empty)
    written: tuple[str, ...] = ()  # files written
    unconfirmed: tuple[str, ...] = ()  # claimed for sending, the server's answer not recorded


@dataclass(frozen=True)
class FeedState:
    """A feed's poll schedule as stored: where it is now, when it is next due, and why it
    last failed. ``origin_url`` is the URL as the feeds file lists it; ``url`` follows
    permanent redirects."""

    url: str
    origin_url: str
    name: str = ""
    language: str = ""
    interval_minutes: int = 60
    last_success_at: dt.datetime | None = None
    failing_since: dt.datetime | None = None  # first failure since the last success
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: dt.datetime | None = None
    last_polled_at: dt.datetime | None = None
    last_status: int | None = None
    error_count: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None  # why it is no longer polled (410 Gone, 404s)


@dataclass(frozen=True)
class KnownName:
    """One entry of the curated alias data (watchlists/aliases.yaml)."""

    name: str  # canonical English name
    type: str  # as Entity.type
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # script -> names
    mentions: tuple[str, ...] = ()  # find it in a baseline, too ambiguous to match news with
    max_weight: float = 1.0  # cap for names so common they say little on their own
    parent: str = ""  # the company behind a product or model; its mentions count for it too


@dataclass(frozen=True)
class AliasData:
    names: tuple[KnownName, ...] = ()
    ignore: tuple[str, ...] = ()  # text found in baselines that is never an entity
    vocabulary: tuple[SharedVocabulary, ...] = ()  # thread vocabulary shared by watchlists


@dataclass(frozen=True)
class FeedOutcome:
    """What one poll did to one feed."""

    url: str
    name: str
    status: str  # "new" (200, parsed), "unchanged" (304), "failed"
    new: int = 0  # articles stored for the first time
    entries: int = 0  # entries in the feed
    seen: int = 0  # entries already handled before (or another source of a stored article)
    error: str = ""  # why it failed
    warning: str = ""  # an ill-formed feed that still gave entries
    next_poll_at: dt.datetime | None = None


@dataclass(frozen=True)
class PollReport:
    feeds: tuple[FeedOutcome, ...] = ()
    article_ids: tuple[int, ...] = ()  # the articles this poll stored (new ones only)
    follow_ups: int = 0  # follow-ups of those articles when the poll ended
    pages_fetched: int = 0  # pages whose text replaced the feed's (earlier polls' included)
    pages_waiting: int = 0  # pages left for a later poll (time or host budget spent)

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.feeds)

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        return tuple(outcome for outcome in self.feeds if outcome.status == "failed")

    @property
    def unchanged(self) -> tuple[FeedOutcome, ...]:
        return tuple(outcome for outcome in self.feeds if outcome.status == "unchanged")


@dataclass(frozen=True)
class IngestReport:
    """What one ingest_entries call did."""

    new: int = 0  # articles stored
    duplicates: int = 0  # entries that were another source of a stored article
    page_failures: int = 0  # entries kept with the feed's own text (reason on the article)
    new_by_feed: dict[str, int] = field(default_factory=dict)
    article_ids: tuple[int, ...] = ()  # ids of the articles stored by this call
    # Pages left for a later poll, per feed (PageBudget); their articles are stored already,
    # with the feed's own text, and get the page's when it comes.
    deferred_by_feed: dict[str, int] = field(default_factory=dict)
    pages_fetched: int = 0  # pages whose text replaced the feed's


# What Passage numbers count, for every stage that writes or reads them: paragraph N is line N
# of the baseline file (blank lines count), and a sentence ends as below.
# abbreviated titles before a name: "Republican Gov. Eric Holcomb" is one sentence
TITLE_ABBREVIATIONS = "Mr Mrs Ms Dr Prof Gov Sen Rep Gen Lt Col Maj Capt Sgt Adm Rev St".split()
SENTENCE_END = re.compile(
    r"(?<=[。！？])(?![”」』’\"）)])"  # after a Chinese full stop, unless a closing quote follows
    r"|(?<=[。！？][”」』’\"）)])"  # or after that closing quote
    r"|(?<=[!?])(?=[^\s!?”」』’\"）)])"  # half-width ! ? inside Chinese text
    # Latin stops before a space, but not U.S., J. Smith or Gov. Holcomb
    r"|(?<![\s.][A-Z]\.)"
    + "".join(rf"(?<!\b{t}\.)" for t in TITLE_ABBREVIATIONS)
    + r"(?<=[.!?])\s+"
    r"|(?<=[.!?][\"'”’)])\s+"
)


def split_paragraphs(text: str) -> tuple[str, ...]:
    """One paragraph per line; blank lines stay (empty) so the numbering is the line number."""
    lines = [line.strip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines)


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(paragraph) if s and s.strip()]
