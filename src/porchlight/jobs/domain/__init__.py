"""The jobs domain: entities, values and rules; standard library only."""
