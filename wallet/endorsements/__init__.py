"""Endorsements: organisations vouch for each other's badges with signed EndorsementCredentials."""
