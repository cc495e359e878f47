"""perception stage (see docs/ARCHITECTURE.md)."""
