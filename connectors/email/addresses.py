"""Recipient addresses as SMTP can carry them: IDNA domains, and when SMTPUTF8 is needed.

``jöhn@exämple.com``: the domain becomes its IDNA form (``xn--exmple-cua.com``), which every
server takes; a local part with non-ASCII characters (``jöhn``) has no ASCII form at all and
needs a server that offers SMTPUTF8 (RFC 6531).
"""

from __future__ import annotations

from dataclasses import dataclass

import idna


class UndeliverableAddress(ValueError):
    """The address cannot be written in SMTP at all; the reason names why, not the address."""


@dataclass(frozen=True, slots=True)
class SmtpAddress:
    address: str
    # True when the local part is not ASCII: only a server with SMTPUTF8 can take it.
    needs_smtputf8: bool


def smtp_address(address: str) -> SmtpAddress:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise UndeliverableAddress("not an email address")
    if any(c in local for c in "\r\n<>") or any(c in domain for c in "\r\n<> "):
        raise UndeliverableAddress("the address holds characters SMTP cannot carry")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UndeliverableAddress("the domain is not a valid internationalised name") from None
    return SmtpAddress(f"{local}@{domain}", needs_smtputf8=not local.isascii())
