"""Entry points: the JSON API, the web pages, the command line and the workers."""
