"""OpenDRIVE signal codes roadmind reads (the German catalogue, as CARLA's maps use)."""

from __future__ import annotations

from roadmind.messages import SignType

SIGNAL_SPEED_LIMIT = "274"
SIGNAL_STOP = "206"
SIGNAL_YIELD = "205"
SIGNAL_TRAFFIC_LIGHT = "1000001"
SIGN_TYPES = {
    SIGNAL_SPEED_LIMIT: SignType.SPEED_LIMIT,
    SIGNAL_STOP: SignType.STOP,
    SIGNAL_YIELD: SignType.YIELD,
}
