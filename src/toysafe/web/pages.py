"""The web pages (Jinja2 + htmx). Filled in by the web UI work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
