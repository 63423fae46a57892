"""The exceptions router raises; the CLI turns each into one ``Error: ...`` line."""

__all__ = ["RouterError", "InputError", "ProfileError", "ModelError", "StoreError", "OutputError", "OfficeError",
           "RequestError"]


class RouterError(Exception):
    """Base class of every error router reports to a user."""


class InputError(RouterError):
    """An intake or history file cannot be read as it is."""


class ProfileError(RouterError):
    """An office profile (TOML) is malformed or inconsistent."""


class ModelError(RouterError):
    """A model folder is missing, tampered with, or does not fit the profile."""


class StoreError(RouterError):
    """The SQLite history store is unusable or a decision cannot be recorded."""


class OutputError(RouterError):
    """An output file cannot be written."""


class OfficeError(RouterError):
    """No office folder where one is needed, or a folder that is not one."""


class RequestError(RouterError):
    """A request that cannot be served as asked (inputs missing or in a combination that makes no sense)."""
