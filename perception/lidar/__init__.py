"""The LiDAR pipeline, one module per stage (see docs/ARCHITECTURE.md): config, scan
(checks, crop, ego frame), ground, clusters, boxes, shapes; pipeline.py wires them."""
