"""The footage domain: entities, values and rules; standard library only."""
