"""Clinics, members, devices and device-to-member bindings (the identity tables of 0001)."""
