"""Risk model: next-year hospitalisation probability and expected claim cost."""
