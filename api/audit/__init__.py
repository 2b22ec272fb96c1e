"""The audit log of access to personal data."""
