"""There is no Docker engine in the test environment, so these tests check what can be checked
without one: the compose file's shape, that its settings load, and that the image's command
is a real CLI command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor import config
from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_compose_has_the_monitor_and_a_mail_catcher(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"monitor", "mailpit"}
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["monitor"]["build"] == "."


def test_monitor_data_lives_in_a_named_volume(compose: dict[str, Any]) -> None:
    mounts = compose["services"]["monitor"]["volumes"]
    named = [m.split(":")[0] for m in mounts if not m.startswith((".", "/"))]
    assert named, "the monitor's data should be in a named volume"
    assert set(named) <= set(compose["volumes"])
    env = compose["services"]["monitor"]["environment"]
    assert any(m.endswith(":" + env["MONITOR_DATA_DIR"]) for m in mounts)


def test_digests_go_to_the_mail_catcher_whose_web_ui_is_published(
    compose: dict[str, Any],
) -> None:
    env = compose["services"]["monitor"]["environment"]
    assert env["MONITOR_SMTP_HOST"] == "mailpit"
    assert env["MONITOR_SMTP_PORT"] == "1025"  # Mailpit's SMTP port
    published = [str(p) for p in compose["services"]["mailpit"]["ports"]]
    assert any(p.endswith(":8025") for p in published)
    # The SMTP port is for the compose network only.
    assert not any(p.endswith(":1025") for p in published)


def resolved_settings(compose: dict[str, Any], service: str) -> config.Settings:
    env = compose["services"][service]["environment"]
    # Compose substitutes ${NAME:-default}; do the same with the defaults.
    resolved = {
        key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value)) for key, value in env.items()
    }
    names = {name for name, _, _ in config.setting_help()}
    for key in resolved:
        assert key.startswith(config.ENV_PREFIX)
        assert key[len(config.ENV_PREFIX) :].lower() in names, key
    return config.load(None, env=resolved)


def test_compose_environment_is_valid_settings(compose: dict[str, Any]) -> None:
    settings = resolved_settings(compose, "monitor")
    assert settings.smtp_host == "mailpit"
    assert settings.smtp_security == "none"
    assert settings.mail_to


def test_serve_runs_on_the_published_port_that_base_url_names(compose: dict[str, Any]) -> None:
    serve = compose["services"]["serve"]
    assert serve["command"] == ["monitor", "serve"]
    settings = resolved_settings(compose, "serve")
    assert settings.serve_host == "0.0.0.0"  # reachable from the host through the port
    published = [str(p) for p in serve["ports"]]
    assert f"{settings.serve_port}:{settings.serve_port}" in published
    # Links in mail open: the monitor writes base_url, the browser reaches serve there.
    base = resolved_settings(compose, "monitor").base_url
    assert base == f"http://localhost:{settings.serve_port}"
    assert settings.base_url == base
    # serve reads the outputs the monitor writes.
    data = compose["services"]["monitor"]["environment"]["MONITOR_DATA_DIR"]
    assert any(m.split(":")[1] == data for m in serve["volumes"])
    result = CliRunner().invoke(cli, [*serve["command"][1:], "--help"], obj={})
    assert result.exit_code == 0, result.output


def test_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name in ("monitor", "serve"):
        check = compose["services"][name]["healthcheck"]["test"]
        assert check[0] == "CMD"
        assert check[1] == "python"  # in the image; curl and wget are not
    assert "8080" in " ".join(compose["services"]["serve"]["healthcheck"]["test"])


def test_watchlists_are_writable_by_the_containers_user(compose: dict[str, Any]) -> None:
    instructions = dockerfile_instructions()
    user = next(rest for keyword, rest in reversed(instructions) if keyword == "USER")
    copy = next(
        rest for keyword, rest in instructions if keyword == "COPY" and "watchlists" in rest
    )
    assert f"--chown={user}" in copy.split()
    mounts = compose["services"]["monitor"]["volumes"]
    assert any(m.endswith(":/app/watchlists") for m in mounts)  # baseline add persists


def test_dockerfile_builds_from_python_slim_and_copies_real_paths() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    for keyword, rest in instructions:
        if keyword == "COPY":
            *sources, _target = [word for word in rest.split() if not word.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source


def test_image_command_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    cmd = next(rest for keyword, rest in dockerfile_instructions() if keyword == "CMD")
    argv = json.loads(cmd)
    assert argv == compose["services"]["monitor"]["command"]
    assert argv[0] == "monitor"
    result = CliRunner().invoke(cli, [*argv[1:], "--help"], obj={})
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_data_directory_is_prepared_before_it_becomes_a_volume() -> None:
    instructions = dockerfile_instructions()
    volume = next(i for i, (keyword, _) in enumerate(instructions) if keyword == "VOLUME")
    data_dir = json.loads(instructions[volume][1])[0]
    # Build steps after VOLUME cannot change its contents (Docker discards them).
    assert not any(
        keyword == "RUN" and data_dir in rest for keyword, rest in instructions[volume + 1 :]
    )
    user = [rest for keyword, rest in instructions if keyword == "USER"]
    assert user
    assert user[-1] != "root"


def test_the_scale_profile_runs_one_scheduler_workers_postgres_redis_serve_and_mailpit(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    scale = {name for name, s in services.items() if "scale" in s.get("profiles", [])}
    assert scale == {"postgres", "redis", "scheduler", "worker", "scale-serve"}
    assert "profiles" not in services["mailpit"]  # shared by both setups
    assert services["scheduler"]["command"] == ["monitor", "dispatch"]
    assert "replicas" not in services["scheduler"].get("deploy", {})
    assert services["worker"]["deploy"]["replicas"] >= 2
    names = {name for name, _, _ in config.setting_help()}
    for name in ("scheduler", "worker", "scale-serve"):
        command = services[name]["command"]
        help_run = CliRunner().invoke(cli, [*command[1:], "--help"], obj={})
        assert help_run.exit_code == 0, help_run.output
        env = {
            key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
            for key, value in services[name]["environment"].items()
        }
        assert {key[len(config.ENV_PREFIX) :].lower() for key in env} <= names
        config.load(None, env=env)
    worker_env = services["worker"]["environment"]
    assert worker_env["MONITOR_DATABASE_URL"].startswith("postgresql://")
    assert worker_env["MONITOR_DATABASE_URL"].split("@")[1].startswith("postgres:")
    assert worker_env["MONITOR_QUEUE_URL"] == "redis://redis:6379/0"
