"""Verifiable credentials: offline JSON-LD, Data Integrity proofs, did:key, JWT and baked badges.

Nothing here touches Flask or the database; every module is a plain library used by services.
"""
