"""Accounts: sign-up, sign-in, devices, refresh-token chains, export and erasure."""
