"""The command line. Each command parses its arguments, loads Settings and makes one call
into the pipeline; a MonitorError becomes one line and a hint, never a traceback."""

from __future__ import annotations

import json
from typing import Any

import click

from monitor import config as config_module
from monitor.config import Settings
from monitor.errors import MonitorError


class MonitorGroup(click.Group):
    """Turns MonitorError from any command into `Error: ...` plus a hint, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            message = f"Error: {exc}"
            if exc.hint:
                message += f"\nHint: {exc.hint}"
            raise click.ClickException(message[len("Error: ") :]) from exc


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the --config file and the environment, with command-line overrides."""
    return config_module.load(ctx.obj.get("config_file"), **overrides)


@click.group(cls=MonitorGroup)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML configuration file (default: ./monitor.toml if present).",
)
@click.version_option(package_name="followup-monitor")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Follow-up news monitor: watches the news for what happens next to your baseline articles.

    \b
    Example:
        monitor run --once
    """
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def config_command(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (file, then MONITOR_* environment).

    \b
    Example:
        MONITOR_TIMEZONE=Asia/Taipei monitor config
    """
    values = config_module.effective(settings_from(ctx))
    if as_json:
        print(json.dumps(values, ensure_ascii=False, indent=2))
        return
    for name, value in values.items():
        print(f"{name} = {json.dumps(value, ensure_ascii=False)}")
