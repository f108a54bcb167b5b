"""Pure rules of the bot. Nothing in this package imports discord."""
