"""The ``toysafe`` command: the Typer app with every command module registered."""

from __future__ import annotations

from toysafe.cli import (  # noqa: F401 - importing registers the commands
    assess_cmds,
    bulk_cmds,
    certificate_cmds,
    delivery_cmds,
    due_cmds,
    evidence_cmds,
    impact_cmds,
    init_cmds,
    keys_cmds,
    labs_cmds,
    listings_cmds,
    lot_cmds,
    portable_cmds,
    product_cmds,
    program_cmds,
    program_review_cmds,
    record_cmds,
    report_cmds,
    simulate_cmds,
    status_cmds,
    validation_cmds,
    web_cmds,
)
from toysafe.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
