"""A Digest -> HTML and plain text, and the other pages, through the jinja2 templates in
monitor/templates/. No I/O besides reading the templates.

Everything that came from a feed is untrusted: HTML templates are rendered with autoescape on.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from monitor import plaintext
from monitor.digest import counts, subject
from monitor.models import Digest
from monitor.stories import table_of_contents

TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Autoescape every HTML template; the plain-text one is not markup.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["local"] = _local_time
    return env


def _local_time(moment: dt.datetime | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime(fmt)


@functools.cache
def _env() -> jinja2.Environment:
    return _environment()  # built once: the templates are read-only


def _context(digest: Digest, feedback: bool = False) -> dict[str, Any]:
    return {
        "d": digest,
        "feedback": feedback,
        "subject": subject(digest),
        "counts": counts(digest),
        "toc": table_of_contents(digest.stories),
    }


def render_html(digest: Digest, feedback: bool = False) -> str:
    """``feedback``: right/wrong buttons beside each follow-up, for the pages `monitor serve`
    shows (they post to it); never in email."""
    return _env().get_template("digest.html.j2").render(**_context(digest, feedback))


def render_text(digest: Digest) -> str:
    """The plain-text part, wrapped at plaintext.WIDTH columns (URLs are never broken)."""
    text = _env().get_template("digest.txt.j2").render(**_context(digest))
    return plaintext.wrap(text)


def render_template(name: str, **context: Any) -> str:
    """Render one of templates/ (HTML ones autoescaped), for the other page builders."""
    return _env().get_template(name).render(**context)
