"""The directory read path: users, campaigns, queues and queue members.

Read whole each run (FULL_TABLE) by limit and offset, on the shared layer.
"""
