"""Federation metadata (SAML 2.0 / WS-Federation) as AD FS publishes it: bytes in, facts out.

AD FS serves ``/FederationMetadata/2007-06/FederationMetadata.xml``: one
``md:EntityDescriptor`` whose ``entityID`` is ``http://<fs>/adfs/services/trust``, an
enveloped ``ds:Signature`` made with the token-signing key, and role descriptors that
publish certificates in ``KeyDescriptor/ds:KeyInfo/ds:X509Data/ds:X509Certificate``
(base64 DER):

* ``RoleDescriptor xsi:type="fed:SecurityTokenServiceType"`` and
  ``xsi:type="fed:ApplicationServiceType"`` (WS-Federation),
* ``SPSSODescriptor`` and ``IDPSSODescriptor`` (SAML 2.0).

``use="signing"`` is the token-signing certificate, ``use="encryption"`` the
token-decrypting one; a ``KeyDescriptor`` without ``use`` serves both (SAML 2.0 metadata
§2.4.1.1). During a certificate rollover AD FS publishes two signing certificates.

This module is pure: no I/O, no clock. The XML goes through
:func:`~accessready.checks.protocols.xmlsafe.parse_untrusted_xml` with every DTD refused —
real metadata never has one, so a document type declaration is either an entity-expansion
bomb or an external-entity probe and is rejected before expansion. Documents over
:data:`MAX_METADATA_BYTES` are refused unread. Every problem raises
:class:`MetadataParseError` and nothing else.

What it cannot tell: whether the signature is valid (that needs exclusive XML
canonicalisation, which the standard library does not offer); :attr:`signed` only says
that a signature element is present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from . import ProtocolError
from .xmlsafe import parse_untrusted_xml

__all__ = [
    "MAX_METADATA_BYTES",
    "FederationMetadata",
    "KeyCert",
    "MetadataParseError",
    "MexDocument",
    "parse_metadata",
    "parse_mex",
]

MAX_METADATA_BYTES = 2 * 1024 * 1024
"""Largest document accepted. Real AD FS metadata is 30-150 KiB; 2 MiB leaves room for
farms with many endpoints and still bounds what a hostile server can make us hold."""

MAX_CERTIFICATES = 200
"""Most certificates read from one document (AD FS publishes at most a handful)."""

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

_ROLE_ELEMENTS = {"RoleDescriptor", "SPSSODescriptor", "IDPSSODescriptor",
                  "AuthnAuthorityDescriptor", "AttributeAuthorityDescriptor", "PDPDescriptor"}
_WHITESPACE = re.compile(r"\s+")


class MetadataParseError(ProtocolError):
    """The bytes are not federation metadata this parser accepts.

    ``kind`` says why: ``too_big``, ``dtd`` (a document type declaration: entity bomb or
    external entity), ``xml`` (not bytes, empty or not well-formed), ``not_metadata``
    (well-formed, but not an ``EntityDescriptor``), ``certificate`` (a certificate element
    is not base64).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    @classmethod
    def with_kind(cls, kind: str, message: str) -> MetadataParseError:
        """This class takes the kind first in its constructor."""
        return cls(kind, message)


@dataclass(frozen=True)
class KeyCert:
    """One certificate published in a role descriptor."""

    role: str  # "SecurityTokenServiceType", "ApplicationServiceType", "SPSSODescriptor", …
    use: str  # "signing" | "encryption" | "both" (no use attribute)
    der: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the DER bytes (a stable identity for comparisons)."""
        return hashlib.sha256(self.der).hexdigest()


@dataclass(frozen=True)
class FederationMetadata:
    """What one metadata document says."""

    entity_id: str
    document_id: str | None
    signed: bool
    keys: tuple[KeyCert, ...]
    roles: tuple[str, ...]
    signature_certs: tuple[bytes, ...] = ()
    size: int = 0

    def _unique(self, uses: tuple[str, ...]) -> list[bytes]:
        seen: dict[bytes, None] = {}
        for key in self.keys:
            if key.use in uses:
                seen.setdefault(key.der)
        return list(seen)

    def signing_certs(self) -> list[bytes]:
        """Distinct token-signing certificates (DER), in document order."""
        return self._unique(("signing", "both"))

    def encryption_certs(self) -> list[bytes]:
        """Distinct token-decrypting (encryption) certificates (DER), in document order."""
        return self._unique(("encryption", "both"))

    def roles_of(self, der: bytes, use: str) -> list[str]:
        """The role descriptors that publish ``der`` for ``use`` (signing/encryption)."""
        return sorted({k.role for k in self.keys if k.der == der and k.use in (use, "both")})

    def fingerprint(self) -> str:
        """A digest of what matters to a relying party: entityID and the certificate sets.

        AD FS gives every response a fresh ``ID`` and signature, so raw bytes differ
        between two fetches of the same configuration; this digest does not.
        """
        parts = [self.entity_id,
                 "S:" + ",".join(sorted(hashlib.sha256(d).hexdigest()
                                        for d in self.signing_certs())),
                 "E:" + ",".join(sorted(hashlib.sha256(d).hexdigest()
                                        for d in self.encryption_certs()))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _local(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag; comments and PIs have no str tag."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _decode_cert(text: str | None) -> bytes:
    compact = _WHITESPACE.sub("", text or "")
    if not compact:
        raise MetadataParseError("certificate", "an X509Certificate element is empty")
    try:
        der = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise MetadataParseError("certificate", "an X509Certificate element is not "
                                 "base64") from None
    if not der:
        raise MetadataParseError("certificate", "an X509Certificate element is empty")
    return der


def parse_metadata(data: bytes, *, max_bytes: int = MAX_METADATA_BYTES) -> FederationMetadata:
    """Parse one federation metadata document; raises :class:`MetadataParseError` only."""
    root = parse_untrusted_xml(data, max_bytes, MetadataParseError)
    try:
        return _read(root, len(data))
    except MetadataParseError:
        raise
    except Exception as exc:  # a shape the walker did not foresee: still only our error
        raise MetadataParseError("not_metadata", f"unexpected document structure: "
                                 f"{type(exc).__name__}") from None


def _read(root: object, size: int) -> FederationMetadata:
    ns, name = _local(getattr(root, "tag", None))
    if (ns, name) != (MD, "EntityDescriptor"):
        shown = f"{{{ns}}}{name}" if ns else name or "?"
        raise MetadataParseError("not_metadata", f"the root element is {shown[:120]}, not "
                                 "a SAML 2.0 md:EntityDescriptor")
    entity_id = (root.get("entityID") or "").strip()  # type: ignore[attr-defined]
    if not entity_id:
        raise MetadataParseError("not_metadata", "the EntityDescriptor has no entityID")
    keys: list[KeyCert] = []
    roles: list[str] = []
    signature_certs: list[bytes] = []
    signed = False
    count = 0
    for child in list(root):  # type: ignore[call-overload]
        cns, cname = _local(child.tag)
        if (cns, cname) == (DS, "Signature"):
            signed = True
            for el in child.iter(f"{{{DS}}}X509Certificate"):
                count += 1
                if count > MAX_CERTIFICATES:
                    raise MetadataParseError("too_big", "too many certificates")
                signature_certs.append(_decode_cert(el.text))
            continue
        if cns != MD or cname not in _ROLE_ELEMENTS:
            continue
        role = cname
        if cname == "RoleDescriptor":
            xsi_type = child.get(f"{{{XSI}}}type") or ""
            role = xsi_type.rpartition(":")[2] or "RoleDescriptor"
        roles.append(role)
        for kd in child.findall(f"{{{MD}}}KeyDescriptor"):
            # No use attribute: the key serves both purposes (SAML metadata §2.4.1.1).
            # Any other value is kept as written and counts as neither.
            use = (kd.get("use") or "").strip().lower()[:40] or "both"
            for el in kd.iter(f"{{{DS}}}X509Certificate"):
                count += 1
                if count > MAX_CERTIFICATES:
                    raise MetadataParseError("too_big", "too many certificates")
                keys.append(KeyCert(role=role, use=use, der=_decode_cert(el.text)))
    document_id = root.get("ID")  # type: ignore[attr-defined]
    return FederationMetadata(entity_id=entity_id, document_id=document_id, signed=signed,
                              keys=tuple(keys), roles=tuple(roles),
                              signature_certs=tuple(signature_certs), size=size)


# --- WS-MetadataExchange (/adfs/services/trust/mex) ---------------------------------------

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSA10 = "http://www.w3.org/2005/08/addressing"


@dataclass(frozen=True)
class MexDocument:
    """What ``/adfs/services/trust/mex`` says: the WS-Trust endpoint addresses."""

    addresses: tuple[str, ...]
    size: int = 0


def parse_mex(data: bytes, *, max_bytes: int = MAX_METADATA_BYTES) -> MexDocument:
    """Parse the WS-MetadataExchange WSDL AD FS serves; raises :class:`MetadataParseError`.

    Only AD FS itself writes this document (a WAP relays it), so a parsed WSDL through a
    WAP proves the WAP reached the federation service behind it.
    """
    root = parse_untrusted_xml(data, max_bytes, MetadataParseError)
    ns, name = _local(getattr(root, "tag", None))
    if (ns, name) != (WSDL, "definitions"):
        raise MetadataParseError("not_metadata", "the root element is not a WSDL "
                                 "wsdl:definitions")
    addresses: dict[str, None] = {}
    try:
        for el in root.iter(f"{{{WSA10}}}Address"):  # type: ignore[attr-defined]
            text = (el.text or "").strip()
            if text and len(addresses) < MAX_CERTIFICATES:
                addresses.setdefault(text[:2048])
    except Exception as exc:  # still only our error, whatever the tree holds
        raise MetadataParseError("not_metadata", f"unexpected WSDL structure: "
                                 f"{type(exc).__name__}") from None
    return MexDocument(addresses=tuple(addresses), size=len(data))
