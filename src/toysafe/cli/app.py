"""The ``toysafe`` command: the Typer app with every command module registered."""

from __future__ import annotations

from toysafe.cli import (  # noqa: F401 - importing registers the commands
    assess_cmds,
    bulk_cmds,
    certificate_cmds,
    evidence_cmds,
    portable_cmds,
    web_cmds,
    workspace_cmds,
)
from toysafe.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
