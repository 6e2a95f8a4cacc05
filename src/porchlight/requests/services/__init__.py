"""The requests use cases: they work through the unit of work and ports, never infrastructure."""
