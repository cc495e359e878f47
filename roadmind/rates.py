"""Loop rates in one place (sensor rates live in the rig)."""

PHYSICS_HZ = 20.0  # world step rate; sensors capture every round(PHYSICS_HZ / rate_hz) steps
