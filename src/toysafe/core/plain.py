"""What every text field of a toysafe model must be: Unicode text without NUL.

A NUL or a lone surrogate cannot be stored (PostgreSQL refuses both) and no legitimate
document holds one, so the models refuse them wherever the data came from (a file, a form
or the REST API), with the field named by pydantic.
"""

from __future__ import annotations

from typing import Any


def plain_text(value: Any) -> Any:
    """``value`` unchanged, or ValueError for a string (or list of strings) that is not text."""
    for text in value if isinstance(value, list) else (value,):
        if isinstance(text, str):
            if "\x00" in text:
                raise ValueError("contains a NUL character")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("contains a lone surrogate (not Unicode text)") from None
    return value
