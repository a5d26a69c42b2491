"""sscard simulator: a pure-Python PRC social security card."""

from .card import Card

__all__ = ["Card"]
