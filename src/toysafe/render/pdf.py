"""HTML to PDF with WeasyPrint: local resources only, fonts embedded, attachments allowed."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _local_only() -> Any:
    """A fetcher for data: and file: URLs only; anything else stops the rendering."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)


@functools.cache
def environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def _stylesheet() -> Any:
    from weasyprint import CSS

    return CSS(
        filename=str(TEMPLATES / "base.css"), url_fetcher=_local_only(), font_config=_fonts()
    )


@functools.cache
def _fonts() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_html(template: str, **context: Any) -> str:
    return str(environment().get_template(template).render(**context))


def html_to_pdf(
    html: str,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    base_css: bool = True,
) -> bytes:
    """Render ``html``; each attachment is (file name, content, description)."""
    from weasyprint import HTML, Attachment

    files = [
        Attachment(string=data, name=name, description=desc) for name, data, desc in attachments
    ]
    document = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_local_only())
    pdf: bytes = document.write_pdf(
        stylesheets=[_stylesheet()] if base_css else [],
        font_config=_fonts(),
        attachments=files,
        uncompressed_pdf=False,
    )
    return pdf
