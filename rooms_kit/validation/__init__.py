"""Validation of games# documents: a fast path for valid ones, precise errors for the rest."""

from rooms_kit.validation.issues import Issue
from rooms_kit.validation.validators import KindValidator, Validators

__all__ = ["Issue", "KindValidator", "Validators"]
