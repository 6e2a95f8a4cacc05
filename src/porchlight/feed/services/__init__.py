"""The feed's use cases."""
