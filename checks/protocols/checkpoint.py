"""Check Point remote-access gateway codec: the TCP 264 topology service and the HTTPS
"CCC" ClientHello, plus the server side of both for the test responder.

Where each fact comes from (reference /work/shared/reference/protocols-and-adfs.md, G):

* TCP 264 (G.1, Metasploit ``checkpoint_hostname.rb``, Check Point sk69360): the client
  writes ``51 00 00 00`` and ``00 00 00 21``; a topology service answers ``59 00 00 00``
  ("Y"); the client then sends ``00 00 00 0b`` + ``"securemote\\0"`` and the answer contains
  ``CN=<firewall>,O=<management>.<suffix>``. nmap's service probes name a bare
  ``^[QY]\\0\\0\\0$`` banner ``fw1-topology``.
  [INF] The framing of that last answer is not documented: Metasploit just searches the
  bytes. Requests on this port carry a 4-byte big-endian length (the query above, and
  OpenVAS' ``(topology-request ...)`` probe), so we accept the answer with or without such
  a prefix, and our server side sends it length-prefixed and NUL-terminated. The ``O=`` value of a
  Check Point internal CA DN normally ends in ``..<random suffix>``; we strip a ``..``
  suffix, or else the last ``.part`` as Metasploit's ``/CN=(.+),O=(.+)\\./`` does.
* CCC ClientHello (G.2, what-vpn ``check_point``): ``POST /clients/`` with the body
  ``(CCCclientRequest :RequestHeader (:id (1) :session_id () :type (ClientHello)
  :protocol_version (100)) :RequestData (:client_info (:client_type (TRAC)
  :client_version (0))))``; a gateway answers ``(CCCserverResponse ...``.
* Reply fields (G.2, snx-rs ``model/proto.rs``): ``ResponseHeader`` (``id``, ``type``,
  ``session_id``, ``return_code``); ``ResponseData`` with ``protocol_version``
  (``:protocol_version (100)``), ``connectivity_info`` (``default_authentication_method``,
  ``client_enabled``, ``supported_data_tunnel_protocols``, ``connectivity_type``,
  ``server_ip``, ``ipsec_transport``, ``tcpt_port`` (Visitor Mode, normally 443),
  ``natt_port`` (4500), ``connect_with_certificate_url``, ``internal_ca_fingerprint`` (a map
  of obfuscated strings)) and ``login_options_data`` (``login_options_list``: a map of
  options with ``id``, ``secondary_realm_hash``, ``display_name``, ``show_realm``,
  ``factors`` (a map of ``factor_type`` ...), plus ``login_options_md5``). snx-rs also
  treats the pseudo-protocol ``Prefer_IKEv2_Support_IKEv1`` in the tunnel list as "gateway
  prefers IKEv2". ``return_code`` 600 and ``cookie_name (CPCVPN_SESSION_ID)`` appear in a
  published ClientHello example; [INF] other return codes signal errors.
* S-expression syntax (snx-rs ``sexpr.pest`` and its test files): ``(name :field (value)
  ...)``; a value is a quoted string or raw text without parentheses; lists are
  ``(: (a) : (b))``; an object or list element may carry a leading name, e.g.
  ``: (10.0.0.1 :netmask (255.255.255.0))``; ``()`` is the empty value; NUL counts as
  whitespace. [INF] We refuse an object that mixes named fields and ``:`` elements.

Every problem in the peer's bytes raises :class:`CheckpointParseError` and nothing else.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import struct
from dataclasses import dataclass

from . import ProtocolError

__all__ = [
    "CLIENTS_PATH",
    "MAX_SEXPR_CHARS",
    "MAX_SEXPR_DEPTH",
    "TOPOLOGY_ACK",
    "TOPOLOGY_HELLO",
    "TOPOLOGY_PORT",
    "CheckpointParseError",
    "ClientHelloReply",
    "LoginOption",
    "SexprObject",
    "TopologyInfo",
    "build_client_hello",
    "build_client_hello_reply",
    "build_topology_query",
    "build_topology_reply",
    "encode_sexpr",
    "is_topology_ack",
    "is_topology_banner",
    "parse_client_hello_reply",
    "parse_sexpr",
    "parse_topology_reply",
]

TOPOLOGY_PORT = 264
"""The SecuRemote/FW-1 topology service port."""

TOPOLOGY_HELLO = b"\x51\x00\x00\x00" + b"\x00\x00\x00\x21"
"""What a client sends first on TCP 264 ("Q\\0\\0\\0" then 0x21)."""

TOPOLOGY_ACK = b"\x59\x00\x00\x00"
"""A topology service's answer to :data:`TOPOLOGY_HELLO` ("Y\\0\\0\\0")."""

CLIENTS_PATH = "/clients/"
"""Where CCC requests are POSTed."""

MAX_SEXPR_CHARS = 1024 * 1024
"""Largest S-expression text parsed."""

MAX_SEXPR_DEPTH = 32
"""Deepest nesting accepted (real replies nest about 10 levels)."""

_MAX_TOPOLOGY_BYTES = 64 * 1024
_WS = " \t\r\n\x00"
_DN_RE = re.compile(r"CN=([^,\x00\r\n]{1,255}),O=([^,\x00\r\n]{1,255})")
# Raw values and names that need no quotes (everything else is written quoted).
_PLAIN_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_NAME_RE = re.compile(r"[^\s():\"\x00]+")
_PREFER_IKEV2 = "Prefer_IKEv2_Support_IKEv1"
_NAME_KEYS = ("gateway_name", "server_cn", "current_gateway", "ica_cert_subject")


class CheckpointParseError(ProtocolError):
    """The bytes are not the Check Point message expected (or exceed a limit)."""


class SexprObject(dict):
    """A parsed ``(name :key (value) ...)`` object: a dict of fields plus its ``name``.

    ``name`` is the optional leading word (``CCCserverResponse`` for a whole reply, or an
    element's label such as ``10.0.0.1``); it is not part of dict equality.
    """

    __slots__ = ("name",)

    def __init__(self, name: str | None = None, fields: dict | None = None) -> None:
        super().__init__(fields or {})
        self.name = name

    def __repr__(self) -> str:
        return f"SexprObject({self.name!r}, {dict.__repr__(self)})"


Node = str | SexprObject | list  # list items are Nodes too


@dataclass(frozen=True)
class TopologyInfo:
    """Names disclosed by the TCP 264 topology service."""

    firewall_host: str
    smartcenter_host: str
    raw_dn: str


@dataclass(frozen=True)
class LoginOption:
    """One login option ("realm") a gateway offers before authentication."""

    id: str
    display_name: str | None
    factors: tuple[str, ...]
    show_realm: bool | None = None


@dataclass(frozen=True)
class ClientHelloReply:
    """What a gateway's ``CCCserverResponse`` to ClientHello says about remote access.

    Semantic fields are lenient: a value that is missing, empty or not of the expected
    kind is None (ports, booleans) rather than an error, so one odd field does not hide
    the rest. ``gateway_names`` collects names the reply discloses anywhere
    (``gateway_name``, ``server_cn``, ``current_gateway``, ``ica_cert_subject``); ClientHello
    replies seen in public sources carry none, so it is usually empty.
    """

    return_code: int | None
    protocol_version: int | None
    supported_tunnel_protocols: tuple[str, ...]
    connectivity_type: str | None
    server_ip: str | None
    tcpt_port: int | None
    natt_port: int | None
    client_enabled: bool | None
    ipsec_transport: str | None = None
    default_authentication_method: str | None = None
    gateway_names: tuple[str, ...] = ()
    login_options: tuple[LoginOption, ...] = ()
    internal_ca_fingerprints: tuple[str, ...] = ()

    @property
    def prefers_ikev2(self) -> bool:
        """True if the gateway lists the ``Prefer_IKEv2_Support_IKEv1`` pseudo-protocol."""
        return _PREFER_IKEV2 in self.supported_tunnel_protocols


# -- TCP 264 topology ----------------------------------------------------------------------


def is_topology_ack(data: bytes) -> bool:
    """True if ``data`` is exactly the ``Y\\0\\0\\0`` answer that lets the query proceed."""
    return bytes(data) == TOPOLOGY_ACK


def is_topology_banner(data: bytes) -> bool:
    """True for ``Q\\0\\0\\0`` or ``Y\\0\\0\\0``: nmap's ``fw1-topology`` signature."""
    return bytes(data) in (b"Q\x00\x00\x00", TOPOLOGY_ACK)


def _length_prefixed(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def build_topology_query() -> bytes:
    """The topology request: a 4-byte big-endian length and ``securemote\\0``."""
    return _length_prefixed(b"securemote\x00")


def _strip_ica_suffix(org: str) -> str:
    if ".." in org:
        return org.split("..", 1)[0]
    if "." in org:
        return org.rsplit(".", 1)[0]
    return org


def parse_topology_reply(data: bytes) -> TopologyInfo:
    """Extract the firewall and management names from the topology service's answer."""
    if not isinstance(data, bytes | bytearray):
        raise CheckpointParseError("data must be bytes")
    if len(data) > _MAX_TOPOLOGY_BYTES:
        raise CheckpointParseError("topology reply exceeds 64 KiB")
    payload = bytes(data)
    if len(payload) >= 4:
        (length,) = struct.unpack(">I", payload[:4])
        if length == len(payload) - 4:
            payload = payload[4:]
    text = payload.decode("latin-1")
    match = _DN_RE.search(text)
    if not match:
        raise CheckpointParseError("no CN=...,O=... name in the topology reply")
    firewall = match.group(1).strip()
    org = match.group(2).strip()
    smartcenter = _strip_ica_suffix(org)
    if not firewall or not smartcenter:
        raise CheckpointParseError("empty name in the topology reply")
    return TopologyInfo(firewall_host=firewall, smartcenter_host=smartcenter, raw_dn=match.group(0))


def build_topology_reply(firewall: str, smartcenter: str, ica_suffix: str = "7kcb2x") -> bytes:
    """Server side: the answer to :func:`build_topology_query` naming both hosts.

    The DN is ``CN=<firewall>,O=<smartcenter>..<ica_suffix>`` (internal-CA style), sent
    length-prefixed and NUL-terminated [INF framing, see the module docstring].
    """
    for what, value in (("firewall", firewall), ("smartcenter", smartcenter)):
        if not value or not value.isascii() or re.search(r"[,=\x00-\x1f\x7f]", value):
            raise ValueError(f"{what} must be a non-empty ASCII name without ',' or '='")
    if not re.fullmatch(r"[A-Za-z0-9]{1,16}", ica_suffix):
        raise ValueError("ica_suffix must be 1-16 letters or digits")
    dn = f"CN={firewall},O={smartcenter}..{ica_suffix}"
    return _length_prefixed(dn.encode("ascii") + b"\x00")


# -- S-expressions -------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the text; depth is bounded, so recursion is too."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.pos = 0
        self.max_depth = max_depth

    def fail(self, why: str) -> CheckpointParseError:
        return CheckpointParseError(f"{why} at offset {self.pos}")

    def skip_ws(self) -> None:
        text, pos, end = self.text, self.pos, len(self.text)
        while pos < end and text[pos] in _WS:
            pos += 1
        self.pos = pos

    def scan_to_paren(self) -> int:
        """Offset of the next '(' or ')' outside quotes, starting at ``pos``."""
        text, pos, end = self.text, self.pos, len(self.text)
        in_quotes = False
        while pos < end:
            char = text[pos]
            if in_quotes:
                if char == "\\" and pos + 1 < end and text[pos + 1] == '"':
                    pos += 2
                    continue
                if char == '"':
                    in_quotes = False
            elif char == '"':
                in_quotes = True
            elif char in "()":
                return pos
            pos += 1
        raise self.fail("unterminated quoted string" if in_quotes else "missing ')'")

    def quoted(self) -> str:
        """Read a quoted string starting at ``pos`` (which is a '"')."""
        text, end = self.text, len(self.text)
        pos = self.pos + 1
        out: list[str] = []
        while pos < end:
            char = text[pos]
            if char == "\\" and pos + 1 < end and text[pos + 1] == '"':
                out.append('"')
                pos += 2
                continue
            if char == '"':
                self.pos = pos + 1
                return "".join(out)
            out.append(char)
            pos += 1
        raise self.fail("unterminated quoted string")

    def word(self) -> str:
        """Read a name: a quoted string, or characters up to whitespace, '(', ')' or ':'."""
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            return self.quoted()
        text, start, end = self.text, self.pos, len(self.text)
        pos = start
        while pos < end and text[pos] not in _WS and text[pos] not in "():":
            pos += 1
        self.pos = pos
        return text[start:pos]

    def node(self, depth: int) -> Node:
        if depth > self.max_depth:
            raise self.fail(f"nesting deeper than {self.max_depth}")
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.fail("expected '('")
        self.pos += 1
        self.skip_ws()
        stop = self.scan_to_paren()
        if self.text[stop] == ")":
            raw = self.text[self.pos : stop]
            self.pos = stop + 1
            return _leaf_value(raw)
        return self.structured(depth)

    def structured(self, depth: int) -> Node:
        name: str | None = None
        if self.text[self.pos] != ":":
            name = self.word()
            if not name:
                raise self.fail("expected a name or ':'")
        fields = SexprObject(name)
        elements: list[Node] = []
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.fail("missing ')'")
            char = self.text[self.pos]
            if char == ")":
                self.pos += 1
                break
            if char != ":":
                raise self.fail(f"expected ':' or ')', found {char!r}")
            self.pos += 1
            key = self.word()
            self.skip_ws()
            child = self.node(depth + 1)
            if key:
                fields[key] = child  # a repeated key keeps the last value, like a map
            else:
                elements.append(child)
        if elements:
            if fields or name is not None:
                raise self.fail("an object mixes named fields and ':' elements")
            return elements
        return fields


def _leaf_value(raw: str) -> str:
    value = raw.strip(_WS)
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        # Only a single quoted string is unquoted; `"a" "b"` stays as sent.
        if '"' not in inner.replace('\\"', ""):
            return inner.replace('\\"', '"')
    return value


def parse_sexpr(
    text: str, *, max_chars: int = MAX_SEXPR_CHARS, max_depth: int = MAX_SEXPR_DEPTH
) -> Node:
    """Parse one Check Point S-expression into str / :class:`SexprObject` / list.

    ``(a)`` is the str ``"a"``; ``()`` is ``""``; ``(name :k (v))`` is a SexprObject named
    ``name`` (or None) mapping ``k`` to its node; ``(: (a) : (b))`` is a list. Raises
    CheckpointParseError for unbalanced parentheses, unterminated quotes, trailing data,
    text over ``max_chars`` or nesting over ``max_depth``.
    """
    if not isinstance(text, str):
        raise CheckpointParseError("text must be str")
    if len(text) > max_chars:
        raise CheckpointParseError(f"S-expression of {len(text)} chars exceeds {max_chars}")
    parser = _Parser(text.removeprefix("\ufeff"), max_depth)
    parser.skip_ws()
    node = parser.node(1)
    parser.skip_ws()
    if parser.pos != len(parser.text):
        raise parser.fail("trailing data after the S-expression")
    return node


def _encode_value(value: str) -> str:
    if value == "":
        return "()"
    if _PLAIN_RE.fullmatch(value):
        return f"({value})"
    return '("' + value.replace('"', '\\"') + '")'


def _encode(node: object, level: int, out: list[str]) -> None:
    indent = "\t" * (level + 1)
    if isinstance(node, bool):
        out.append(_encode_value("true" if node else "false"))
    elif isinstance(node, int | str):
        text = str(node)
        if any(c in text for c in "()\x00") or text.endswith("\\"):
            raise ValueError(f"value {text[:40]!r} cannot be encoded")
        out.append(_encode_value(text))
    elif isinstance(node, dict):
        name = getattr(node, "name", None)
        out.append("(" + (_encode_name(name) if name else ""))
        for key, child in node.items():
            if not isinstance(key, str) or not _NAME_RE.fullmatch(key):
                raise ValueError(f"bad field name {key!r}")
            out.append(f"\n{indent}:{key} ")
            _encode(child, level + 1, out)
        out.append(")")
    elif isinstance(node, list | tuple):
        out.append("(")
        for child in node:
            out.append(f"\n{indent}: ")
            _encode(child, level + 1, out)
        out.append(")")
    else:
        raise TypeError(f"cannot encode {type(node).__name__}")


def _encode_name(name: str) -> str:
    if _NAME_RE.fullmatch(name):
        return name
    if '"' in name or any(c in name for c in "()\x00"):
        raise ValueError(f"bad object name {name!r}")
    return f'"{name}"'


def encode_sexpr(node: object, name: str | None = None) -> str:
    """Serialise str/int/bool/dict/list (a :class:`SexprObject` keeps its name) to text.

    ``name`` overrides the top object's name. Raises ValueError for field names or values
    that the format cannot carry (parentheses or NUL in a value, odd characters in a name).
    """
    if name is not None:
        if not isinstance(node, dict):
            raise ValueError("only an object can have a name")
        node = SexprObject(name, dict(node))
    out: list[str] = []
    _encode(node, 0, out)
    return "".join(out)


# -- CCC ClientHello -----------------------------------------------------------------------


def build_client_hello(request_id: int = 1) -> bytes:
    """The CCC ``ClientHello`` request body to POST to :data:`CLIENTS_PATH`."""
    request = {
        "RequestHeader": {
            "id": request_id,
            "session_id": "",
            "type": "ClientHello",
            "protocol_version": 100,
        },
        "RequestData": {"client_info": {"client_type": "TRAC", "client_version": 0}},
    }
    return encode_sexpr(request, "CCCclientRequest").encode("ascii") + b"\n"


def _decode_body(body: bytes) -> str:
    if not isinstance(body, bytes | bytearray):
        raise CheckpointParseError("body must be bytes")
    if len(body) > MAX_SEXPR_CHARS:
        raise CheckpointParseError(f"body of {len(body)} bytes exceeds {MAX_SEXPR_CHARS}")
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(body).decode("latin-1")  # older gateways send Latin-1 display names


def _get(node: Node | None, key: str) -> Node | None:
    return node.get(key) if isinstance(node, dict) else None


def _str(node: Node | None) -> str | None:
    return node if isinstance(node, str) and node != "" else None


def _int(node: Node | None) -> int | None:
    text = _str(node)
    if text is None:
        return None
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def _port(node: Node | None) -> int | None:
    value = _int(node)
    return value if value is not None and 0 < value < 65536 else None


def _bool(node: Node | None) -> bool | None:
    text = _str(node)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def _items(node: Node | None) -> list[Node]:
    """The members of a map-or-list (``:0 (...) :1 (...)`` or ``: (...) : (...)``)."""
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    return []


def _strings(node: Node | None) -> tuple[str, ...]:
    if isinstance(node, str):
        return tuple(part for part in re.split(r"[\s,]+", node) if part)
    return tuple(item for item in _items(node) if isinstance(item, str) and item)


def _collect_names(root: Node) -> tuple[str, ...]:
    found: list[str] = []
    stack: list[Node] = [root]
    while stack:  # iterative: depth is already bounded, but there is no need to recurse
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if key in _NAME_KEYS and (text := _str(child)) and text not in found:
                    found.append(text)
                stack.append(child)
        elif isinstance(node, list):
            stack.extend(node)
    return tuple(found)


def _login_options(data: Node | None) -> tuple[LoginOption, ...]:
    options: list[LoginOption] = []
    for option in _items(_get(_get(data, "login_options_data"), "login_options_list")):
        option_id = _str(_get(option, "id"))
        if option_id is None:
            continue
        factors = tuple(
            factor_type
            for factor in _items(_get(option, "factors"))
            if (factor_type := _str(_get(factor, "factor_type")))
        )
        options.append(
            LoginOption(
                id=option_id,
                display_name=_str(_get(option, "display_name")),
                factors=factors,
                show_realm=_bool(_get(option, "show_realm")),
            )
        )
    return tuple(options)


def parse_client_hello_reply(body: bytes) -> ClientHelloReply:
    """Parse a gateway's ``(CCCserverResponse ...)`` answer to :func:`build_client_hello`.

    Raises CheckpointParseError when the body is not a well-formed S-expression, is not a
    ``CCCserverResponse`` object, or has a ``ResponseHeader``/``ResponseData`` that is a
    list (an empty ``ResponseData ()`` is accepted: gateways send it with an error code).
    """
    root = parse_sexpr(_decode_body(body))
    if not isinstance(root, SexprObject) or root.name != "CCCserverResponse":
        raise CheckpointParseError("not a CCCserverResponse")
    header = root.get("ResponseHeader")
    data = root.get("ResponseData")
    if isinstance(header, list) or isinstance(data, list):
        raise CheckpointParseError("ResponseHeader/ResponseData must be objects")
    version_node = _get(data, "protocol_version")
    if isinstance(version_node, dict):  # (:protocol_version (100) :features (0x1))
        version_node = version_node.get("protocol_version")
    protocol_version = _int(version_node)
    info = _get(data, "connectivity_info")
    server_ip = _str(_get(info, "server_ip"))
    if server_ip is not None:
        try:
            server_ip = str(ipaddress.ip_address(server_ip))
        except ValueError:
            server_ip = None
    return ClientHelloReply(
        return_code=_int(_get(header, "return_code")),
        protocol_version=protocol_version,
        supported_tunnel_protocols=_strings(_get(info, "supported_data_tunnel_protocols")),
        connectivity_type=_str(_get(info, "connectivity_type")),
        server_ip=server_ip,
        tcpt_port=_port(_get(info, "tcpt_port")),
        natt_port=_port(_get(info, "natt_port")),
        client_enabled=_bool(_get(info, "client_enabled")),
        ipsec_transport=_str(_get(info, "ipsec_transport")),
        default_authentication_method=_str(_get(info, "default_authentication_method")),
        gateway_names=_collect_names(root),
        login_options=_login_options(data),
        internal_ca_fingerprints=_strings(_get(info, "internal_ca_fingerprint")),
    )


def build_client_hello_reply(
    *,
    request_id: int = 1,
    return_code: int = 600,
    protocol_version: int = 100,
    supported_tunnel_protocols: tuple[str, ...] = ("IPSec", "SSL", "L2TP"),
    connectivity_type: str = "client_decide",
    server_ip: str = "192.0.2.1",
    ipsec_transport: str = "auto_detect",
    tcpt_port: int = 443,
    natt_port: int = 4500,
    client_enabled: bool = True,
    default_authentication_method: str = "client_decide",
    login_options: tuple[LoginOption, ...] = (
        LoginOption("vpn_Username_Password", "Username and password", ("password",), True),
    ),
    internal_ca_fingerprints: tuple[str, ...] = (),
) -> bytes:
    """Server side: a ``CCCserverResponse`` to ClientHello with the fields above.

    Shaped like the published replies the module docstring cites (field names and order
    from snx-rs' model; ``cookie_name`` and ``connect_with_certificate_url`` as in the
    published example); for the loopback test responder and the demo lab.
    """
    info: dict[str, object] = {
        "default_authentication_method": default_authentication_method,
        "client_enabled": client_enabled,
        "supported_data_tunnel_protocols": list(supported_tunnel_protocols),
        "connectivity_type": connectivity_type,
        "server_ip": server_ip,
        "ipsec_transport": ipsec_transport,
        "tcpt_port": tcpt_port,
        "natt_port": natt_port,
        "connect_with_certificate_url": "/clients/cert/",
        "cookie_name": "CPCVPN_SESSION_ID",
    }
    if internal_ca_fingerprints:
        info["internal_ca_fingerprint"] = {
            str(index): fingerprint
            for index, fingerprint in enumerate(internal_ca_fingerprints, start=1)
        }
    option_list: dict[str, object] = {}
    for index, option in enumerate(login_options):
        option_list[str(index)] = {
            "id": option.id,
            "secondary_realm_hash": hashlib.sha256(option.id.encode()).hexdigest()[:32],
            "display_name": option.display_name or option.id,
            "show_realm": 1 if option.show_realm in (True, None) else 0,
            "factors": {
                str(number): {
                    "factor_type": factor,
                    "securid_card_type": "",
                    "certificate_storage_type": "",
                }
                for number, factor in enumerate(option.factors)
            },
        }
    ids = ",".join(option.id for option in login_options)
    reply = {
        "ResponseHeader": {
            "id": request_id,
            "type": "ClientHello",
            "session_id": "",
            "return_code": return_code,
        },
        "ResponseData": {
            "protocol_version": {"protocol_version": protocol_version, "features": "0x1"},
            "connectivity_info": info,
            "login_options_data": {
                "login_options_list": option_list,
                "login_options_md5": hashlib.sha256(ids.encode()).hexdigest()[:32],
            },
        },
    }
    return encode_sexpr(reply, "CCCserverResponse").encode("utf-8") + b"\n"
