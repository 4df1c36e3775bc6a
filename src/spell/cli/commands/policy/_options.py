"""The ``--file`` option of the ``spell policy`` verbs that read a candidate policy file."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["policy_file_option"]

policy_file_option = click.option(
    "--file", "file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Policy JSON."
)
