"""reasoning stage (see docs/ARCHITECTURE.md)."""
