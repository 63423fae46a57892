"""router: sort deputies' suggestions by topic and route them to divisions."""

__version__ = "0.1.0"

__all__ = ["__version__"]
