"""Settings, one group per file, read from ``SPELL_<GROUP>_<FIELD>`` once at start-up and passed down.

The library core never reads settings itself: edges (CLI, server) build them and pass values in.
"""
