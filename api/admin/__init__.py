"""Administration: principals, clinics and member records."""
