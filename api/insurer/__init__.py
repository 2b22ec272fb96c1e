"""Insurer endpoints: quotes, batch jobs, uploads, portfolio (pricing engine in api.pricing)."""
