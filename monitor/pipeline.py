"""The only orchestrator: it does the I/O around the pure stages and decides nothing itself.

poll_due_feeds(now):      due feeds -> fetch -> parse -> fetch pages -> extract -> dedupe
                          -> match -> store; one feed's failure is recorded, not raised
send_pending_digests(now): build missing digests -> outbox -> SMTP -> mark sent
backfill(start, end):     the same steps with a past `now`
"""

from __future__ import annotations
