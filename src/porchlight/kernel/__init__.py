"""The shared kernel: errors, events, policies, the unit of work, its ports and the database."""
