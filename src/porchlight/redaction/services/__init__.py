"""Redaction use cases and the port the video engine implements."""
