"""The web adapter: a FastAPI app serving the REST API (/api/v1) and the htmx web pages."""
