"""Settings: every setting declared once, with its default and help.

Loaded from a TOML file (``monitor.toml`` in the working directory, or ``--config``) and then
from ``MONITOR_<NAME>`` environment variables, which win. The SMTP password is read from the
environment only (``MONITOR_SMTP_PASSWORD``), never from a file. Settings are passed down as an
argument; nothing reads them from a global.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

DEFAULT_CONFIG_FILE = "monitor.toml"
ENV_PREFIX = "MONITOR_"


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    # A secret is left out of repr(Settings), which ends up in logs and tracebacks.
    return field(default=default, metadata={"help": help}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    # storage
    data_dir: str = _setting("data", "directory for the database and generated outputs")
    db_path: str = _setting("", "SQLite database file; empty means <data_dir>/monitor.db")
    database_url: str = _setting(
        "", "postgresql://user@host/db used by `monitor dispatch`, `worker` and `status`"
    )
    queue_url: str = _setting(
        "", "redis://host:6379/0 of the task queue for `monitor worker`; empty: one process"
    )
    job_lease_seconds: int = _setting(
        300, "a queued job claimed this long ago and not finished is run again"
    )
    # watchlists and feeds
    watchlists_dir: str = _setting("watchlists", "baselines, derived watchlists and alias data")
    feeds_file: str = _setting("watchlists/feeds.yaml", "the feeds to poll")
    # fetching
    user_agent: str = _setting(
        "followup-monitor/0.1 (+https://github.com/followup-monitor)",
        "User-Agent sent with every request",
    )
    http_timeout: float = _setting(20.0, "seconds before a request is given up")
    max_body_bytes: int = _setting(10_000_000, "largest body read, after decompression")
    max_redirects: int = _setting(5, "redirects followed before a fetch fails")
    max_concurrency: int = _setting(16, "requests in flight across all hosts")
    per_host_concurrency: int = _setting(2, "requests in flight to one host")
    per_host_delay: float = _setting(1.0, "seconds between two requests to one host")
    retries: int = _setting(2, "quick retries of a failed request within one poll")
    poll_budget_seconds: float = _setting(
        300.0, "seconds a poll spends fetching pages; the rest wait for the next poll"
    )
    host_failure_budget: int = _setting(
        2, "page timeouts or connection failures to one host before its other pages wait"
    )
    backoff_base_minutes: float = _setting(15.0, "first wait after a feed fails; doubles")
    backoff_max_minutes: float = _setting(1440.0, "longest wait between polls of a failing feed")
    allow_private_addresses: bool = _setting(
        False, "fetch links that resolve to loopback, private or link-local addresses"
    )
    fetch_pages: bool = _setting(True, "fetch each entry's page and extract its text")
    # matching
    match_threshold: float = _setting(
        0.5, 'score at or above which an article is a follow-up (relevance_model = "rules")'
    )
    relevance_model: str = _setting(
        "",
        "relevance model file from `monitor train`; empty: the shipped model; "
        '"rules": the hand-written rules with match_threshold',
    )
    encoder_model: str = _setting(
        "",
        "a sentence-transformers model directory to use instead of the shipped multilingual "
        "Universal Sentence Encoder",
    )
    alert_threshold: float = _setting(
        0.85, "score at or above which a follow-up is emailed at once"
    )
    # schedule and digest
    timezone: str = _setting("UTC", "IANA time zone of the digest day and send time")
    digest_time: str = _setting("07:00", "local time the daily digest is sent (HH:MM)")
    digest_skip_empty: bool = _setting(False, "send no digest for a day with no follow-ups")
    poll_tick_seconds: int = _setting(60, "how often the scheduler looks for due feeds")
    output_dir: str = _setting(
        "", "where feed.xml, atom.xml and digest pages go; empty: <data_dir>/out"
    )
    base_url: str = _setting(
        "http://127.0.0.1:8080", "public URL of `monitor serve`, used in links"
    )
    serve_host: str = _setting("127.0.0.1", "address `monitor serve` listens on")
    serve_port: int = _setting(8080, "port `monitor serve` listens on")
    # mail
    smtp_host: str = _setting("", "SMTP server; empty means digests are written but not sent")
    smtp_port: int = _setting(587, "SMTP port")
    smtp_security: str = _setting("starttls", "starttls, tls or none")
    smtp_user: str = _setting("", "SMTP login; the password comes from MONITOR_SMTP_PASSWORD")
    smtp_password: str = _setting(
        "", "from the environment only (MONITOR_SMTP_PASSWORD)", secret=True
    )
    smtp_allow_plaintext_auth: bool = _setting(
        False, "log in over an unencrypted connection (smtp_security none) to a non-loopback server"
    )
    smtp_timeout: float = _setting(30.0, "seconds before an SMTP conversation is given up")
    mail_from: str = _setting("monitor@localhost", "From address of digests and alerts")
    mail_to: tuple[str, ...] = _setting((), "recipients (a TOML list, or comma-separated in env)")
    list_id: str = _setting("followup-monitor.localhost", "List-Id header of digests")
    list_unsubscribe: str = _setting("", "List-Unsubscribe URL or mailto:, if any")

    @property
    def database(self) -> Path:
        return Path(self.db_path) if self.db_path else Path(self.data_dir) / "monitor.db"

    @property
    def outputs(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path(self.data_dir) / "out"


# Settings never read from a file: secrets belong in the environment.
ENV_ONLY = frozenset({"smtp_password"})


def setting_help() -> list[tuple[str, Any, str]]:
    """(name, default, help) for every setting, in declaration order."""
    return [(f.name, f.default, f.metadata["help"]) for f in fields(Settings)]


def _coerce(name: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        if isinstance(default, tuple):
            if isinstance(raw, str):
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            return tuple(str(part) for part in raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: {exc}") from exc


def load(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, then the TOML file, then the environment, then overrides."""
    env = os.environ if env is None else env
    defaults = {f.name: f.default for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = Path(config_file) if config_file else Path(DEFAULT_CONFIG_FILE)
    if config_file or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        for key, raw in data.items():
            if key not in defaults:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            if key in ENV_ONLY:
                raise ConfigError(f"{path}: {key} is read from {ENV_PREFIX}{key.upper()} only")
            values[key] = _coerce(key, raw, defaults[key])

    for key, default in defaults.items():
        raw_env = env.get(ENV_PREFIX + key.upper())
        if raw_env is not None:
            values[key] = _coerce(key, raw_env, default)

    for key, raw in overrides.items():
        if raw is not None:
            values[key] = _coerce(key, raw, defaults[key])

    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if settings.smtp_security not in {"starttls", "tls", "none"}:
        raise ConfigError(
            f"smtp_security must be starttls, tls or none, not {settings.smtp_security!r}"
        )
    hours, _, minutes = settings.digest_time.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(f"digest_time must be HH:MM, not {settings.digest_time!r}")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.timezone)
    except Exception as exc:  # ZoneInfoNotFoundError or ValueError for odd keys
        raise ConfigError(f"unknown timezone {settings.timezone!r}") from exc


def effective(settings: Settings) -> dict[str, Any]:
    """The values `monitor config` prints; the password is masked."""
    shown = dataclasses.asdict(settings)
    if shown["smtp_password"]:
        shown["smtp_password"] = "********"
    return shown
