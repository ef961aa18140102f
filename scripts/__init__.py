"""Developer scripts: setup, demo, README generation."""
