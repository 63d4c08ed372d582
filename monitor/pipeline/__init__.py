"""The only orchestrator: it does the I/O around the pure stages and decides nothing itself.

    ingest     poll_due_feeds(now): due feeds -> fetch -> parse -> fetch pages -> extract ->
               dedupe -> match -> store; one feed's failure is recorded, not raised
    deliver    send_pending_digests(now), send_alerts(now): build -> outbox -> SMTP -> mark sent;
               write_outputs(now): RSS/Atom and the digest and baseline pages
    backfill   backfill(start, end): the same steps with a past `now`
    baselines  derive, check and add baselines and their watchlists
    rematch    rematch(now): the configured matcher over stored articles, new follow-ups kept

Callers use ``monitor.pipeline.<name>``; the modules import each other only downwards
(baselines <- ingest <- deliver <- outputs, backfill, rematch).
"""

from __future__ import annotations

from monitor.pipeline.backfill import (
    BackfillProgress,
    BackfillReport,
    BackfillSource,
    backfill,
    backfill_digests,
    backfill_entries,
)
from monitor.pipeline.baselines import (
    BaselineInfo,
    DeriveReport,
    WatchlistCheck,
    add_baseline,
    check_all_watchlists,
    derive_watchlists,
    ensure_watchlists,
    list_baselines,
    remove_baseline,
)
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
    follow_ups_stored,
    import_opml,
    ingest_entries,
    next_poll_at,
    open_database,
    poll_due_feeds,
    poll_once,
    store_entry,
)
from monitor.pipeline.outputs import run_digest, write_outputs
from monitor.pipeline.rematch import RematchReport, rematch
from monitor.pipeline.search import search_articles, search_variants

__all__ = [
    "BackfillProgress",
    "BackfillReport",
    "BackfillSource",
    "BaselineInfo",
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
    "digest_for_day",
    "ensure_watchlists",
    "export_opml",
    "feed_health",
    "follow_ups_stored",
    "import_opml",
    "ingest_entries",
    "list_baselines",
    "list_feeds",
    "make_server",
    "next_poll_at",
    "open_database",
    "poll_due_feeds",
    "poll_once",
    "record_digest",
    "rematch",
    "remove_baseline",
    "run_digest",
    "search_articles",
    "search_variants",
    "send_alerts",
    "send_pending_digests",
    "store_entry",
    "write_digest_page",
    "write_outputs",
]
