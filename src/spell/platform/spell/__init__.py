"""The grimoire: publishers and their keys, publishing archives, listing, visibility, yank, suspend."""
