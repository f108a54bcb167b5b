"""One delivery engine for every member message (pending -> sending -> sent)."""
