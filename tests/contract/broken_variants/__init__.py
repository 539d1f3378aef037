"""Deliberately broken variants of the reference server, each with the check that must catch it.

Every variant wraps the real reference app (in memory) and breaks exactly one promise; the
catalogue with the reasoning is in docs/contract-suite.md.
"""

from tests.contract.broken_variants.variants import CATALOGUE, Variant

__all__ = ["CATALOGUE", "Variant"]
