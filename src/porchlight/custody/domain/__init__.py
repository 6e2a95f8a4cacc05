"""The custody domain: entities, values and rules; standard library only."""
