"""Server-rendered pages (Jinja2), static files served locally."""
