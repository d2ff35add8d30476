"""The three annotation layers."""

from __future__ import annotations

from enum import StrEnum


class Layer(StrEnum):
    ENTITIES = "entities"
    EVENTS = "events"
    STANCE = "stance"


LAYERS: tuple[Layer, ...] = (Layer.ENTITIES, Layer.EVENTS, Layer.STANCE)
