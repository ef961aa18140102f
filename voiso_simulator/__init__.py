"""A local, Voiso-compatible CDR API for tests, demos and benchmarks (never shipped)."""

from voiso_simulator.data import Dataset, DatasetSpec
from voiso_simulator.server import (
    DEFAULT_KEY,
    FORBIDDEN_KEY,
    SimConfig,
    SimServer,
    Simulator,
    serving,
    start,
)

__all__ = [
    "DEFAULT_KEY",
    "FORBIDDEN_KEY",
    "Dataset",
    "DatasetSpec",
    "SimConfig",
    "SimServer",
    "Simulator",
    "serving",
    "start",
]
