"""Every environment variable toysafe reads, with its default and meaning, in one place.

Settings are read when asked for (``settings()``), not at import, so a command that sets
``TOYSAFE_HOME`` before starting the server, or a test that patches the environment, is
honoured. An empty variable counts as unset (``TOYSAFE_DATABASE_URL=`` means SQLite)."""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Literal

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
    backup_passphrase: str | None = Field(
        None,
        description="Passphrase that encrypts the signing and session keys in `toysafe backup` "
        "(and decrypts them in `restore`) when no --passphrase-file is given; with neither, "
        "backup refuses (exit 2) unless --without-keys leaves the keys out on purpose.",
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

    # --- the web server (issue 14): throttling, limits, load shedding, reset by e-mail ---------
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or CIDR networks of reverse proxies whose "
        "X-Forwarded-For is believed; from any other peer the header is ignored.",
    )
    max_body_bytes: int = Field(
        5 * 1024 * 1024,
        description="Largest request body accepted (413 otherwise), checked before the body "
        "is read whole and before anyone is authenticated.",
    )
    max_inflight: int = Field(
        12, description="Requests a server worker handles at once; more wait in a queue."
    )
    max_queue: int = Field(
        200, description="Requests that may wait per worker; beyond that, 503 with Retry-After."
    )
    queue_wait: float = Field(
        2.0, description="Seconds a request may wait for its turn before it gets 503."
    )
    db_pool_size: int = Field(
        10, description="PostgreSQL connections kept open per process (SQLAlchemy pool_size)."
    )
    db_max_overflow: int = Field(
        15,
        description="Extra PostgreSQL connections per process under load (max_overflow); a "
        "request holds at most two, so keep pool_size + max_overflow >= 2 * max_inflight.",
    )
    cache_dir: str | None = Field(
        None,
        description="Where `toysafe bulk` and the compiled sweep keep compiled SQL between runs "
        "(keyed by the rules, the compiler and the library versions); `off` keeps none. "
        "Default: $XDG_CACHE_HOME/toysafe, else ~/.cache/toysafe.",
    )
    password_hash_cost: Literal["recommended", "minimum"] = Field(
        "recommended",
        description="Argon2id cost of new password hashes: recommended (pwdlib's default: 64 MiB, "
        "3 passes) or minimum (1 pass over 8 KiB: for test suites only, never for real "
        "accounts). A stored hash verifies whatever this says: its cost is written in it.",
    )
    login_free_failures: int = Field(
        5, description="Wrong passwords per account before sign-in backs off."
    )
    login_backoff_base: float = Field(
        5.0, description="Seconds of the first backoff; each further wrong password doubles it."
    )
    login_backoff_max: float = Field(
        60.0, description="Longest backoff in seconds (the right password works after it)."
    )
    client_login_failures: int = Field(
        20, description="Failed sign-ins per client address (any accounts) per client window."
    )
    client_token_failures: int = Field(
        30, description="Unknown API tokens per client address per client window (then 429)."
    )
    client_window: float = Field(
        300.0, description="Seconds over which failures per client address are counted."
    )
    session_hours: float = Field(
        8.0, description="Hours a web session lasts (signing out ends it at once)."
    )
    smtp_host: str = Field(
        "",
        description="SMTP server that sends password-reset mail and the program's notices; "
        "empty: no reset by e-mail and notices go by webhook only.",
    )
    smtp_port: int = Field(25, description="Port of the SMTP server (STARTTLS when offered).")
    smtp_from: str = Field(
        "toysafe@localhost", description="Sender address of password-reset mail and notices."
    )
    # --- delivering the program's notices (toysafe program deliver) -------------------------
    deliver_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts per notice and target before it is dead."
    )
    deliver_backoff_base: float = Field(
        5.0, gt=0, description="Seconds before the second attempt; each further one doubles it."
    )
    deliver_backoff_max: float = Field(
        86_400.0, gt=0, description="Longest wait between two attempts, in seconds."
    )
    deliver_jitter: float = Field(
        0.2, ge=0, le=1, description="Random extra wait, as a fraction of the backoff (0-1)."
    )
    deliver_timeout: float = Field(
        15.0, gt=0, description="Seconds a webhook receiver or the SMTP server has to answer."
    )
    webhook_allow_http: bool = Field(
        False,
        description="Allow plain http:// webhook URLs (1); by default only https:// is "
        "registered and delivered to. For tests and development.",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook URLs on loopback, private, link-local, multicast or reserved "
        "addresses (1), checked at registration and at each delivery on the resolved address; "
        "by default refused (no request forgery into the server's network). For tests and "
        "development, or a receiver on the internal network.",
    )
    reset_minutes: float = Field(30.0, description="Minutes a password-reset link works (once).")
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL of links in e-mails (never taken from a request's Host header); "
        "`toysafe serve` sets http://HOST:PORT unless set.",
    )

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        return _networks(self.trusted_proxies)

    def is_proxy(self, host: str) -> bool:
        """Whether ``host`` (the peer of a request) is one of the trusted proxies."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.proxy_networks)

    def workspace(self, explicit: Path | None = None) -> Path:
        """The workspace: ``explicit`` (--workspace), else TOYSAFE_HOME, else the current
        directory."""
        if explicit is not None:
            return explicit
        return self.home or Path.cwd()


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=16)
def _networks(text: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def cache_dir() -> Path | None:
    """The compiled-SQL cache directory (``TOYSAFE_CACHE_DIR``, XDG's, or none when ``off``)."""
    value = settings().cache_dir
    if value == "off":
        return None
    if value:
        return Path(value)
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "toysafe"


def settings() -> Settings:
    """The settings as the environment gives them now."""
    return Settings()


def workspace(explicit: Path | None = None) -> Path:
    """The workspace directory: --workspace, else TOYSAFE_HOME, else the current directory."""
    return settings().workspace(explicit)


def env_name(field: str) -> str:
    """The environment variable of a settings field (``home`` -> ``TOYSAFE_HOME``)."""
    return ENV_PREFIX + field.upper()
