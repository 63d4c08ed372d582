"""`monitor digest` and `monitor serve` from the command line."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from digest_support import digest_settings, new_db, seed_day

from monitor.cli import cli

UTC = dt.UTC
DAY = dt.date(2026, 3, 29)
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)


@pytest.fixture
def config_file(settings, tmp_path, smtp_server) -> Path:
    s = digest_settings(settings, tmp_path, smtp_server)
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'data_dir = "{s.data_dir}"\nwatchlists_dir = "{s.watchlists_dir}"\n'
        f'timezone = "Europe/Paris"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_server.port}\n'
        f'smtp_security = "none"\nmail_to = ["ana@example.org"]\n',
        encoding="utf-8",
    )
    db = new_db(s)
    seed_day(db, DAY_START)
    db.close()
    return path


def test_cli_digest_send_twice_sends_once(config_file, smtp_server, tmp_path) -> None:
    runner = CliRunner()
    args = ["--config", str(config_file), "digest", "--date", DAY.isoformat(), "--send"]
    first = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")], env={})
    assert first.exit_code == 0, first.output
    assert f"sent digest {DAY.isoformat()}" in first.output
    assert (tmp_path / "out" / f"daily-{DAY.isoformat()}.txt").exists()
    second = runner.invoke(cli, args, env={})
    assert second.exit_code == 0, second.output
    assert "already sent" in second.output
    assert len(smtp_server.messages) == 1


def get_status(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("ETag", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("ETag", "")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_monitor_serve_command_answers_conditional_requests(settings, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "atom.xml").write_text("<feed/>", encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "MONITOR_OUTPUT_DIR": str(out), "MONITOR_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/atom.xml"
        deadline = time.monotonic() + 15
        while True:
            try:
                status, etag = get_status(url)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        assert status == 200
        assert etag
        assert get_status(url, **{"If-None-Match": etag})[0] == 304
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_digest_send_of_an_empty_skipped_day_says_so(config_file, smtp_server) -> None:
    config_file.write_text(
        config_file.read_text(encoding="utf-8") + "digest_skip_empty = true\n", encoding="utf-8"
    )
    empty_day = DAY - dt.timedelta(days=3)
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "digest", "--date", empty_day.isoformat(), "--send"]
    )
    assert result.exit_code == 0, result.output
    assert "is empty and digest_skip_empty is set; not sent" in result.output
    assert smtp_server.messages == []
