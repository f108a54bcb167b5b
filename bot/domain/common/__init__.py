"""What every feature shares: words about buttons and forms."""
