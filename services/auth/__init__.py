"""The auth service: accounts, sessions, signing keys and tokens."""
