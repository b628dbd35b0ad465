"""The learner's store of credentials: hold, list, verify, import, export (services; no Flask)."""
