"""Per-server settings."""
