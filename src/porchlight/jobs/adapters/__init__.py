"""The jobs adapters: infrastructure behind the ports the services define."""
