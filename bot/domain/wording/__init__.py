"""Members' words: named templates organisers can reword (/wording)."""
