"""Unit and property tests for the Check Point codec (checks/protocols/checkpoint.py)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.checkpoint import (
    MAX_SEXPR_DEPTH,
    TOPOLOGY_ACK,
    TOPOLOGY_HELLO,
    CheckpointParseError,
    ClientHelloReply,
    LoginOption,
    SexprObject,
    TopologyInfo,
    build_client_hello,
    build_client_hello_reply,
    build_topology_query,
    build_topology_reply,
    encode_sexpr,
    is_topology_ack,
    is_topology_banner,
    parse_client_hello_reply,
    parse_sexpr,
    parse_topology_reply,
)

# The ClientHello answer of a gateway offering IPsec and SSL with two realms: a
# transcription into the wire syntax of the published ClientHello example (field names,
# order and values such as return_code 600, features 0x1, cookie_name, the quoted URLs
# and the obfuscated CA fingerprint map), with the realm list cut to two entries.
GATEWAY_REPLY = b"""(CCCserverResponse
\t:ResponseHeader (
\t\t:id ()
\t\t:type (ClientHello)
\t\t:session_id ()
\t\t:return_code (600)
\t)
\t:ResponseData (
\t\t:protocol_version (
\t\t\t:protocol_version (100)
\t\t\t:features (0x1)
\t\t)
\t\t:upgrade_configuration (
\t\t\t:available_client_version (835000022)
\t\t\t:client_upgrade_url ("/CSHELL/")
\t\t\t:upgrade_mode (ask_user)
\t\t)
\t\t:connectivity_info (
\t\t\t:default_authentication_method (client_decide)
\t\t\t:client_enabled (true)
\t\t\t:supported_data_tunnel_protocols (
\t\t\t\t: (SSL)
\t\t\t\t: (IPSec)
\t\t\t)
\t\t\t:server_ip (198.51.100.7)
\t\t\t:natt_port (4500)
\t\t\t:tcpt_port (443)
\t\t\t:connectivity_type (client_decide)
\t\t\t:ipsec_transport (auto_detect)
\t\t\t:connect_with_certificate_url ("/clients/cert/")
\t\t\t:cookie_name (CPCVPN_SESSION_ID)
\t\t\t:internal_ca_fingerprint (
\t\t\t\t:1 (123456e7a7)
\t\t\t)
\t\t)
\t\t:end_point_security (
\t\t\t:ics (
\t\t\t\t:run_ics (false)
\t\t\t\t:ics_base_url ("/clients/ICS/components")
\t\t\t)
\t\t)
\t\t:login_options_data (
\t\t\t:login_options_list (
\t\t\t\t:0 (
\t\t\t\t\t:id (vpn)
\t\t\t\t\t:secondary_realm_hash (00112233445566778899aabbccddeeff)
\t\t\t\t\t:display_name ("Standard")
\t\t\t\t\t:show_realm (1)
\t\t\t\t\t:factors (
\t\t\t\t\t\t:0 (
\t\t\t\t\t\t\t:factor_type (password)
\t\t\t\t\t\t\t:securid_card_type ()
\t\t\t\t\t\t\t:certificate_storage_type ()
\t\t\t\t\t\t\t:custom_display_labels (
\t\t\t\t\t\t\t\t:header ("Please provide credentials to authenticate")
\t\t\t\t\t\t\t\t:username ("User name")
\t\t\t\t\t\t\t\t:password (Password)
\t\t\t\t\t\t\t)
\t\t\t\t\t\t)
\t\t\t\t\t)
\t\t\t\t)
\t\t\t\t:2 (
\t\t\t\t\t:id (vpn_2fa)
\t\t\t\t\t:secondary_realm_hash (00112233445566778899aabbccddeeff)
\t\t\t\t\t:display_name ("SMS")
\t\t\t\t\t:show_realm (1)
\t\t\t\t\t:factors (
\t\t\t\t\t\t:0 (
\t\t\t\t\t\t\t:factor_type (password)
\t\t\t\t\t\t)
\t\t\t\t\t\t:1 (
\t\t\t\t\t\t\t:factor_type (sms)
\t\t\t\t\t\t)
\t\t\t\t\t)
\t\t\t\t)
\t\t\t)
\t\t\t:login_options_md5 (00112233445566778899aabbccddeeff)
\t\t)
\t)
)
"""

# Compact style (closing parentheses on the last line, options keyed by name, quoted
# display name), as in a published SNX client's unit test, plus the IKEv2 preference
# pseudo-protocol snx-rs recognises.
COMPACT_REPLY = (
    b"(CCCserverResponse\n"
    b"\t:ResponseHeader (\n"
    b"\t\t:id (1)\n"
    b"\t\t:type (ClientHello)\n"
    b"\t\t:session_id ()\n"
    b"\t\t:return_code (0))\n"
    b"\t:ResponseData (\n"
    b"\t\t:protocol_version (\n"
    b"\t\t\t:protocol_version (100))\n"
    b"\t\t:connectivity_info (\n"
    b"\t\t\t:client_enabled (true)\n"
    b"\t\t\t:connectivity_type (TRAC)\n"
    b"\t\t\t:supported_data_tunnel_protocols (: (IPSec) : (Prefer_IKEv2_Support_IKEv1))\n"
    b"\t\t\t:server_ip (1.2.3.4)\n"
    b"\t\t\t:tcpt_port (443)\n"
    b"\t\t\t:natt_port (4500))\n"
    b"\t\t:login_options_data (\n"
    b"\t\t\t:login_options_list (\n"
    b"\t\t\t\t:PMC (\n"
    b"\t\t\t\t\t:id (PMC)\n"
    b'\t\t\t\t\t:display_name ("PMC")\n'
    b"\t\t\t\t\t:show_realm (1)\n"
    b"\t\t\t\t\t:factors (\n"
    b"\t\t\t\t\t\t:1 (\n"
    b"\t\t\t\t\t\t\t:factor_type (password))))))))"
)

# An error answer: empty ResponseData, as snx-rs handles it ("request failed, error code").
ERROR_REPLY = b"""(CCCserverResponse
\t:ResponseHeader (
\t\t:id (1)
\t\t:type (ClientHello)
\t\t:session_id ()
\t\t:return_code (502)
\t)
\t:ResponseData ()
)
"""

# snx-rs tests/hello_reply.txt shape: the SSL tunnel's hello_reply with ranges.
HELLO_REPLY = """(hello_reply
    :version (1)
    :protocol_version (1)
    :OM (
        :ipaddr (10.0.0.10)
        :dns_servers (
            : (10.0.0.1)
            : (10.0.0.2)
        )
        :dns_suffix ("domain1.com,domain2.com")
    )
    :range (
        : (
            :from (10.0.0.0)
            :to (10.255.255.255)
        )
        : (
            :from (172.16.0.0)
            :to (172.16.255.255)
        )
    )
    :timeouts (
        :authentication (259193)
        :keepalive (20)
    )
    :optional (
        :subnet (255.255.255.0)
    )
)
"""


# -- TCP 264 ---------------------------------------------------------------------------------


def test_topology_constants_match_the_reference_bytes():
    assert bytes.fromhex("51000000 00000021") == TOPOLOGY_HELLO
    assert bytes.fromhex("59000000") == TOPOLOGY_ACK
    assert build_topology_query() == bytes.fromhex("0000000b") + b"securemote\x00"


def test_topology_ack_and_banner():
    assert is_topology_ack(b"Y\x00\x00\x00")
    assert not is_topology_ack(b"Q\x00\x00\x00")
    assert not is_topology_ack(b"Y\x00\x00\x00\x00")
    assert is_topology_banner(b"Q\x00\x00\x00")
    assert is_topology_banner(b"Y\x00\x00\x00")
    assert not is_topology_banner(b"SSH-")


def test_topology_reply_round_trip():
    reply = build_topology_reply("fw-sthlm-01", "mgmt01.exempel.local")
    assert reply[:4] == len(reply[4:]).to_bytes(4, "big")
    info = parse_topology_reply(reply)
    assert info == TopologyInfo(
        firewall_host="fw-sthlm-01",
        smartcenter_host="mgmt01.exempel.local",
        raw_dn="CN=fw-sthlm-01,O=mgmt01.exempel.local..7kcb2x",
    )


def test_topology_reply_without_prefix_single_dot_suffix():
    # Metasploit's regex /CN=(.+),O=(.+)\./ drops the last ".part" of O.
    info = parse_topology_reply(b"\x00\x01junk CN=gw1,O=smartcenter.abc123\x00trailer")
    assert (info.firewall_host, info.smartcenter_host) == ("gw1", "smartcenter")


@pytest.mark.parametrize(
    "data", [b"", b"Y\x00\x00\x00", b"CN=,O=x", b"O=mgmt,CN=fw", b"\x00" * 70_000, "text"]
)
def test_topology_reply_without_names(data):
    with pytest.raises(CheckpointParseError):
        parse_topology_reply(data)


@pytest.mark.parametrize(("fw", "sc"), [("", "m"), ("f,w", "m"), ("fw", "m=x"), ("fw\x00", "m")])
def test_build_topology_reply_rejects_bad_names(fw, sc):
    with pytest.raises(ValueError):
        build_topology_reply(fw, sc)


# -- S-expressions ---------------------------------------------------------------------------


def test_parse_sexpr_basics():
    assert parse_sexpr("(Response :data (: (hello) : (world)))") == {"data": ["hello", "world"]}
    assert parse_sexpr("(Response :data (: (hello)))").name == "Response"
    assert parse_sexpr("()") == ""
    assert parse_sexpr("(value with spaces)") == "value with spaces"
    assert parse_sexpr('("quoted (parens) and \\"quotes\\"")') == 'quoted (parens) and "quotes"'
    assert parse_sexpr("(12:30 on a colon)") == "12:30 on a colon"
    assert parse_sexpr("\x00\n (x)\n\x00") == "x"


def test_parse_sexpr_named_elements_and_quoted_names():
    tree = parse_sexpr(
        '(:interfaces (: (10.0.67.1 :netmask (255.255.255.0)) : ("All Users" :type (usrgroup))))'
    )
    first, second = tree["interfaces"]
    assert isinstance(first, SexprObject)
    assert (first.name, first["netmask"]) == ("10.0.67.1", "255.255.255.0")
    assert (second.name, second["type"]) == ("All Users", "usrgroup")
    unusual = parse_sexpr('("foo bar" :name ("BUILTIN\\administrator"))')
    assert unusual.name == "foo bar"
    assert unusual["name"] == "BUILTIN\\administrator"


def test_parse_sexpr_hello_reply_fixture():
    tree = parse_sexpr(HELLO_REPLY)
    assert tree.name == "hello_reply"
    assert tree["OM"]["dns_servers"] == ["10.0.0.1", "10.0.0.2"]
    assert tree["range"][1] == {"from": "172.16.0.0", "to": "172.16.255.255"}
    assert tree["timeouts"]["keepalive"] == "20"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("(a :b (c)", id="unbalanced"),
        pytest.param("(a :b (c)))", id="trailing-paren"),
        pytest.param("(a) (b)", id="two-expressions"),
        pytest.param('("unterminated)', id="open-quote"),
        pytest.param("(a :b (c) d)", id="garbage-between-fields"),
        pytest.param("(:a (1) : (2))", id="mixed-fields-and-elements"),
        pytest.param("(name : (1) : (2))", id="named-list"),
        pytest.param("((x))", id="no-name-or-colon"),
        pytest.param("x", id="no-parens"),
    ],
)
def test_parse_sexpr_errors(text):
    with pytest.raises(CheckpointParseError):
        parse_sexpr(text)


def test_parse_sexpr_depth_limit():
    def nested(depth: int) -> str:
        return "(:a " * (depth - 1) + "(x)" + ")" * (depth - 1)

    assert parse_sexpr(nested(MAX_SEXPR_DEPTH)) is not None
    with pytest.raises(CheckpointParseError, match="deeper"):
        parse_sexpr(nested(MAX_SEXPR_DEPTH + 1))
    with pytest.raises(CheckpointParseError):
        parse_sexpr("(:a " * 100_000)  # a depth bomb, not a RecursionError


def test_parse_sexpr_size_limit():
    with pytest.raises(CheckpointParseError, match="exceeds"):
        parse_sexpr("(" + "a" * (1024 * 1024) + ")")


def test_encode_sexpr_quoting_and_errors():
    assert encode_sexpr({"k": "plain_value-1.0"}) == "(\n\t:k (plain_value-1.0))"
    assert encode_sexpr({"k": "two words"}) == '(\n\t:k ("two words"))'
    assert encode_sexpr({"k": ""}) == "(\n\t:k ())"
    # Regression: a trailing newline made `^...$` call a value "plain", and it was lost.
    assert encode_sexpr({"k": "0\n"}) == '(\n\t:k ("0\n"))'
    assert parse_sexpr(encode_sexpr({"k": "0\n"})) == {"k": "0\n"}
    assert encode_sexpr({"b": True, "n": 7}, "X") == "(X\n\t:b (true)\n\t:n (7))"
    for bad in ({"k": "a(b"}, {"k": "nul\x00"}, {"bad key": "v"}, {"k": "ends\\"}):
        with pytest.raises(ValueError):
            encode_sexpr(bad)
    with pytest.raises(TypeError):
        encode_sexpr({"k": 1.5})


# -- CCC ClientHello -------------------------------------------------------------------------


def test_build_client_hello_matches_the_reference_request():
    body = build_client_hello()
    assert body.startswith(b"(CCCclientRequest\n")
    tree = parse_sexpr(body.decode("ascii"))
    assert tree.name == "CCCclientRequest"
    assert tree == {
        "RequestHeader": {
            "id": "1",
            "session_id": "",
            "type": "ClientHello",
            "protocol_version": "100",
        },
        "RequestData": {"client_info": {"client_type": "TRAC", "client_version": "0"}},
    }


def test_gateway_reply():
    reply = parse_client_hello_reply(GATEWAY_REPLY)
    assert reply == ClientHelloReply(
        return_code=600,
        protocol_version=100,
        supported_tunnel_protocols=("SSL", "IPSec"),
        connectivity_type="client_decide",
        server_ip="198.51.100.7",
        tcpt_port=443,
        natt_port=4500,
        client_enabled=True,
        ipsec_transport="auto_detect",
        default_authentication_method="client_decide",
        gateway_names=(),
        login_options=(
            LoginOption("vpn", "Standard", ("password",), True),
            LoginOption("vpn_2fa", "SMS", ("password", "sms"), True),
        ),
        internal_ca_fingerprints=("123456e7a7",),
    )
    assert not reply.prefers_ikev2


def test_compact_reply():
    reply = parse_client_hello_reply(COMPACT_REPLY)
    assert reply.return_code == 0
    assert reply.supported_tunnel_protocols == ("IPSec", "Prefer_IKEv2_Support_IKEv1")
    assert reply.prefers_ikev2
    assert reply.connectivity_type == "TRAC"
    assert reply.server_ip == "1.2.3.4"
    assert reply.login_options == (LoginOption("PMC", "PMC", ("password",), True),)


def test_error_reply_has_empty_fields():
    reply = parse_client_hello_reply(ERROR_REPLY)
    assert reply.return_code == 502
    assert reply.protocol_version is None
    assert reply.supported_tunnel_protocols == ()
    assert reply.client_enabled is None and reply.tcpt_port is None


def test_disclosed_names_are_collected():
    body = GATEWAY_REPLY.replace(
        b"\t\t\t:cookie_name", b'\t\t\t:server_cn ("cpgw01 VPN Certificate")\n\t\t\t:cookie_name'
    )
    assert parse_client_hello_reply(body).gateway_names == ("cpgw01 VPN Certificate",)


def test_lenient_semantic_fields():
    body = (
        GATEWAY_REPLY.replace(b"(443)", b"(none)")
        .replace(b"(4500)", b"(99999)")
        .replace(b"(198.51.100.7)", b"(not-an-ip)")
        .replace(b"client_enabled (true)", b"client_enabled (perhaps)")
    )
    reply = parse_client_hello_reply(body)
    assert (reply.tcpt_port, reply.natt_port, reply.server_ip, reply.client_enabled) == (
        None,
        None,
        None,
        None,
    )


def test_latin1_display_names_are_accepted():
    body = GATEWAY_REPLY.replace(b'("Standard")', '("Anställda")'.encode("latin-1"))
    assert parse_client_hello_reply(body).login_options[0].display_name == "Anställda"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(HELLO_REPLY.encode(), id="not-a-ccc-response"),
        pytest.param(b"(CCCserverResponse)", id="bare-name-is-a-value"),
        pytest.param(b"(CCCserverResponse :ResponseData (: (a)))", id="list-data"),
        pytest.param(b"<html>Check Point Software Technologies</html>", id="html"),
        pytest.param(b"", id="empty"),
        pytest.param(GATEWAY_REPLY[:200], id="truncated"),
        pytest.param(b"\x00\x00\x00\x1f\x00\x00\x00\x01(disconnect", id="snx-framing"),
    ],
)
def test_bad_client_hello_replies(body):
    with pytest.raises(CheckpointParseError):
        parse_client_hello_reply(body)


def test_server_side_reply_round_trips():
    body = build_client_hello_reply(
        supported_tunnel_protocols=("IPSec", "SSL"),
        server_ip="192.0.2.10",
        tcpt_port=8443,
        login_options=(
            LoginOption("vpn_Username_Password", "Username and password", ("password",)),
            LoginOption("vpn_cert", "Certificate", ("certificate",), False),
        ),
        internal_ca_fingerprints=("41424344",),
    )
    assert body.startswith(b"(CCCserverResponse\n")
    reply = parse_client_hello_reply(body)
    assert reply.return_code == 600
    assert reply.protocol_version == 100
    assert reply.supported_tunnel_protocols == ("IPSec", "SSL")
    assert (reply.server_ip, reply.tcpt_port, reply.natt_port) == ("192.0.2.10", 8443, 4500)
    assert reply.client_enabled is True
    assert [option.id for option in reply.login_options] == ["vpn_Username_Password", "vpn_cert"]
    assert reply.login_options[1].show_realm is False
    assert reply.internal_ca_fingerprints == ("41424344",)


def test_error_hierarchy():
    assert issubclass(CheckpointParseError, ProtocolError)


# -- properties ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_checkpoint_parse_error(data):
    with contextlib.suppress(CheckpointParseError):
        parse_client_hello_reply(data)
    with contextlib.suppress(CheckpointParseError):
        parse_topology_reply(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('():" \t\nab\\\x00'), max_size=300))
def test_arbitrary_sexpr_like_text_raises_only_checkpoint_parse_error(text):
    with contextlib.suppress(CheckpointParseError):
        parse_sexpr(text)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([GATEWAY_REPLY, COMPACT_REPLY, ERROR_REPLY, build_client_hello_reply()]),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4000),
            st.binary(max_size=4) | st.sampled_from([b"(", b")", b":", b'"', b": (", b"\x00"]),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_replies_raise_only_checkpoint_parse_error(base, edits):
    data = bytearray(base)
    for offset, replacement in edits:
        offset %= len(data) + 1
        data[offset : offset + len(replacement)] = replacement
    with contextlib.suppress(CheckpointParseError):
        parse_client_hello_reply(bytes(data))


_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-.]{0,12}", fullmatch=True)
_values = st.text(
    alphabet=st.characters(blacklist_characters="()\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda v: not v.endswith("\\"))
_trees = st.recursive(
    _values,
    lambda children: (
        st.dictionaries(_names, children, min_size=1, max_size=4)
        | st.lists(children, min_size=1, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _trees, min_size=1, max_size=4), _names)
def test_encode_then_parse_round_trips(tree, name):
    text = encode_sexpr(tree, name)
    parsed = parse_sexpr(text)
    assert parsed.name == name
    assert parsed == tree
