"""The ``spell`` command line: one verb per file under ``commands/``, loaded lazily."""
