"""Wellrate ingest."""
