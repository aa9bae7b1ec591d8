"""Exceptions that the CLI turns into a one-line message and a non-zero exit."""


class TinyGPTError(Exception):
    """A user-facing problem: bad input, a missing file, an incompatible artefact."""


class DataError(TinyGPTError, ValueError):
    """A corpus, shard or tokenizer file is missing, unreadable or malformed."""


class ConfigError(TinyGPTError, ValueError):
    """A configuration file or flag is invalid."""
