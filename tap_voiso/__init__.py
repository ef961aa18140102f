"""tap-voiso: a Singer tap for Voiso Call Detail Records."""
