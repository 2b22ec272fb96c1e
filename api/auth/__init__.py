"""Principals, bearer tokens and dashboard sign-in (with lockout)."""
