"""The deployment examples (deploy/, docs/deploy.md) name real settings and commands and stay valid."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spell.config.billing import BillingSettings
from spell.config.group import SETTINGS_FILE, env_names, settings_of
from spell.config.reference import LOCAL_GROUPS, SERVER_GROUPS
from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from tests.cli.run_cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOC = ROOT / "docs" / "deploy.md"
ENV_FILES = (DEPLOY / "spell.env.example", DEPLOY / "node.env.example")
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TEXTS = (*ENV_FILES, DEPLOY / "Procfile", *UNITS, DOC)

# Read outside the groups: the home folder (spell.config.home) and the settings file (spell.config.group).
OTHER_VARIABLES = {"SPELL_HOME", SETTINGS_FILE}
# What must be the same on every node; the shared template sets each of them.
SHARED = {
    "SPELL_SERVER_SECRET_KEY",
    "SPELL_DATABASE_URL",
    "SPELL_QUEUE_URL",
    "SPELL_SERVER_QUEUE_NAME",
    "SPELL_SERVER_QUEUE_ACK_WAIT_SECONDS",
    "SPELL_RATE_LIMIT_URL",
    "SPELL_BLOB_URL",
    "SPELL_SERVER_METRICS_TOKEN",
}
# Systemd options under which bubblewrap cannot set up a host step's sandbox (user namespaces, /proc).
BREAK_BWRAP = {
    "RestrictNamespaces",
    "PrivateUsers",
    "ProtectKernelTunables",
    "ProtectKernelLogs",
    "ProtectProc",
    "ProcSubset",
    "SystemCallFilter",
}


def known_variables() -> set[str]:
    names = set(OTHER_VARIABLES)
    for group in {*SERVER_GROUPS, *LOCAL_GROUPS}:
        for f, meta in settings_of(group):
            names.update(env_names(group, f.name, meta))
            names.update(meta.unit_aliases)
    return names


def mentioned_variables(text: str) -> set[str]:
    """``SPELL_*`` names in ``text``; a prefix written as ``SPELL_SERVER_*`` is not a variable."""
    return {name for name in re.findall(r"\bSPELL_[A-Z0-9_]+", text) if not name.endswith("_")}


def env_file(path: Path) -> dict[str, str]:
    """The uncommented ``NAME=value`` lines of an env file."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def unit_file(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit's sections, each a list of (key, value): keys such as EnvironmentFile repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        where = f"{path.name}:{number}: {raw!r}"
        assert sep, where
        assert current is not None, where
        assert key.strip() == key, where
        current.append((key, value.strip()))
    return sections


def one(section: list[tuple[str, str]], key: str) -> str:
    values = [value for name, value in section if name == key]
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def check_spell_command(argv: list[str]) -> None:
    """``spell <command…> [--flags]``: the command exists and takes every flag used."""
    assert argv[0] == "spell", argv
    path = []
    for word in argv[1:]:
        if word.startswith("-"):
            break
        path.append(word)
    assert path, argv
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, (argv, result.stderr)
    for word in argv[1:]:
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", result.stdout), (
                f"`spell {' '.join(path)}` has no {flag}"
            )


def procfile() -> dict[str, list[str]]:
    processes: dict[str, list[str]] = {}
    for line in (DEPLOY / "Procfile").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line)
        if match:
            # ${PORT:-8787}: the process manager's port, else the default
            command = re.sub(r"\$\{PORT:-(\d+)\}", r"\1", match.group(2))
            processes[match.group(1)] = shlex.split(command)
    return processes


def test_every_variable_named_is_a_real_setting() -> None:
    known = known_variables()
    for path in TEXTS:
        unknown = mentioned_variables(path.read_text(encoding="utf-8")) - known
        assert not unknown, f"{path.relative_to(ROOT)} names no such setting: {sorted(unknown)}"


def test_the_check_catches_a_misspelt_variable() -> None:
    assert mentioned_variables("SPELL_SERVER_SECRET_KEYS=x, SPELL_SERVER_*") - known_variables() == {
        "SPELL_SERVER_SECRET_KEYS"
    }


def test_the_env_templates_set_the_shared_settings_to_values_the_server_accepts() -> None:
    shared = env_file(ENV_FILES[0])
    assert shared.keys() >= SHARED
    per_node = env_file(ENV_FILES[1])
    assert not SHARED & per_node.keys(), "a setting every node must share is in the per-node file"
    env = {**shared, **per_node}
    settings = ServerSettings.from_env(env)
    assert settings.queue_url == shared["SPELL_QUEUE_URL"]
    assert not settings.is_sqlite
    assert settings.blob_url == shared["SPELL_BLOB_URL"]
    assert settings.workers == int(per_node["SPELL_SERVER_WORKERS"])
    assert str(settings.data_dir) == shared["SPELL_SERVER_DATA_DIR"]
    SupplySettings.from_env(env)
    BillingSettings.from_env(env)


def test_the_env_template_reads_as_a_settings_file(tmp_path: Path) -> None:
    """The same file works as SPELL_SETTINGS_FILE (python-dotenv), where there is no EnvironmentFile."""
    settings = ServerSettings.from_env({SETTINGS_FILE: str(ENV_FILES[0])})
    assert settings.secret_key == env_file(ENV_FILES[0])["SPELL_SERVER_SECRET_KEY"]
    assert settings.rate_limit_url == env_file(ENV_FILES[0])["SPELL_RATE_LIMIT_URL"]


def test_a_bad_value_in_the_template_would_be_refused(tmp_path: Path) -> None:
    env = {**env_file(ENV_FILES[0]), "SPELL_SERVER_QUEUE_NAME": "no spaces"}
    with pytest.raises(Exception, match="SPELL_SERVER_QUEUE_NAME"):
        ServerSettings.from_env(env)


def test_the_procfile_runs_an_api_node_and_a_worker_with_real_flags() -> None:
    processes = procfile()
    assert set(processes) == {"api", "worker"}
    assert processes["api"][:2] == ["spell", "serve"]
    assert "--no-workers" in processes["api"]
    assert processes["worker"][:2] == ["spell", "worker"]
    for argv in processes.values():
        check_spell_command(argv)


def test_an_unknown_flag_fails_the_command_check() -> None:
    with pytest.raises(AssertionError, match="--no-such-flag"):
        check_spell_command(["spell", "worker", "--no-such-flag"])


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_a_unit_parses_and_runs_a_real_spell_command(path: Path) -> None:
    unit = unit_file(path)
    assert {"Unit", "Service"} <= unit.keys()
    service = unit["Service"]
    exec_start = shlex.split(one(service, "ExecStart"))
    assert exec_start[0].startswith("/")
    assert exec_start[0].endswith("/spell")
    check_spell_command(["spell", *exec_start[1:]])
    files = [value for key, value in service if key == "EnvironmentFile"]
    assert files[0] == "/etc/spell/spell.env"
    assert one(service, "User") != "root"
    assert one(service, "NoNewPrivileges") == "yes"
    assert one(service, "ProtectSystem") == "strict"
    assert not BREAK_BWRAP & {key for key, _ in service}


@pytest.mark.parametrize("name", ["spell-api.service", "spell-worker@.service"])
def test_long_running_units_restart_and_may_write_only_their_state(name: str) -> None:
    service = unit_file(DEPLOY / "systemd" / name)["Service"]
    assert one(service, "Restart") == "always"
    state = "/var/lib/" + one(service, "StateDirectory")
    assert one(service, "ReadWritePaths") == state
    # SPELL_HOME and the data dir of the template are inside the only writable folder
    shared = env_file(ENV_FILES[0])
    for variable in ("SPELL_HOME", "SPELL_SERVER_DATA_DIR"):
        assert Path(shared[variable]).is_relative_to(state), variable
    assert [value for key, value in service if key == "EnvironmentFile"] == [
        "/etc/spell/spell.env",
        "-/etc/spell/node.env",
    ]


def test_the_worker_unit_waits_longer_than_the_grace_of_running_casts() -> None:
    service = unit_file(DEPLOY / "systemd" / "spell-worker@.service")["Service"]
    argv = shlex.split(one(service, "ExecStart"))
    grace = float(argv[argv.index("--grace") + 1])
    assert float(one(service, "TimeoutStopSec")) > grace


def test_the_unit_parser_refuses_a_line_outside_a_section(tmp_path: Path) -> None:
    bad = tmp_path / "bad.service"
    bad.write_text("ExecStart=/bin/true\n[Service]\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"bad\.service:1"):
        unit_file(bad)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    spell = Path(sys.executable).with_name("spell")
    for path in UNITS:
        # verify wants the binary present; the rest of the unit is as shipped
        text = re.sub(r"/opt/spell/venv/bin/spell", str(spell), path.read_text(encoding="utf-8"))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{path.name}" for path in UNITS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr


def test_the_commands_in_the_guide_exist() -> None:
    commands = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            # `VAR=value spell …` and `sudo -u spell spell …` run the same command
            while words and (re.fullmatch(r"[A-Z_]+=\S*", words[0]) or words[0] in {"sudo", "-u"}):
                words = words[2:] if words[0] == "-u" else words[1:]
            if words[:1] == ["spell"]:
                commands.append(words)
    assert len(commands) >= 3
    for argv in commands:
        check_spell_command(argv)
