"""roadmind shared vocabulary: messages, units, frames and configuration loading."""

__version__ = "0.1.0"
