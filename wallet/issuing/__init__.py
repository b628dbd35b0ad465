"""The issuing side: organisations' signing keys, achievements, Open Badges 3.0 credentials and their
revocation lists. Services only; no Flask (see docs/credentials.md)."""
