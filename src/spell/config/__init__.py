"""Settings, one group per file, read from ``SPELL_<GROUP>_<FIELD>`` once at start-up and passed down.

The library core never reads settings itself: edges (CLI, server) build them and pass values in.

A group is a frozen dataclass whose fields are declared with ``spell.config.group.setting``
(description, constraints, older variable names); constructing one never reads the environment.
``<Group>.from_env(env)`` reads it through pydantic-settings (``spell.config._reader``), over the
variables of an optional ``SPELL_SETTINGS_FILE`` (TOML or ``.env``), refusing a malformed value with
``InvalidInput`` naming the variable. The settings tables of docs/server.md and docs/local-store.md
are printed from the declarations (``scripts/settings_reference.py``) and checked by a test.
"""
