"""Video requests: scope, reach, review, delivery and residents' answers."""
