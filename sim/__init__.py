"""Where frames come from and where the car moves: worlds, scenarios, agent, CLI."""
