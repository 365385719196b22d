"""Cisco AnyConnect (and ocserv) codec: the XML "aggregate auth" init exchange and the CSTP
headers that decide split versus full tunnel.

Facts used (reference /work/shared/reference/protocols-and-adfs.md, section F):

* Init request (F.1): ``POST /`` (or the group URL path) with ``X-Transcend-Version: 1``,
  ``X-Aggregate-Auth: 1``, ``Accept-Encoding: identity``, ``Content-Type: application/xml;
  charset=utf-8`` and the body ``<config-auth client="vpn" type="init">`` holding
  ``<version who="vpn">``, ``<device-id>``, optional ``<group-select>`` and
  ``<group-access>`` (the URL the user typed). ``aggregate-auth-version="2"`` is also sent,
  as Cisco's own client and compatible clients do.
* ``X-AnyConnect-Platform`` is sent only when asked for: newer ASAs reject the init POST
  when it is present (F.2, what-vpn / openconnect issue #101).
* User-Agent: ASAs choose between the XML aggregate-auth flow and the HTML portal by the
  User-Agent, and some deployments only admit Cisco client strings (F.2, [INF] in part).
  We therefore send the string Cisco's Windows client sends, ``AnyConnect Windows
  <version>``. ocserv 1.1.6 recognises it as an AnyConnect client and answers the init
  POST with the XML form (verified on loopback while writing this module).
* Reply (F.2): ``<config-auth type="auth-request">`` with ``<version who="sg">``,
  ``<auth id=...>`` (``message``, ``error``, ``form action`` with ``input`` and the
  ``select name="group_list"`` options); ASAs add ``<opaque is-for="sg">`` with
  ``tunnel-group``/``group-alias``, and may ask for a certificate (``client-cert-request``)
  or host scanning (``host-scan``). Session tokens of a ``complete`` reply are deliberately
  not surfaced: they are secrets.
* CSTP (F.3): at CONNECT the gateway sends ``X-CSTP-Address``/``-Netmask``, one
  ``X-CSTP-Split-Include``/``-Exclude`` (and ``-IP6``) per route, ``X-CSTP-Tunnel-All-DNS``
  and ``X-CSTP-Server-Name``. No split-include means every route goes through the tunnel.

XML from the network is parsed only with defusedxml with DTDs forbidden, after a size
cap; every problem raises :class:`AnyConnectParseError`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

# Building only; replies are parsed with defusedxml below.
from xml.etree.ElementTree import Element, SubElement, tostring

from . import ProtocolError
from .xmlsafe import parse_untrusted_xml, text_of

__all__ = [
    "DEFAULT_USER_AGENT",
    "MAX_XML_BYTES",
    "AnyConnectParseError",
    "AuthReply",
    "CstpConfig",
    "build_init_request",
    "gateway_target",
    "is_full_tunnel",
    "parse_auth_reply",
    "parse_cstp_headers",
]

DEFAULT_USER_AGENT = "AnyConnect Windows 4.10.07061"
"""What Cisco's Windows client sends; ASAs that filter clients by User-Agent admit it."""

MAX_XML_BYTES = 1024 * 1024
"""Largest XML reply parsed (real ones are a few KiB)."""

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PLATFORM_RE = re.compile(r"[A-Za-z0-9._-]{1,32}")
_VERSION_RE = re.compile(r"[A-Za-z0-9.()_-]{1,32}")
_MAX_HEADER_VALUE = 4096


class AnyConnectParseError(ProtocolError):
    """The bytes are not the AnyConnect message expected (or are unsafe XML)."""


@dataclass(frozen=True)
class AuthReply:
    """What a gateway's ``config-auth`` reply reveals before any credential is sent.

    ``type`` is ``auth-request`` (a login form follows), ``complete`` or whatever the
    gateway sent. ``inputs`` are ``(name, type, label)``; ``groups`` are ``(value, label)``
    from ``<select name="group_list">``; ``tunnel_group``/``group_alias`` come from the
    ASA's ``<opaque is-for="sg">``.
    """

    type: str
    server_version: str | None
    auth_id: str | None
    message: str | None
    error: str | None
    form_action: str | None
    inputs: tuple[tuple[str, str, str], ...]
    groups: tuple[tuple[str, str], ...]
    tunnel_group: str | None
    group_alias: str | None
    client_cert_requested: bool
    host_scan: bool
    title: str | None = None
    banner: str | None = None

    def offers_group(self, name: str) -> bool:
        """True if ``name`` is one of the offered groups (by value or label, any case)."""
        wanted = name.casefold()
        return any(wanted in (value.casefold(), label.casefold()) for value, label in self.groups)


@dataclass(frozen=True)
class CstpConfig:
    """The tunnel configuration a gateway pushes in its CSTP ``CONNECT`` answer.

    Routes are normalised to CIDR strings (``10.10.10.0/24``); ``tunnel_all_dns`` is None
    when the gateway did not say.
    """

    address: str | None
    netmask: str | None
    split_include: tuple[str, ...]
    split_exclude: tuple[str, ...]
    tunnel_all_dns: bool | None
    server_name: str | None
    split_include_ip6: tuple[str, ...] = ()
    split_exclude_ip6: tuple[str, ...] = ()
    address_ip6: str | None = None


def gateway_target(gateway_url: str) -> str:
    """Return the request target (path) to POST the init request to for ``gateway_url``."""
    parts = _split_gateway(gateway_url)
    return parts.path or "/"


def _split_gateway(gateway_url: str) -> SplitResult:
    if not isinstance(gateway_url, str) or _XML_ILLEGAL_RE.search(gateway_url):
        raise ValueError("gateway_url must be a clean string")
    if re.search(r"[\s\x7f]", gateway_url):
        raise ValueError("gateway_url must not contain whitespace")
    parts = urlsplit(gateway_url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"gateway_url must be https://host[:port][/path], got {gateway_url!r}")
    if parts.username or parts.password:
        raise ValueError("gateway_url must not carry credentials")
    if parts.query or parts.fragment:
        raise ValueError("gateway_url must not have a query or fragment")
    try:
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"bad port in gateway_url: {exc}") from None
    if not parts.netloc.isascii() or not parts.path.isascii():
        raise ValueError("gateway_url must be ASCII (IDNA/percent-encode it)")
    return parts


def _check_xml_text(what: str, value: str) -> None:
    # Control characters are refused too: XML cannot carry most of them, and parsers turn
    # CR into LF, so the gateway would not see the name that was configured.
    if _XML_ILLEGAL_RE.search(value) or re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError(f"{what} contains control characters or characters XML cannot carry")


def build_init_request(
    gateway_url: str,
    group: str | None,
    version: str = "v9.01",
    platform: str | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
) -> tuple[list[tuple[str, str]], bytes]:
    """Return the headers and body of the aggregate-auth ``init`` POST.

    ``gateway_url`` is what a user types into the client (``https://vpn.example.se`` or
    ``https://vpn.example.se:8443/group-url``); it becomes ``<group-access>`` and the Host
    header (POST it to :func:`gateway_target`). ``group`` is sent as ``<group-select>``.
    ``platform`` (``win``, ``linux-64``, ``mac-intel``) adds ``X-AnyConnect-Platform`` and is
    the ``<device-id>``; without it the device id is ``win`` and the header is left out.
    Values are escaped by the XML serialiser; CR/LF never reach a header.
    """
    parts = _split_gateway(gateway_url)
    if group is not None:
        if not isinstance(group, str) or not group.strip() or len(group) > 256:
            raise ValueError("group must be a non-empty string of at most 256 characters")
        _check_xml_text("group", group)
    if not _VERSION_RE.fullmatch(version):
        raise ValueError(f"invalid client version {version!r}")
    if platform is not None and not _PLATFORM_RE.fullmatch(platform):
        raise ValueError(f"invalid platform {platform!r}")
    if not user_agent.isascii() or re.search(r"[\x00-\x1f\x7f]", user_agent):
        raise ValueError("user_agent must be printable ASCII")

    root = Element("config-auth", {"client": "vpn", "type": "init", "aggregate-auth-version": "2"})
    SubElement(root, "version", {"who": "vpn"}).text = version
    SubElement(root, "device-id").text = platform or "win"
    if group is not None:
        SubElement(root, "group-select").text = group
    SubElement(root, "group-access").text = gateway_url
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(
        root, encoding="utf-8", xml_declaration=False
    )

    headers = [
        ("Host", parts.netloc),
        ("User-Agent", user_agent),
        ("Accept", "*/*"),
        ("Accept-Encoding", "identity"),
        ("X-Transcend-Version", "1"),
        ("X-Aggregate-Auth", "1"),
    ]
    if platform is not None:
        headers.append(("X-AnyConnect-Platform", platform))
    headers.append(("Content-Type", "application/xml; charset=utf-8"))
    return headers, body


def _parse_xml(body: bytes) -> Element:
    return parse_untrusted_xml(body, MAX_XML_BYTES, AnyConnectParseError)


def _error_text(element: Element | None) -> str | None:
    """ASA errors look like ``<error id="88" param1="x">Login failed: %s</error>``."""
    text = text_of(element)
    if element is None or text is None:
        return text
    for index in (1, 2):
        param = element.get(f"param{index}")
        if "%s" in text and param is not None:
            text = text.replace("%s", param, 1)
    return text


def parse_auth_reply(body: bytes) -> AuthReply:
    """Parse a gateway's ``<config-auth>`` reply to the init POST.

    Raises AnyConnectParseError for unsafe or malformed XML and for a document whose root
    is not ``config-auth`` (an HTML portal page, for instance).
    """
    root = _parse_xml(body)
    if root.tag != "config-auth":
        raise AnyConnectParseError(f"root element is {root.tag[:80]!r}, not config-auth")
    reply_type = root.get("type") or ""

    server_version = None
    for version in root.findall("version"):
        if version.get("who") == "sg":
            server_version = text_of(version)
            break

    auth = root.find("auth")
    auth_id = auth.get("id") if auth is not None else None
    message = title = banner = error = form_action = None
    inputs: list[tuple[str, str, str]] = []
    groups: list[tuple[str, str]] = []
    if auth is not None:
        message = text_of(auth.find("message"))
        title = text_of(auth.find("title"))
        banner = text_of(auth.find("banner"))
        error = _error_text(auth.find("error"))
        form = auth.find("form")
        if form is not None:
            form_action = form.get("action")
            for field in form.findall("input"):
                inputs.append(
                    (field.get("name") or "", field.get("type") or "", field.get("label") or "")
                )
            for select in form.findall("select"):
                if select.get("name") != "group_list":
                    continue
                for option in select.findall("option"):
                    label = text_of(option) or ""
                    value = option.get("value")
                    groups.append((value if value is not None else label, label))
    if error is None:
        error = _error_text(root.find("error"))

    opaque = None
    for candidate in root.findall("opaque"):
        if candidate.get("is-for") == "sg":
            opaque = candidate
            break
    tunnel_group = text_of(opaque.find("tunnel-group")) if opaque is not None else None
    group_alias = text_of(opaque.find("group-alias")) if opaque is not None else None

    return AuthReply(
        type=reply_type,
        server_version=server_version,
        auth_id=auth_id,
        message=message,
        error=error,
        form_action=form_action,
        inputs=tuple(inputs),
        groups=tuple(groups),
        tunnel_group=tunnel_group,
        group_alias=group_alias,
        client_cert_requested=root.find("client-cert-request") is not None,
        host_scan=root.find("host-scan") is not None or root.find("csd") is not None,
        title=title,
        banner=banner,
    )


def _route(value: str, *, ip6: bool) -> str:
    """Normalise ``10.0.0.0/255.0.0.0`` or ``10.0.0.0/8`` (or an IPv6 prefix) to CIDR."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise AnyConnectParseError(f"bad route {value[:80]!r}") from None
    if (network.version == 6) != ip6:
        raise AnyConnectParseError(f"route {value[:80]!r} has the wrong IP version")
    return str(network)


def _address(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise AnyConnectParseError(f"bad {what} {value[:80]!r}") from None


def parse_cstp_headers(headers: Iterable[tuple[str, str]]) -> CstpConfig:
    """Extract the tunnel configuration from the header fields of a CSTP ``CONNECT`` reply.

    Raises AnyConnectParseError for a malformed address, netmask or route, a non-boolean
    ``X-CSTP-Tunnel-All-DNS``, or more than 10,000 header fields.
    """
    address = netmask = server_name = address6 = None
    tunnel_all_dns: bool | None = None
    include: list[str] = []
    exclude: list[str] = []
    include6: list[str] = []
    exclude6: list[str] = []
    for count, item in enumerate(headers):
        if count >= 10000:
            raise AnyConnectParseError("too many header fields")
        try:
            name, value = item
        except (TypeError, ValueError):
            raise AnyConnectParseError("header fields must be (name, value) pairs") from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise AnyConnectParseError("header names and values must be strings")
        if len(value) > _MAX_HEADER_VALUE:
            raise AnyConnectParseError(f"header {name[:40]!r} value too long")
        key = name.strip().lower()
        if key == "x-cstp-address":
            address = _address(value, "address")
        elif key == "x-cstp-netmask":
            netmask = _address(value, "netmask")
            try:
                ipaddress.ip_network(f"0.0.0.0/{netmask}")
            except ValueError:
                raise AnyConnectParseError(f"bad netmask {value[:80]!r}") from None
        elif key == "x-cstp-address-ip6":
            address6 = value.strip() or None
        elif key == "x-cstp-split-include":
            include.append(_route(value, ip6=False))
        elif key == "x-cstp-split-exclude":
            exclude.append(_route(value, ip6=False))
        elif key == "x-cstp-split-include-ip6":
            include6.append(_route(value, ip6=True))
        elif key == "x-cstp-split-exclude-ip6":
            exclude6.append(_route(value, ip6=True))
        elif key == "x-cstp-tunnel-all-dns":
            flag = value.strip().lower()
            if flag not in ("true", "false"):
                raise AnyConnectParseError(f"bad X-CSTP-Tunnel-All-DNS {value[:40]!r}")
            tunnel_all_dns = flag == "true"
        elif key == "x-cstp-server-name":
            server_name = value.strip() or None
    return CstpConfig(
        address=address,
        netmask=netmask,
        split_include=tuple(include),
        split_exclude=tuple(exclude),
        tunnel_all_dns=tunnel_all_dns,
        server_name=server_name,
        split_include_ip6=tuple(include6),
        split_exclude_ip6=tuple(exclude6),
        address_ip6=address6,
    )


def is_full_tunnel(cfg: CstpConfig) -> bool:
    """True when the gateway routes all IPv4 traffic through the tunnel.

    ocserv and ASAs send ``X-CSTP-Split-Include`` only for a split tunnel; with none, the
    client installs a default route through the tunnel (reference F.3). A split-include of
    ``0.0.0.0/0`` is a full tunnel written as a split one.
    """
    if not cfg.split_include:
        return True
    # 0.0.0.0/0, or halves such as 0.0.0.0/1 + 128.0.0.0/1, cover everything.
    networks = [ipaddress.IPv4Network(route) for route in cfg.split_include]
    collapsed = list(ipaddress.collapse_addresses(networks))
    return collapsed == [ipaddress.IPv4Network("0.0.0.0/0")]
