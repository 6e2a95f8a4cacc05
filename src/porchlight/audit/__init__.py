"""The audit capability: an append-only, tamper-evident public log."""
