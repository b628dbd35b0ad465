"""Learner Wallet's Python SDK: the API client, the offline replica and sync."""
