"""What a redaction is asked to do and what it reports: pure values."""
