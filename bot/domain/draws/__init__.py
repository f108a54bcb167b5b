"""Fair, verifiable draws."""
