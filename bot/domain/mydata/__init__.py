"""Members' data: what is kept, showing and deleting it, retention."""
