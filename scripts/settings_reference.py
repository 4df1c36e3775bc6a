"""Print the settings table of docs/server.md from the settings groups themselves.

Run ``.venv/bin/python scripts/settings_reference.py`` and replace the table between the
``settings table`` markers of ``docs/server.md`` with the output; tests/config/test_reference.py
fails while the two differ.
"""

from __future__ import annotations

import sys

from spell.config.reference import settings_table

if __name__ == "__main__":
    sys.stdout.write(settings_table())
