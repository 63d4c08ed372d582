"""Watchlists: derive them from the baselines, check them, add a baseline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from monitor.baseline_index import baseline_id_problem
from monitor.baseline_text import is_binary, printable
from monitor.config import Settings
from monitor.derive import derive, merge, slug, text_from_markdown, text_from_plain
from monitor.errors import (
    FetchError,
    WatchlistError,
)
from monitor.extract import Extractor, detect_language
from monitor.fetch import FetchRequest, decode_page, fetch_one
from monitor.models import (
    AliasData,
    Article,
    Baseline,
    Watchlist,
    split_paragraphs,
)
from monitor.watchlist import (
    append_baseline_entry,
    check_watchlists,
    load_aliases,
    load_baseline_index,
    load_watchlist,
    other_yaml_files,
    write_watchlist,
)

# --- watchlists: derive, check, add a baseline ----------------------------------------

DERIVED_DIR = ".derived"  # what derivation last wrote, per baseline: the base of the merge
WATCHLIST_HEADER = (
    "Watchlist of one baseline article, written by `monitor watchlist derive`.",
    "Edit freely: a re-derive keeps your changes (see watchlists/README.md).",
)


@dataclass(frozen=True)
class DeriveReport:
    baseline_id: str
    path: Path
    entities: int
    unreviewed: tuple[str, ...]  # names the curated alias data does not know
    merged: bool  # True when an existing (possibly hand-edited) file was merged into


@dataclass(frozen=True)
class WatchlistCheck:
    watchlists: tuple[Watchlist, ...]
    problems: tuple[str, ...]  # "file:line: field: problem"
    not_watchlists: tuple[str, ...]  # other YAML files in the directory (feed lists)
    missing: tuple[str, ...]  # baselines in index.yaml without a watchlist yet


def derive_watchlists(
    settings: Settings, baseline_id: str | None = None, *, only_missing: bool = False
) -> list[DeriveReport]:
    """Derive (or re-derive, merging hand edits) the watchlist of each baseline in index.yaml."""
    directory = Path(settings.watchlists_dir)
    baselines = load_baseline_index(directory / "baselines" / "index.yaml")
    if baseline_id is not None:
        baselines = [b for b in baselines if b.id == baseline_id]
        if not baselines:
            raise WatchlistError(
                f"no baseline {baseline_id!r} in {directory / 'baselines' / 'index.yaml'}",
                hint="`monitor baseline add PATH_OR_URL` adds one",
            )
    if only_missing:
        baselines = [b for b in baselines if not (directory / f"{b.id}.yaml").exists()]
    if not baselines:
        return []
    aliases = load_aliases(directory / "aliases.yaml")
    return [_derive_one(directory, baseline, aliases) for baseline in baselines]


def ensure_watchlists(settings: Settings) -> list[DeriveReport]:
    """Derive the watchlist of every baseline that has none yet; others are left alone."""
    return derive_watchlists(settings, only_missing=True)


def _derive_one(directory: Path, baseline: Baseline, aliases: AliasData) -> DeriveReport:
    text_path = directory / baseline.path
    try:
        text = text_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"cannot read baseline {baseline.id}: {text_path}: {exc}") from exc
    fresh = derive(baseline, text, aliases)
    path = directory / f"{baseline.id}.yaml"
    snapshot = directory / DERIVED_DIR / f"{baseline.id}.yaml"
    current = load_watchlist(path, base_dir=directory) if path.exists() else None
    previous = None
    if current is not None and snapshot.exists():
        try:
            previous = load_watchlist(snapshot, base_dir=directory)
        except WatchlistError:
            previous = None  # a damaged memory only makes the merge more conservative
    merged = merge(current, previous, fresh)
    write_watchlist(path, merged, WATCHLIST_HEADER)
    snapshot.parent.mkdir(exist_ok=True)
    write_watchlist(
        snapshot, fresh, ("What derivation last produced; the base of the next merge.",)
    )
    return DeriveReport(
        baseline_id=baseline.id,
        path=path,
        entities=len(merged.entities),
        unreviewed=tuple(e.name for e in merged.entities if not e.reviewed),
        merged=current is not None,
    )


def check_all_watchlists(settings: Settings) -> WatchlistCheck:
    """Validate every watchlist (and the alias and index files) without stopping at the first
    problem."""
    directory = Path(settings.watchlists_dir)
    problems: list[str] = []
    for check in (
        lambda: load_aliases(directory / "aliases.yaml"),
        lambda: load_baseline_index(directory / "baselines" / "index.yaml"),
    ):
        try:
            check()
        except WatchlistError as exc:
            problems.append(str(exc))
    good, bad = check_watchlists(directory)
    problems.extend(bad)
    try:
        listed = load_baseline_index(directory / "baselines" / "index.yaml")
    except WatchlistError:
        listed = []
    missing = tuple(b.id for b in listed if not (directory / f"{b.id}.yaml").exists())
    return WatchlistCheck(
        watchlists=tuple(good),
        problems=tuple(problems),
        not_watchlists=tuple(str(p) for p in other_yaml_files(directory)),
        missing=missing,
    )


@dataclass(frozen=True)
class Credits:
    """What the user tells about a baseline that its text may not: when it was published (the
    date rule keeps earlier news out of its follow-ups), its outlet and its author (their
    names are the article's credit line, not its subjects). Given values win over the page's."""

    published: dt.date | None = None
    outlet: str = ""
    author: str = ""


def add_baseline(
    settings: Settings, source: str, baseline_id: str | None = None, credits: Credits = Credits()
) -> DeriveReport:
    """Copy a user's article (a local txt / md / html file, or a URL) into the baselines, list it
    in index.yaml and derive its watchlist."""
    directory = Path(settings.watchlists_dir)
    index_path = directory / "baselines" / "index.yaml"
    if baseline_id is not None and (problem := baseline_id_problem(baseline_id)):
        raise WatchlistError(problem, hint="choose another with --id")
    article = _baseline_article(source, settings)
    if len(article.text.strip()) < 20:
        raise WatchlistError(f"no article text found in {source}", hint="try a txt or md copy")
    is_url = source.startswith(("http://", "https://"))
    fallback = source.rstrip("/").rsplit("/", 1)[-1] if is_url else Path(source).stem
    new_id = baseline_id or slug(article.title, fallback="") or slug(fallback)
    if problem := baseline_id_problem(new_id):
        raise WatchlistError(problem, hint="choose one with --id")
    taken = {b.id for b in load_baseline_index(index_path)}
    if new_id in taken:
        raise WatchlistError(
            f"baseline id {new_id!r} is already in {index_path}",
            hint="choose another with --id",
        )
    file_name = f"{new_id}.{article.language}.txt"
    (directory / "baselines").mkdir(parents=True, exist_ok=True)
    text = article.text.rstrip("\n") + "\n"
    (directory / "baselines" / file_name).write_text(text, encoding="utf-8")
    entry = {"id": new_id, "file": file_name, "language": article.language, "title": article.title}
    published = credits.published or (article.published.date() if article.published else None)
    if published:
        entry["published"] = published.isoformat()
    if author := credits.author.strip() or article.author:
        entry["author"] = author
    if outlet := credits.outlet.strip():
        entry["outlet"] = outlet
    if is_url:
        entry["source_url"] = source
    append_baseline_entry(index_path, entry)
    return derive_watchlists(settings, new_id)[0]


def _baseline_article(source: str, settings: Settings) -> Article:
    """A local file or a URL read the way feeds and pages are (fetch decodes any charset):
    Markdown and plain text as they are, HTML through the article extractor."""
    try:
        fetched = fetch_one(FetchRequest(source, trusted=True), settings)
    except FetchError as exc:
        raise WatchlistError(f"cannot read {source}: {exc}", hint="check the path or URL") from exc
    kind = fetched.headers.get("content-type", "").lower()
    content = fetched.text if fetched.text is not None else decode_page(fetched.body, kind)[0]
    if is_binary(content):
        raise WatchlistError(
            f"{source} is not text ({kind or 'unknown type'})",
            hint="give the article as a txt, md or html file, or its URL",
        )
    content = printable(content)
    if "markdown" in kind or fetched.url.lower().endswith((".md", ".markdown")):
        title, text = text_from_markdown(content)
    elif kind.startswith("text/plain"):
        title, text = text_from_plain(content)
    else:
        page = Extractor(settings).extract(dataclasses.replace(fetched, text=content))
        title, text = page.title, "\n".join(p for p in split_paragraphs(page.text) if p)
        return dataclasses.replace(page, url=source, title=title, text=text)
    return Article(source, title, text, detect_language(text), None)


@dataclass(frozen=True)
class BaselineInfo:
    """One baseline for `monitor baseline list`."""

    baseline: Baseline
    watchlist: Path | None  # None: not derived yet
    entities: int


def list_baselines(settings: Settings) -> list[BaselineInfo]:
    """The baselines of index.yaml, each with its watchlist file and entity count."""
    directory = Path(settings.watchlists_dir)
    out = []
    for baseline in load_baseline_index(directory / "baselines" / "index.yaml"):
        path = directory / f"{baseline.id}.yaml"
        entities = len(load_watchlist(path).entities) if path.is_file() else 0
        out.append(BaselineInfo(baseline, path if path.is_file() else None, entities))
    return out


REMOVED_DIR = ".removed"  # where `baseline remove` moves a baseline's files: nothing is lost


def _index_without(text: str, baseline_id: str) -> str | None:
    """index.yaml's text without the list item whose id is ``baseline_id`` (comments and
    the other items untouched), or None when no item has that id."""
    lines = text.splitlines(keepends=True)
    starts = [n for n, line in enumerate(lines) if re.match(r"^\s*- ", line)]
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        block = "".join(lines[start:end])
        try:
            item = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        if isinstance(item, list) and item and isinstance(item[0], dict):
            if str(item[0].get("id")) == baseline_id:
                while end > start and lines[end - 1].lstrip().startswith("#"):
                    end -= 1  # a comment just before the next item belongs to it
                return "".join(lines[:start] + lines[end:])
    return None


def remove_baseline(settings: Settings, baseline_id: str) -> list[Path]:
    """Stop following a baseline: its index.yaml entry goes, and its text and watchlist
    files move to <watchlists>/.removed/ (returned). Stored follow-ups stay in the database."""
    directory = Path(settings.watchlists_dir)
    index_path = directory / "baselines" / "index.yaml"
    known = {b.id: b for b in load_baseline_index(index_path)}
    if baseline_id not in known:
        raise WatchlistError(
            f"no baseline {baseline_id!r} in {index_path}",
            hint="`monitor baseline list` shows the ids",
        )
    remaining = _index_without(index_path.read_text(encoding="utf-8"), baseline_id)
    if remaining is None:
        raise WatchlistError(f"cannot find the entry of {baseline_id!r} in {index_path}")
    tmp = index_path.with_name(f".{index_path.name}.tmp")
    tmp.write_text(remaining, encoding="utf-8")
    if {b.id for b in load_baseline_index(tmp)} != set(known) - {baseline_id}:
        tmp.unlink()
        raise WatchlistError(f"cannot remove {baseline_id!r} from {index_path} cleanly")
    tmp.replace(index_path)
    moved = []
    removed = directory / REMOVED_DIR
    for path, name in (
        (directory / known[baseline_id].path, Path(known[baseline_id].path).name),
        (directory / f"{baseline_id}.yaml", f"{baseline_id}.yaml"),
        (directory / DERIVED_DIR / f"{baseline_id}.yaml", f"{baseline_id}.derived.yaml"),
    ):
        if path.is_file():
            removed.mkdir(parents=True, exist_ok=True)
            path.replace(removed / name)
            moved.append(removed / name)
    return moved
