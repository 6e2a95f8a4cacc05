"""The feed's database query (H3 cells, keyset pagination)."""
