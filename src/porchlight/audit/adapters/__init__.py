"""The audit adapters: infrastructure behind the ports the services define."""
