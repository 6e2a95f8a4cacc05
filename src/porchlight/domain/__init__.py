"""Pure rules: entities, value objects, policies, errors and events (standard library only)."""
