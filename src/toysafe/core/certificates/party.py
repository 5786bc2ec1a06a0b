"""Who certifies (contract section 7, ``toysafe/party@1``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toysafe.core.plain import plain_text

if TYPE_CHECKING:
    from toysafe.core.law.profile import Profile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    _plain = field_validator("*")(plain_text)


class Certifier(_Strict):
    """16 CFR 1110: name, full mailing address and telephone number."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=5)
    phone: str = Field(min_length=5)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")


class Custodian(_Strict):
    """16 CFR 1110: the person keeping the test records, with address, e-mail and phone."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=5)
    phone: str = Field(min_length=5)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


class Manufacturer(_Strict):
    name: str = Field(min_length=1)
    address: str = Field(min_length=5)
    phone: str | None = None
    email: str | None = None


class Party(_Strict):
    format: Literal["toysafe/party@1"] | None = None
    certifier: Certifier
    records_custodian: Custodian
    certifier_id: str | None = Field(default=None, min_length=1, max_length=19)
    manufacturer: Manufacturer | None = None


def manufacturer_of(profile: Profile, party: Party | None) -> dict[str, Any] | None:
    """The finished product's manufacturer: the profile's, else the party file's (contract 1).

    The certificate, the tracking label and the eFiling record all name this one.
    """
    if profile.manufacturer is not None:
        return profile.manufacturer.model_dump(exclude_none=True)
    if party is not None and party.manufacturer is not None:
        return party.manufacturer.model_dump(exclude_none=True)
    return None
