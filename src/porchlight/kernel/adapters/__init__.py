"""The kernel adapters: infrastructure behind the ports the services define."""
