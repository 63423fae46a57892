"""The review web application (`router serve`): several reviewers over one store, in Chinese."""

from .app import create_app

__all__ = ["create_app"]
