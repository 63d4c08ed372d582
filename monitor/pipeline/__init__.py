"""The only orchestrator: it does the I/O around the pure stages and decides nothing itself.

    poll       poll_due_feeds(now): due feeds -> fetch -> parse -> ingest; one feed's failure
               is recorded, not raised
    ingest     entries -> stored from the feed's text -> pages fetched -> extract -> dedupe ->
               match -> stored again (monitor.entries decides each article)
    deliver    send_pending_digests(now), send_alerts(now): build -> outbox -> SMTP -> mark sent;
               write_outputs(now): RSS/Atom and the digest and baseline pages
    cycle      poll_cycle(now), digest_cycle(now), run_once(now): what the service's ticks
               and `monitor run --once` run
    backfill   backfill(start, end): the same steps with a past `now`
    baselines  derive, check and add baselines and their watchlists
    rematch    rematch(now): the configured matcher over stored articles, new follow-ups kept

Callers use ``monitor.pipeline.<name>``; the modules import each other only downwards
(baselines <- ingest <- poll, deliver <- outputs, backfill, cycle, rematch).
"""

from __future__ import annotations

from monitor.pipeline.backfill import (
    BackfillProgress,
    BackfillReport,
    backfill,
    backfill_digests,
    backfill_entries,
    run_backfill,
)
from monitor.pipeline.backfill_units import BackfillSource
from monitor.pipeline.baselines import (
    BaselineInfo,
    Credits,
    DeriveReport,
    WatchlistCheck,
    add_baseline,
    check_all_watchlists,
    derive_watchlists,
    ensure_watchlists,
    list_baselines,
    remove_baseline,
)
from monitor.pipeline.cycle import CycleReport, digest_cycle, poll_cycle, run_once
from monitor.pipeline.deliver import (
    build_daily_digest,
    deliver_pending,
    digest_for_day,
    feed_health,
    list_feeds,
    make_server,
    record_digest,
    send_alerts,
    send_pending_digests,
    write_digest_page,
)
from monitor.pipeline.ingest import (
    build_matcher,
    check_feeds_file,
    chunks,
    export_opml,
    fetch_pages,
    import_opml,
    ingest_entries,
    open_database,
    store_entry,
    store_from_feeds,
)
from monitor.pipeline.outputs import run_digest, write_outputs
from monitor.pipeline.poll import next_poll_at, poll_due_feeds, poll_once
from monitor.pipeline.rematch import RematchReport, rematch
from monitor.pipeline.search import search_articles, search_variants

__all__ = [
    "BackfillProgress",
    "BackfillReport",
    "BackfillSource",
    "BaselineInfo",
    "Credits",
    "CycleReport",
    "DeriveReport",
    "RematchReport",
    "WatchlistCheck",
    "add_baseline",
    "backfill",
    "backfill_digests",
    "backfill_entries",
    "build_daily_digest",
    "build_matcher",
    "check_all_watchlists",
    "check_feeds_file",
    "chunks",
    "deliver_pending",
    "derive_watchlists",
    "digest_cycle",
    "digest_for_day",
    "ensure_watchlists",
    "export_opml",
    "feed_health",
    "fetch_pages",
    "import_opml",
    "ingest_entries",
    "list_baselines",
    "list_feeds",
    "make_server",
    "next_poll_at",
    "open_database",
    "poll_cycle",
    "poll_due_feeds",
    "poll_once",
    "record_digest",
    "rematch",
    "remove_baseline",
    "run_backfill",
    "run_digest",
    "run_once",
    "search_articles",
    "search_variants",
    "send_alerts",
    "send_pending_digests",
    "store_entry",
    "store_from_feeds",
    "write_digest_page",
    "write_outputs",
]
