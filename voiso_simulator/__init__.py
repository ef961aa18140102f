"""A local, Voiso-compatible CDR API for tests, demos and benchmarks (never shipped)."""

from voiso_simulator.config import CDR_ONLY_KEY, DEFAULT_KEY, FORBIDDEN_KEY, SimConfig
from voiso_simulator.data import Dataset, DatasetSpec
from voiso_simulator.directory import Directory
from voiso_simulator.server import SimServer, Simulator, serving, start

__all__ = [
    "CDR_ONLY_KEY",
    "DEFAULT_KEY",
    "FORBIDDEN_KEY",
    "Dataset",
    "DatasetSpec",
    "Directory",
    "SimConfig",
    "SimServer",
    "Simulator",
    "serving",
    "start",
]
