"""Sharing with employers: share links, and what the public verification page shows (no Flask here)."""
