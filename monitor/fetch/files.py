"""Local files, for trusted feeds only: read with the same size limit and validators."""

from __future__ import annotations

import email.utils
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from monitor.config import Settings
from monitor.errors import FetchError
from monitor.fetch.addresses import _scheme
from monitor.fetch.bodies import _Answer, _fetched
from monitor.models import Fetched

if TYPE_CHECKING:  # the client imports this module
    from monitor.fetch.client import FetchRequest

# --- local files (trusted feeds only) -------------------------------------------------------


def _read_file(request: FetchRequest, settings: Settings) -> Fetched:
    path = _local_path(request.url)
    try:
        stat = path.stat()
        if not path.is_file():
            raise FetchError(f"not a file: {path}")
        if stat.st_size > settings.max_body_bytes:
            raise FetchError(
                f"{path} has {stat.st_size:,} bytes, over the {settings.max_body_bytes:,} limit"
            )
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        # The ETag sees changes within the same second, which Last-Modified cannot.
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        headers = {"last-modified": modified, "etag": etag, "content-type": _file_type(path)}
        unchanged = request.etag == etag if request.etag else request.last_modified == modified
        if unchanged:
            return Fetched(request.url, 304, headers, b"")
        with path.open("rb") as handle:
            body = handle.read(settings.max_body_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > settings.max_body_bytes:
        raise FetchError(f"{path} is over the {settings.max_body_bytes:,} byte limit")
    headers["content-length"] = str(len(body))
    return _fetched(_Answer(request.url, 200, headers, body), None)


def _local_path(url: str) -> Path:
    if _scheme(url) == "file":
        parts = urlsplit(url)
        if parts.netloc not in {"", "localhost"}:
            raise FetchError(f"file URL on another host: {url}")
        return Path(unquote(parts.path))
    return Path(url).expanduser()


def _file_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".rss", ".atom", ".rdf", ".xml"}:
        return "application/xml"
    if suffix == ".json":
        return "application/feed+json"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
