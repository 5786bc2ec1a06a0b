"""Document rendering adapters: HTML templates to PDF (WeasyPrint), PDF signatures (pyHanko)."""
