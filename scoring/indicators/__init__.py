"""Pure, vectorised clinical indicator functions, one module per domain."""
