"""Speed measurements behind ``roadmind bench``: each returns the JSON-ready dict its
command prints. Timings are measured here, never asserted by tests."""
