"""Wellrate device_sim."""
