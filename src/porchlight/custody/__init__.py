"""Custody: evidence copies derived from consented clips, and who touched them."""
