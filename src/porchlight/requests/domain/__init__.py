"""The requests domain: entities, values and rules; standard library only."""
