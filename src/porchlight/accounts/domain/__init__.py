"""The accounts domain: entities, values and rules; standard library only."""
