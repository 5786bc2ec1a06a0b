"""Command-line adapter (Typer); heavy modules are imported inside commands for a fast start."""
