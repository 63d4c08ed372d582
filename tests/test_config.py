from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import config
from monitor.cli import cli
from monitor.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_environment_overrides_file(tmp_path: Path) -> None:
    file = tmp_path / "monitor.toml"
    file.write_text('timezone = "Asia/Taipei"\nmail_to = ["a@example.org", "b@example.org"]\n')
    settings = config.load(file, env={"MONITOR_TIMEZONE": "Europe/Paris"})
    assert settings.timezone == "Europe/Paris"
    assert settings.mail_to == ("a@example.org", "b@example.org")


def test_password_is_refused_in_the_file(tmp_path: Path) -> None:
    file = tmp_path / "monitor.toml"
    file.write_text('smtp_password = "hunter2"\n')
    with pytest.raises(ConfigError, match="MONITOR_SMTP_PASSWORD"):
        config.load(file, env={})


def test_bad_values_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="timezone"):
        config.load(None, env={"MONITOR_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="http_timeout"):
        config.load(None, env={"MONITOR_HTTP_TIMEOUT": "soon"})
    file = tmp_path / "bad.toml"
    file.write_text("timezone = \n")
    with pytest.raises(ConfigError, match=str(file)):
        config.load(file, env={})


def test_config_command_masks_the_password() -> None:
    result = CliRunner().invoke(cli, ["config"], env={"MONITOR_SMTP_PASSWORD": "hunter2"}, obj={})
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert 'smtp_password = "********"' in result.output


def test_cli_error_is_one_line_with_a_hint_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "missing.toml"), "config"], obj={})
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Error: cannot read" in result.output
    assert "Hint:" in result.output


def test_every_setting_is_in_the_readme_table() -> None:
    table = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    declared = {name for name, _, _ in config.setting_help()}
    assert declared == documented


def test_ci_runs_the_readme_test_command() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    test_command = next(c for c in commands if c.endswith("pytest"))
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
