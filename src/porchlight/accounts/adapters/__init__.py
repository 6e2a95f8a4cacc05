"""The accounts adapters: infrastructure behind the ports the services define."""
