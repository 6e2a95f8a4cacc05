"""Concrete implementations of the service ports. Only bootstrap picks among them."""
