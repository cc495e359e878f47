"""fusion stage (see docs/ARCHITECTURE.md)."""
