"""Porchlight: doorbell-camera footage sharing that keeps residents in control."""

__version__ = "0.1.0"
