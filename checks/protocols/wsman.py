"""WS-Management (WinRM) codec: the unauthenticated ``Identify`` probe, SOAP faults, and
the ``WWW-Authenticate`` challenge list.

Facts used (sources in /work/shared/reference/protocols-and-adfs.md, section B):

* Identify request: ``POST /wsman`` with ``WSMANIDENTIFY: unauthenticated`` and
  ``Content-Type: application/soap+xml;charset=UTF-8``; body a SOAP 1.2 envelope whose body
  is ``wsmid:Identify`` (DMTF DSP0226 §11; curl recipe and Perl client cited in B.2).
* Identify response: ``wsmid:IdentifyResponse`` with ``ProtocolVersion``, ``ProductVendor``,
  ``ProductVersion`` (Windows writes ``OS: x.y.z SP: a.b Stack: n.m``; anonymous Identify
  hides the OS as ``OS: 0.0.0``) and, when authenticated, ``SecurityProfiles`` (B.2).
* Faults: SOAP 1.2 ``Fault`` (``Code/Value``, ``Code/Subcode/Value``, ``Reason/Text``) with
  Microsoft's ``WSManFault`` detail (namespace ``.../wsman/1/wsmanfault``, numeric ``Code``
  attribute, ``Machine``, ``Message``) and optionally ``MSFT_WmiError/error_Code`` (namespaces
  as pywinrm's ``protocol.py`` uses them). Code 2150858793 (0x80338029) is the operation
  timeout a Receive returns when no output arrived in ``OperationTimeout`` (MS-WSMV 3.1.4.14).
* Auth schemes come from the 401's ``WWW-Authenticate`` fields (B.2, [INF] there).

XML from the network is parsed only with defusedxml with DTDs forbidden, after a size
cap; every problem raises :class:`WsmanParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element  # type only: parsing uses defusedxml

from . import ProtocolError
from .xmlsafe import parse_untrusted_xml, text_of

__all__ = [
    "IDENTIFY_BODY",
    "MAX_XML_BYTES",
    "NS_SOAP",
    "NS_WSMANFAULT",
    "NS_WSMID",
    "OPERATION_TIMEOUT_CODE",
    "WSMAN_PATH",
    "IdentifyResponse",
    "WsmanFault",
    "WsmanParseError",
    "build_identify_request",
    "classify_http_auth",
    "parse_fault",
    "parse_identify_response",
]

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
NS_WSMANFAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_WMIERROR = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"

WSMAN_PATH = "/wsman"
"""The WinRM listener's URL path (ports 5985 HTTP, 5986 HTTPS)."""

MAX_XML_BYTES = 1024 * 1024
"""Largest SOAP body parsed; WinRM's own MaxEnvelopeSize default is 150 KiB."""

OPERATION_TIMEOUT_CODE = 2150858793
"""WSManFault Code of ERROR_WSMAN_OPERATION_TIMEDOUT (0x80338029)."""

IDENTIFY_BODY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
).encode("ascii")
"""The SOAP 1.2 Identify request body (no WS-Addressing headers: Identify takes none)."""

_MAX_AUTH_TEXT = 64 * 1024
# Schemes WinRM can offer, in their canonical spelling.
_KNOWN_SCHEMES = {
    "negotiate": "Negotiate",
    "kerberos": "Kerberos",
    "ntlm": "NTLM",
    "basic": "Basic",
    "credssp": "CredSSP",
    "digest": "Digest",
}
_SCHEME_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HOST_RE = re.compile(r"[A-Za-z0-9.\-:\[\]%]+")


class WsmanParseError(ProtocolError):
    """The bytes are not the WS-Management message expected (or are unsafe XML)."""


@dataclass(frozen=True)
class IdentifyResponse:
    """What a WS-Management ``Identify`` answer says about the listener.

    ``stack_version`` is ``"3.0"`` for WMF 3+ and ``"2.0"`` for WinRM 2.0 (2008 R2 era);
    ``os_version`` is None when the server hides it (``OS: 0.0.0``, anonymous Identify) or
    does not use the Windows ``ProductVersion`` format. ``security_profiles`` lists the
    ``SecurityProfileName`` URIs (present only in authenticated answers).
    """

    protocol_version: str
    product_vendor: str
    product_version: str
    stack_version: str | None
    os_version: str | None
    service_pack: str | None
    security_profiles: tuple[str, ...]


@dataclass(frozen=True)
class WsmanFault:
    """A SOAP fault from a WS-Management service.

    ``code``/``subcode`` are the QName texts as sent (e.g. ``s:Receiver``, ``w:TimedOut``);
    ``wsman_fault_code`` is the numeric ``Code`` attribute of Microsoft's ``WSManFault``
    detail (e.g. 2150858793), ``wmi_error_code`` the ``MSFT_WmiError`` ``error_Code``.
    """

    code: str | None
    subcode: str | None
    reason: str | None
    wsman_fault_code: int | None
    message: str | None
    machine: str | None = None
    wmi_error_code: int | None = None

    @property
    def is_operation_timeout(self) -> bool:
        """True for the Receive/operation timeout fault (retry, do not report failure)."""
        return self.wsman_fault_code == OPERATION_TIMEOUT_CODE or (
            self.subcode is not None and self.subcode.rsplit(":", 1)[-1] == "TimedOut"
        )

    @property
    def is_access_denied(self) -> bool:
        """True when the service refused the operation for this (authenticated) user."""
        return self.wsman_fault_code == 5 or (
            self.subcode is not None and self.subcode.rsplit(":", 1)[-1] == "AccessDenied"
        )


def build_identify_request(host: str) -> tuple[list[tuple[str, str]], bytes]:
    """Return the headers and body of an unauthenticated ``Identify`` request.

    ``host`` is the ``Host`` field value (``name`` or ``name:port``); it is included in the
    returned header list so the evidence shows every field sent. POST it to
    :data:`WSMAN_PATH` with :func:`~accessready.checks.protocols.httpmsg.build_request`.
    """
    if not isinstance(host, str) or not host or not _HOST_RE.fullmatch(host):
        raise ValueError(f"invalid host {host!r}")
    headers = [
        ("Host", host),
        ("Content-Type", "application/soap+xml;charset=UTF-8"),
        ("WSMANIDENTIFY", "unauthenticated"),
        ("Accept", "application/soap+xml, text/xml"),
        ("User-Agent", "accessready WS-Management probe"),
    ]
    return headers, IDENTIFY_BODY


def _parse_xml(body: bytes) -> Element:
    """Parse untrusted XML safely: size cap, no DTD, no entities, one error type."""
    return parse_untrusted_xml(body, MAX_XML_BYTES, WsmanParseError)


def _soap_body(root: Element) -> Element:
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        raise WsmanParseError(f"root element is {root.tag[:80]!r}, not a SOAP 1.2 Envelope")
    body = root.find(f"{{{NS_SOAP}}}Body")
    if body is None:
        raise WsmanParseError("SOAP envelope has no Body")
    return body


def _parse_product_version(text: str) -> dict[str, str]:
    """Split Windows' ``OS: 10.0.17763 SP: 0.0 Stack: 3.0`` into its labelled parts."""
    parts: dict[str, str] = {}
    for label, value in re.findall(r"(OS|SP|Stack):\s*([^\s]+)", text):
        parts.setdefault(label, value)
    return parts


def parse_identify_response(body: bytes) -> IdentifyResponse:
    """Parse a WS-Management ``IdentifyResponse`` envelope.

    Raises WsmanParseError for unsafe or malformed XML, for a SOAP fault (use
    :func:`parse_fault`), and for an envelope without ``IdentifyResponse``/``ProtocolVersion``.
    """
    soap_body = _soap_body(_parse_xml(body))
    if soap_body.find(f"{{{NS_SOAP}}}Fault") is not None:
        raise WsmanParseError("the answer is a SOAP fault, not an IdentifyResponse")
    ident = soap_body.find(f"{{{NS_WSMID}}}IdentifyResponse")
    if ident is None:
        raise WsmanParseError("no wsmid:IdentifyResponse in the SOAP body")
    protocol_version = text_of(ident.find(f"{{{NS_WSMID}}}ProtocolVersion"))
    if protocol_version is None:
        raise WsmanParseError("IdentifyResponse has no ProtocolVersion")
    vendor = text_of(ident.find(f"{{{NS_WSMID}}}ProductVendor")) or ""
    product_version = text_of(ident.find(f"{{{NS_WSMID}}}ProductVersion")) or ""
    parts = _parse_product_version(product_version)
    os_version = parts.get("OS")
    if os_version is not None and set(os_version) <= {"0", "."}:
        os_version = None  # "OS: 0.0.0" = hidden from anonymous callers, not a real version
    profiles = tuple(
        text
        for element in ident.iter(f"{{{NS_WSMID}}}SecurityProfileName")
        if (text := text_of(element)) is not None
    )
    return IdentifyResponse(
        protocol_version=protocol_version,
        product_vendor=vendor,
        product_version=product_version,
        stack_version=parts.get("Stack"),
        os_version=os_version,
        service_pack=parts.get("SP"),
        security_profiles=profiles,
    )


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def parse_fault(body: bytes) -> WsmanFault:
    """Parse a SOAP 1.2 fault as WinRM sends it (HTTP 500 with a ``s:Fault`` body).

    Lenient inside the fault (a missing part is None, a non-numeric code is None), strict
    about the frame: unsafe XML, a non-SOAP document or a body without ``Fault`` raise
    WsmanParseError.
    """
    soap_body = _soap_body(_parse_xml(body))
    fault = soap_body.find(f"{{{NS_SOAP}}}Fault")
    if fault is None:
        raise WsmanParseError("no SOAP Fault in the body")
    ns = f"{{{NS_SOAP}}}"
    code = text_of(fault.find(f"{ns}Code/{ns}Value"))
    subcode = text_of(fault.find(f"{ns}Code/{ns}Subcode/{ns}Value"))
    reason = text_of(fault.find(f"{ns}Reason/{ns}Text"))
    wsman_code: int | None = None
    message: str | None = None
    machine: str | None = None
    detail = fault.find(f"{ns}Detail")
    wmi_code: int | None = None
    if detail is not None:
        wsman_fault = detail.find(f"{{{NS_WSMANFAULT}}}WSManFault")
        if wsman_fault is not None:
            wsman_code = _int_or_none(wsman_fault.get("Code"))
            machine = wsman_fault.get("Machine")
            message = text_of(wsman_fault.find(f"{{{NS_WSMANFAULT}}}Message"))
        wmi_code = _int_or_none(
            text_of(detail.find(f"{{{NS_WMIERROR}}}MSFT_WmiError/{{{NS_WMIERROR}}}error_Code"))
        )
    return WsmanFault(
        code=code,
        subcode=subcode,
        reason=reason,
        wsman_fault_code=wsman_code,
        message=message,
        machine=machine,
        wmi_error_code=wmi_code,
    )


def _split_outside_quotes(text: str) -> list[str]:
    """Split a header value at commas that are not inside a quoted string."""
    pieces: list[str] = []
    current: list[str] = []
    in_quotes = False
    escaped = False
    for char in text:
        if in_quotes:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
            current.append(char)
        elif char == ",":
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def classify_http_auth(www_authenticate_values: list[str]) -> tuple[str, ...]:
    """Return the authentication schemes a 401 offers, in order, without duplicates.

    Each ``WWW-Authenticate`` field may hold several challenges (``Negotiate, Basic
    realm="WSMAN"``) and auth-params with quoted commas; known schemes come back in their
    canonical spelling (Negotiate, Kerberos, NTLM, Basic, CredSSP, Digest), any other scheme
    as sent. Raises WsmanParseError only when the fields exceed 64 KiB in total.
    """
    total = sum(len(v) for v in www_authenticate_values if isinstance(v, str))
    if total > _MAX_AUTH_TEXT:
        raise WsmanParseError("WWW-Authenticate fields exceed 64 KiB")
    schemes: list[str] = []
    for value in www_authenticate_values:
        if not isinstance(value, str):
            continue
        for piece in _split_outside_quotes(value):
            piece = piece.strip()
            match = _SCHEME_TOKEN_RE.match(piece)
            if not match:
                continue
            rest = piece[match.end() :]
            # "realm=..." (or "realm = ...") is an auth-param of the previous challenge; a
            # token68 as in "Negotiate YII...==" never starts with '=', so that is a scheme.
            if rest.lstrip(" \t").startswith("="):
                continue
            if rest and rest[0] not in " \t":
                continue
            token = match.group(0)
            name = _KNOWN_SCHEMES.get(token.lower(), token)
            if name not in schemes:
                schemes.append(name)
    return tuple(schemes)
