"""The kernel domain: entities, values and rules; standard library only."""
