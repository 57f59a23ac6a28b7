"""Whether the receiving side vouches that a mail's sender controls its From address.

Anyone can write any From. A sender is taken to control the address only when the
provider that received the mail says DKIM or SPF passed (or DMARC, which combines them)
for a domain aligned with the From domain: the From domain itself or a parent of it,
whose owner controls the From domain's DNS. A signature or an envelope of another
domain proves nothing about the From address, even when it passes.

What counts as the receiving side's word differs by provider. SendGrid's ``SPF`` and
``dkim`` form fields are its own. Mailgun's ``X-Mailgun-Spf`` and
``X-Mailgun-Dkim-Check-Result`` and Postmark's ``Received-SPF`` are headers of the message,
where a sender can write the same names: they count only when every copy in the message
passes and aligns, so a forged copy next to the provider's own changes nothing.
``Authentication-Results`` (RFC 8601) counts only in the topmost header, which the
receiving server prepends, or in the topmost one bearing a configured authserv-id.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

__all__ = [
    "AuthClaim",
    "ResultsHeader",
    "SenderAuthentication",
    "SenderTrust",
    "aligned",
    "from_mailgun_headers",
    "from_received_spf",
    "from_sendgrid_fields",
    "results_headers",
]

#: The headers that carry authentication verdicts or the signatures they are about.
AUTH_HEADERS = frozenset(
    {
        "authentication-results",
        "received-spf",
        "x-mailgun-spf",
        "x-mailgun-dkim-check-result",
        "dkim-signature",
    }
)

_COMMENT = re.compile(r"\([^()]*\)")
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.I)
_SENDGRID_DKIM = re.compile(r"@([A-Za-z0-9.-]+)\s*:\s*([A-Za-z]+)")
_ENVELOPE_FROM = re.compile(r"envelope-from\s*=\s*\"?<?([^;\s\">]+)", re.I)


@dataclass(frozen=True)
class AuthClaim:
    """One check of the receiving side: ``method`` (dkim, spf, dmarc) gave ``result`` for
    ``domain`` (None: the check does not say which domain it was about)."""

    method: str
    result: str
    domain: str | None


@dataclass(frozen=True)
class ResultsHeader:
    """One ``Authentication-Results`` header: who wrote it and what it says."""

    authserv_id: str
    claims: tuple[AuthClaim, ...]


@dataclass(frozen=True)
class SenderTrust:
    """Which verdicts the connector believes, from its settings."""

    #: authserv-ids whose Authentication-Results count; empty: the topmost header counts.
    authserv_ids: frozenset[str] = frozenset()
    #: Mailgun marks every mail with its verdict headers (its spam filter is set to "mark
    #: spam with MIME headers"); otherwise a sender's own copies would be the only ones.
    mailgun_headers: bool = False


@dataclass(frozen=True)
class SenderAuthentication:
    """What the receiving side said about a mail's sender, before it is held against From."""

    #: The provider's own verdicts.
    claims: tuple[AuthClaim, ...] = ()
    #: Authentication-Results headers, top first, where the receiving side writes its own.
    results: tuple[ResultsHeader, ...] = ()
    #: Mailgun's verdict headers, believed only when Mailgun is known to write them.
    mailgun_claims: tuple[AuthClaim, ...] = ()

    def vouches_for(self, address: str | None, *, trust: SenderTrust) -> bool:
        """True when DKIM, SPF or DMARC passed for a domain aligned with ``address``'s."""
        from_domain = _domain_of(address)
        if from_domain is None:
            return False
        claims = list(self.claims)
        if trust.mailgun_headers:
            claims.extend(self.mailgun_claims)
        header = self._trusted_header(trust.authserv_ids)
        if header is not None:
            claims.extend(header.claims)
        return any(
            claim.result == "pass"
            and claim.domain is not None
            and aligned(claim.domain, from_domain)
            for claim in claims
        )

    def _trusted_header(self, authserv_ids: Collection[str]) -> ResultsHeader | None:
        if not authserv_ids:
            return self.results[0] if self.results else None
        wanted = {i.lower() for i in authserv_ids}
        return next((h for h in self.results if h.authserv_id.lower() in wanted), None)


def aligned(domain: str, from_domain: str) -> bool:
    """The From domain itself, or a parent of it (not a bare top-level domain)."""
    domain, from_domain = domain.strip(".").lower(), from_domain.strip(".").lower()
    if domain == from_domain:
        return True
    return "." in domain and from_domain.endswith("." + domain)


def _domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().strip(">").strip(".").lower()
    return domain or None


def _values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _uncommented(value: str) -> str:
    previous = None
    while previous != value:  # comments may nest
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def _resinfo(text: str) -> AuthClaim | None:
    tokens = text.split()
    if not tokens or "=" not in tokens[0]:
        return None
    method, _, result = tokens[0].partition("=")
    props = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if sep:
            props[key.lower()] = value.strip('"').lower()
    method = method.split("/")[0].lower()
    domain: str | None = None
    if method == "dkim":
        identity = props.get("header.i", "")
        domain = props.get("header.d") or (identity.rsplit("@", 1)[-1] if identity else None)
    elif method == "spf":
        mailfrom = props.get("smtp.mailfrom")
        domain = mailfrom.rsplit("@", 1)[-1] if mailfrom else None
    elif method == "dmarc":
        domain = props.get("header.from")
    return AuthClaim(method=method, result=result.lower(), domain=domain or None)


def _results_header(value: str) -> ResultsHeader | None:
    parts = _uncommented(value).split(";")
    head = parts[0].split()
    if not head:
        return None
    claims = tuple(c for c in (_resinfo(part) for part in parts[1:]) if c is not None)
    return ResultsHeader(authserv_id=head[0], claims=claims)


def results_headers(headers: Sequence[tuple[str, str]]) -> tuple[ResultsHeader, ...]:
    """The ``Authentication-Results`` headers of a message, top first."""
    found = (_results_header(v) for v in _values(headers, "authentication-results"))
    return tuple(h for h in found if h is not None)


def _all_pass(values: list[str]) -> bool:
    """At least one copy, and every copy says pass (a forged copy cannot outvote the real one)."""
    return bool(values) and all((v.split() or [""])[0].strip(";").lower() == "pass" for v in values)


def from_mailgun_headers(
    headers: Sequence[tuple[str, str]], *, envelope_sender: str | None
) -> tuple[AuthClaim, ...]:
    """Mailgun's verdicts: its SPF result is about the envelope sender; its DKIM result names
    no domain, so it counts only when every DKIM signature of the message is of one domain."""
    claims: list[AuthClaim] = []
    if _all_pass(_values(headers, "x-mailgun-spf")):
        claims.append(AuthClaim("spf", "pass", _domain_of(envelope_sender)))
    if _all_pass(_values(headers, "x-mailgun-dkim-check-result")):
        domains = {_signing_domain(value) for value in _values(headers, "dkim-signature")}
        if len(domains) == 1 and None not in domains:
            claims.append(AuthClaim("dkim", "pass", domains.pop()))
    return tuple(claims)


def _signing_domain(signature: str) -> str | None:
    """The ``d=`` tag of a DKIM-Signature."""
    match = _DKIM_DOMAIN.search(signature)
    return match.group(1).strip().lower() if match is not None else None


def from_received_spf(headers: Sequence[tuple[str, str]]) -> tuple[AuthClaim, ...]:
    """``Received-SPF`` (RFC 7208 9.1): a pass about the envelope sender it names, when every
    copy passes and names the same domain."""
    values = _values(headers, "received-spf")
    if not _all_pass(values):
        return ()
    domains = set()
    for value in values:
        match = _ENVELOPE_FROM.search(value)
        domains.add(_domain_of(match.group(1)) if match else None)
    if len(domains) != 1 or None in domains:
        return ()
    return (AuthClaim("spf", "pass", domains.pop()),)


def from_sendgrid_fields(
    spf: str | None, dkim: str | None, *, envelope_sender: str | None
) -> tuple[AuthClaim, ...]:
    """SendGrid's ``SPF`` (about the envelope sender) and ``dkim`` (``{@domain : pass}``)."""
    claims: list[AuthClaim] = []
    if (spf or "").strip().lower() == "pass":
        claims.append(AuthClaim("spf", "pass", _domain_of(envelope_sender)))
    for domain, result in _SENDGRID_DKIM.findall(dkim or ""):
        claims.append(AuthClaim("dkim", result.lower(), domain.lower()))
    return tuple(claims)
