"""What `monitor run --once` and `monitor backfill` print about what they did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.config import Settings
from monitor.pipeline import BackfillReport, CycleReport


def cycle_lines(report: CycleReport, settings: Settings) -> list[str]:
    """A few lines on what one cycle did, for `monitor run --once`."""
    if report.skipped:
        return ["another poll is running (lock held); nothing done this time"]
    lines = []
    if report.poll is not None:
        poll = report.poll
        if not poll.feeds:
            lines.append("no feed is due yet (each is polled at its own interval)")
        lines.append(
            f"{len(poll.feeds)} feeds polled: {poll.new} new articles, "
            f"{report.follow_ups} follow-ups, {len(poll.failed)} failed"
        )
        lines += [f"  failed: {o.name or o.url}: {o.error}" for o in poll.failed]
        if poll.pages_waiting:
            lines.append(f"{poll.pages_waiting} pages wait for the next poll (budget spent)")
    if report.alerts is not None and report.alerts.sent:
        lines.append(f"alerts sent: {len(report.alerts.sent)}")
    if report.alerts is not None:
        lines += [f"alert {key} not sent: {error}" for key, error in report.alerts.failed]
    if report.digests is not None:
        if report.digests.sent:
            lines.append(f"digests sent: {', '.join(report.digests.sent)}")
        for key, error in report.digests.failed:
            lines.append(f"digest {key} not sent: {error}")
    if report.today_page is not None:
        lines.append(f"today's digest so far: {report.today_page}")
    lines.append(f"outputs (RSS, Atom, digest pages): {settings.outputs}")
    return lines


def cycle_json(report: CycleReport, settings: Settings) -> dict[str, Any]:
    """What one cycle did, for `monitor run --once --json`."""
    poll = report.poll
    digests = report.digests
    return {
        "now": report.now,
        "skipped": report.skipped,
        "feeds": list(poll.feeds) if poll else [],
        "new_articles": poll.new if poll else 0,
        "follow_ups": report.follow_ups,
        "failed": len(poll.failed) if poll else 0,
        "alerts_sent": list(report.alerts.sent) if report.alerts else [],
        "digests_sent": list(digests.sent) if digests else [],
        "digests_failed": [list(pair) for pair in digests.failed] if digests else [],
        "today_page": report.today_page,
        "outputs": settings.outputs,
    }


def backfill_lines(report: BackfillReport) -> list[str]:
    """What `monitor backfill` did, a few lines."""
    lines = [
        f"backfill {report.since} to {report.until}: {report.entries} entries in the window, "
        f"{report.new_articles} new articles, {report.follow_ups} follow-ups"
    ]
    if report.resumed:
        lines.append(f"resumed: {report.resumed} units were done before")
    if report.outside:
        lines.append(f"{report.outside} entries dated outside the window were left out")
    lines += [f"  failed: {unit}: {error}" for unit, error in report.failures]
    if report.stopped:
        lines.append("stopped before the end; run the same command again to resume")
    elif report.digests is not None:
        if report.digests.written:
            folder = Path(report.digests.written[0]).parent
            lines.append(
                f"{len(report.digests.written)} daily digests (days with follow-ups) "
                f"written to {folder}"
            )
        else:
            lines.append("no day in the window has follow-ups; no digest written")
        if report.digests.sent:
            lines.append(f"digests sent: {', '.join(report.digests.sent)}")
        for key, error in report.digests.failed:
            lines.append(f"digest {key} not sent (pending, retried by `monitor run`): {error}")
    return lines
