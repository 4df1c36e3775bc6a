"""Data-subject rights: export, rectify, restrict, do-not-sell, transfer consents, erase and purge."""
