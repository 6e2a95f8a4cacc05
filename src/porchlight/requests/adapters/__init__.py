"""The requests adapters: infrastructure behind the ports the services define."""
