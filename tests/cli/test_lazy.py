from __future__ import annotations

import click

from spell.cli.lazy import verb_group


def test_a_dashed_verb_is_the_command_of_its_underscored_module() -> None:
    group = verb_group(
        "trust", "spell.cli.commands.trust", {"remove-key": "Forget one key."}, help_text="Keys."
    )
    command = group.get_command(click.Context(group), "remove-key")
    assert isinstance(command, click.Command)
    assert command.callback is not None
    assert command.callback.__module__ == "spell.cli.commands.trust.remove_key"


def test_a_subgroup_verb_is_the_group_of_its_package() -> None:
    group = verb_group("spell", "spell.cli.commands", {"sign": "Sign."}, help_text="All.", subgroups={"sign"})
    command = group.get_command(click.Context(group), "sign")
    assert isinstance(command, click.Group)
    assert command.name == "sign"


def test_group_help_lists_verbs_from_their_registered_lines_without_importing_them() -> None:
    group = verb_group("demo", "spell.cli.commands.nowhere", {"run-it": "Run it."}, help_text="Demo verbs.")
    text = group.get_help(click.Context(group, info_name="demo"))
    assert "Demo verbs." in text
    assert "run-it  Run it." in text
