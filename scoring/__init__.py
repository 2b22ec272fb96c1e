"""Wellrate scoring."""
