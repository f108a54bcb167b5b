"""The hash-chained audit log: every decision, who made it, when."""
