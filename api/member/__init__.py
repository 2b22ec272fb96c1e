"""A member's own view: standing, reasons, what would change next year's premium."""
