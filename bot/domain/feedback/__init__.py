"""Plan feedback rounds."""
