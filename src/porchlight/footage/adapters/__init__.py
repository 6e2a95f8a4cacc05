"""The footage adapters: infrastructure behind the ports the services define."""
