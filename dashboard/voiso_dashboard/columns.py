"""Names the page shares with the models."""

# The answer and abandon curves' queue times (seconds): the models' `*_within_N_seconds`.
CURVE_SECONDS = (10, 20, 30, 60, 120, 300)
