"""Wellrate api."""
