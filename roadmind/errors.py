"""User-facing errors: the CLI prints these as one line, never a traceback."""


class UserError(Exception):
    """A mistake in the user's input (file, field or value) with what would be right."""


class ConfigError(UserError):
    """A configuration file that cannot be loaded or does not validate."""
