"""A label proof: the tracking label and the warnings as they would print, 100 x 70 mm."""

from __future__ import annotations

from toysafe.core.certificates.labels import Label
from toysafe.render.pdf import html_to_pdf, render_html


def render_label(label: Label) -> bytes:
    return html_to_pdf(render_html("label.html.j2", label=label), base_css=False)
