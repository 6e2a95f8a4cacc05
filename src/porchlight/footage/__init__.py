"""Footage: cameras, clips, the encrypted store, video handling, retention."""
