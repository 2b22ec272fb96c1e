"""Clinic views: patients, indicators and trends, alerts, FHIR/CSV export."""
