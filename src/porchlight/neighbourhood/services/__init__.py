"""The neighbourhood use cases: its summary and the demo data, through the unit of work."""
