"""`python -m tap_voiso` runs the tap's command line."""

from tap_voiso.tap import TapVoiso

TapVoiso.cli()
