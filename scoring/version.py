"""Algorithm version stamped on every stored score (Tidepool-style schema version)."""

ALGORITHM_VERSION: str = "0.2.0"
