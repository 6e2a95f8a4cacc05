"""Use cases: one function per command, each running in one unit of work."""
