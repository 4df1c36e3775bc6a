"""The terminal experience: grouped --help, shell completion, tables and colour rules."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spell.cli.app import COMMANDS, SECTIONS
from spell.cli.console import activity, colour_enabled, table
from tests.bundle.spells import make_git_repo, write_spell
from tests.cli.run_cli import run_cli, table_rows


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _help_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = sections.setdefault(line.removesuffix(":"), [])
        elif current is not None and line.startswith("  ") and not line.startswith("   "):
            current.append(line.split()[0])
    return sections


def test_help_groups_commands_by_who_runs_them() -> None:
    sections = _help_sections(run_cli("--help").stdout)
    assert sections["Maker commands (build and sign spells)"] == ["init", "pack", "sbom", "sign"]
    assert "cast" in sections["Caster commands (install and run spells here)"]
    assert sections["Operator commands (run the server)"][:3] == ["serve", "worker", "db"]
    listed = [name for title, names in sections.items() if title != "Options" for name in names]
    assert sorted(listed) == sorted(COMMANDS)  # every command once, none lost


def test_every_command_a_section_names_is_either_registered_or_a_remote_one() -> None:
    remote = set(SECTIONS["Remote commands (a Spell server, through a profile)"])
    for names in SECTIONS.values():
        assert set(names) <= set(COMMANDS) | remote


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.exit_code == 0
    assert "_SPELL_COMPLETE" in result.stdout
    assert f"{shell}_" in result.stdout  # the script asks spell for <shell>_complete answers


def test_completion_refuses_an_unknown_shell() -> None:
    result = run_cli("completion", "tcsh")
    assert result.exit_code == 2
    assert "tcsh" in result.stderr


def test_the_completion_script_completes_commands_and_verbs() -> None:
    spell = str(Path(sys.executable).with_name("spell"))

    def complete(words: str, cword: int) -> list[str]:
        env = {"COMP_WORDS": words, "COMP_CWORD": str(cword), "_SPELL_COMPLETE": "bash_complete"}
        done = subprocess.run([spell], env={**os.environ, **env}, capture_output=True, text=True, check=True)
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("spell ca", 1) == ["cast", "casts"]
    assert complete("spell db ", 2) == sorted(complete("spell db ", 2))
    assert "upgrade" in complete("spell db ", 2)
    assert complete("spell completion ", 2) == ["bash", "zsh", "fish"]


def test_tables_are_aligned_plain_text_off_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    run_cli("install", str(write_spell(tmp_path / "a", version="1.0.0")))
    out = run_cli("list").stdout
    assert "\x1b[" not in out  # the runner's stdout is not a terminal
    header, rule, row = out.splitlines()
    assert set(rule) == {"─"}
    assert header.index("name") == row.index("Hello")  # columns line up
    assert table_rows(out)[1][0] == "acme/hello@1.0.0"


def test_json_output_stays_plain_even_when_colour_is_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FORCE_COLOR", "1")
    run_cli("install", str(write_spell(tmp_path / "a", version="1.0.0")))
    assert "\x1b[" in run_cli("list").stdout
    listed = run_cli("list", "--json")
    assert "\x1b[" not in listed.stdout
    assert listed.json()[0]["id"] == "acme/hello"


def test_colour_is_on_only_for_a_terminal_without_no_color() -> None:
    assert colour_enabled(_Tty(), {}) is True
    assert colour_enabled(io.StringIO(), {}) is False
    assert colour_enabled(_Tty(), {"NO_COLOR": "1"}) is False
    assert colour_enabled(io.StringIO(), {"FORCE_COLOR": "1"}) is True
    assert colour_enabled(_Tty(), {"NO_COLOR": "1", "FORCE_COLOR": "1"}) is False
    assert colour_enabled(_Tty(), {"NO_COLOR": ""}) is True  # set but empty does not count


def test_table_cells_are_shown_as_text_not_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    text = table(("a", "b"), [("[bold]x[/bold]", None), (True, 3)])
    assert table_rows(text) == [["a", "b"], ["[bold]x[/bold]", "-"], ["true", "3"]]


def _stages(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch, **options: bool) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    with activity("working", **options) as report:
        report("cloning https://example.test/repo.git")
        report("checking out v1")
    return stream.getvalue()


def test_stages_are_plain_lines_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _stages(io.StringIO(), monkeypatch)
    assert text == "spell: cloning https://example.test/repo.git\nspell: checking out v1\n"


def test_quiet_or_transient_stages_show_nothing_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _stages(io.StringIO(), monkeypatch, quiet=True) == ""
    assert _stages(io.StringIO(), monkeypatch, transient=True) == ""


def test_stages_on_a_terminal_stay_as_lines_under_a_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    text = _stages(_Tty(), monkeypatch)
    assert "spell: cloning https://example.test/repo.git" in text
    assert "spell: checking out v1" in text
    assert "\x1b[?25l" in text  # the spinner hid the cursor while it ran


def test_install_json_writes_nothing_to_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    make_git_repo(tmp_path / "repo")
    result = run_cli("install", f"file://{tmp_path / 'repo'}#v1", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.json()["status"] == "installed"


def _rendered_error(monkeypatch: pytest.MonkeyPatch, force_colour: str) -> str:
    from spell.cli.output import render_error
    from spell.errors import InvalidInput

    monkeypatch.setenv("FORCE_COLOR", force_colour)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    render_error(InvalidInput("bad", hint="do better"), as_json=False)
    return stream.getvalue()


def test_errors_are_coloured_only_where_colour_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rendered_error(monkeypatch, "") == "error: bad [VALIDATION_ERROR]\nhint: do better\n"
    coloured = _rendered_error(monkeypatch, "1")
    assert "\x1b[31m" in coloured
    assert "bad [VALIDATION_ERROR]" in coloured
