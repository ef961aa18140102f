"""The CDR read path, incremental on `started_at`.

Ranges and windows planned by what they hold, each read as a chain of pages by
cursor or offset, several at once, handed over in order and checkpointed window by
window. In the order a run takes it: `ranges` -> `planner` -> `scheduler` -> `chain`
(with `pages` and `cursors`) -> `streams`.
"""
