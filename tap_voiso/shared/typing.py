"""The one rule of every schema here: objects keep the keys they do not declare.

Voiso adds fields without notice, and a field it adds tomorrow must reach the
warehouse today rather than be dropped by the schema (`evolving.py` declares it).
"""

from __future__ import annotations

from singer_sdk import typing as th


def obj(*properties: th.Property) -> th.ObjectType:
    """A nullable object that keeps keys it does not declare."""
    return th.ObjectType(*properties, additional_properties=True)
