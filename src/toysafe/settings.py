"""Every environment variable toysafe reads, with its default and meaning, in one place.

Settings are read when asked for (``settings()``), not at import, so a command that sets
``TOYSAFE_HOME`` before starting the server, or a test that patches the environment, is
honoured. An empty variable counts as unset (``TOYSAFE_DATABASE_URL=`` means SQLite)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TOYSAFE_"


class Settings(BaseSettings):
    """toysafe's settings; each field is the variable ``TOYSAFE_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    home: Path | None = Field(
        None,
        description="The workspace directory (database, keys, session secret, certificates). "
        "Default: the current directory. `--workspace` on the command line wins.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the workspace database, e.g. "
        "postgresql+psycopg://user@host/db. Default: SQLite in the workspace (toysafe.db).",
    )
    signing_key: Path | None = Field(
        None,
        description="Path to the Ed25519 PEM private key that signs certificates (its .crt "
        "beside it); must exist. Default: .toysafe/keys/signing.pem in the workspace, "
        "created on first use.",
    )
    actor: str | None = Field(
        None,
        description="The name recorded as the actor of workspace events from the command line. "
        "Default: the operating-system user. The web app records the signed-in user instead.",
    )
    session_secret: str | None = Field(
        None,
        description="Secret that signs web session cookies. Default: a random secret kept in "
        ".toysafe/session.key in the workspace (created once, shared by server workers).",
    )
    secure_cookies: bool = Field(
        True,
        description="Send session cookies over HTTPS only (1) or also over plain HTTP (0). "
        "`toysafe serve` sets 0 when it listens on a loopback address, unless set.",
    )

    program_sweep_hour: str = Field(
        "2",
        description="Hour of the day (0-23, local time) at which `toysafe serve` runs the "
        "marketplace program's daily sweep (one worker per day, claimed in the database); "
        "`off` disables it.",
    )

    def workspace(self, explicit: Path | None = None) -> Path:
        """The workspace: ``explicit`` (--workspace), else TOYSAFE_HOME, else the current
        directory."""
        if explicit is not None:
            return explicit
        return self.home or Path.cwd()


def settings() -> Settings:
    """The settings as the environment gives them now."""
    return Settings()


def workspace(explicit: Path | None = None) -> Path:
    """The workspace directory: --workspace, else TOYSAFE_HOME, else the current directory."""
    return settings().workspace(explicit)


def env_name(field: str) -> str:
    """The environment variable of a settings field (``home`` -> ``TOYSAFE_HOME``)."""
    return ENV_PREFIX + field.upper()
