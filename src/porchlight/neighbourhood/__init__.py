"""The neighbourhood: its summary and the demo neighbourhood `make run` seeds."""
