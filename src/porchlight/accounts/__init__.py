"""Accounts: residents, agencies and their staff, sign-in, second factors, API tokens."""
