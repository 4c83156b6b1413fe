"""Exceptions shared by the bakery services."""

from __future__ import annotations


class BakeryError(Exception):
    """Base class for the errors a service raises on purpose."""


class NotFound(BakeryError, LookupError):
    """A row that the caller named by slug or id does not exist."""


class InsufficientStock(BakeryError):
    """Not enough of an ingredient, finished product or bundle to cover a request."""

    def __init__(self, item: str, requested: float, available: float) -> None:
        super().__init__(f"{item}: requested {requested:g}, only {available:g} available")
        self.item = item
        self.requested = requested
        self.available = available


class InvalidOperation(BakeryError, ValueError):
    """The request is well-formed but not allowed in the current state."""
