"""End-to-end: the platform over real HTTP, its third parties faked by local servers."""
