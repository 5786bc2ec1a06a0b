"""Who the command line acts as: kept apart from the store so that every command's start-up
(which records ``--actor``) does not import SQLAlchemy."""

from __future__ import annotations

import getpass

_ACTOR: list[str | None] = [None]  # --actor of the running command


def act_as(name: str | None) -> None:
    """Record ``name`` as the actor of this command's events (None: the default)."""
    _ACTOR[0] = name


def actor() -> str:
    """Who the command line records as the actor: --actor, else TOYSAFE_ACTOR, else the OS
    user marked as such ("os:alice"), so it is never mistaken for a signed-in account."""
    from toysafe.settings import settings  # only when an event is written

    return _ACTOR[0] or settings().actor or f"os:{getpass.getuser()}"
