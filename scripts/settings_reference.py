"""Print the settings tables of the docs from the settings groups themselves.

Run ``.venv/bin/python scripts/settings_reference.py docs/server.md`` (or ``docs/local-store.md``) and
replace the table between that page's ``settings table`` markers with the output;
tests/config/test_reference.py fails while the two differ.
"""

from __future__ import annotations

import sys

from spell.config.reference import TABLES, settings_table

if __name__ == "__main__":
    page = sys.argv[1] if len(sys.argv) > 1 else "docs/server.md"
    if page not in TABLES:
        raise SystemExit(f"no settings table for {page}; one of: {', '.join(TABLES)}")
    sys.stdout.write(settings_table(TABLES[page]))
