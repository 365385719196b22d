"""Unit and property tests for the AnyConnect codec (checks/protocols/anyconnect.py)."""

from __future__ import annotations

import contextlib

import pytest
from defusedxml import ElementTree as SafeET
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.anyconnect import (
    DEFAULT_USER_AGENT,
    MAX_XML_BYTES,
    AnyConnectParseError,
    AuthReply,
    CstpConfig,
    build_init_request,
    gateway_target,
    is_full_tunnel,
    parse_auth_reply,
    parse_cstp_headers,
)
from accessready.checks.protocols.httpmsg import build_request

# ocserv 1.1.6 with select-group staff/students, byte for byte as captured on loopback
# (reference F.2; the body has no final newline).
OCSERV_REPLY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<config-auth client="vpn" type="auth-request">\n'
    b'<version who="sg">0.1(1)</version>\n'
    b'<auth id="main">\n'
    b"<message>Please enter your username.</message>\n"
    b'<form method="post" action="/auth">\n'
    b'<input type="text" name="username" label="Username:" />\n'
    b'<select name="group_list" label="Group:">\n'
    b'<option value="staff">staff</option>\n'
    b'<option value="students">students</option>\n'
    b"</select>\n"
    b"</form></auth>\n"
    b"</config-auth>"
)

# ASA-like reply: opaque tunnel-group/group-alias, title/banner, options with and without
# value attributes. Element names from openconnect's auth.c comments and public ASA
# emulators' templates; values invented for the Exempel kommun profile.
ASA_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">
    <version who="sg">9.16(4)</version>
    <opaque is-for="sg">
        <tunnel-group>Leverantorer</tunnel-group>
        <group-alias>Leverant&#246;rer</group-alias>
        <aggauth-handle>168179266</aggauth-handle>
        <config-hash>1595829378234</config-hash>
        <auth-method>password</auth-method>
    </opaque>
    <auth id="main">
        <title>Login</title>
        <message>Please enter your username and password.</message>
        <banner>Endast beh&#246;rig personal.</banner>
        <form>
            <input type="text" name="username" label="Username:"></input>
            <input type="password" name="password" label="Password:"></input>
            <select name="group_list" label="GROUP:">
                <option value="Anstallda">Anst&#228;llda</option>
                <option selected="true">Leverantorer</option>
            </select>
        </form>
    </auth>
</config-auth>
"""

CLIENT_CERT_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">
  <version who="sg">9.12(2)</version>
  <opaque is-for="sg"><tunnel-group>CertOnly</tunnel-group></opaque>
  <client-cert-request/>
</config-auth>
"""

HOST_SCAN_REPLY = ASA_REPLY.replace(
    b"</opaque>",
    b"</opaque>\n    <host-scan><host-scan-ticket>T</host-scan-ticket>"
    b"<host-scan-token>X</host-scan-token><host-scan-base-uri>/+CSCOH+/</host-scan-base-uri>"
    b"</host-scan>",
)

ERROR_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">
  <auth id="main">
    <title>Login</title>
    <message>Please enter your username and password.</message>
    <error id="88" param1="Login denied" param2="">Login failed: %s</error>
    <form>
      <input type="text" name="username" label="Username:"></input>
      <input type="password" name="password" label="Password:"></input>
    </form>
  </auth>
</config-auth>
"""

COMPLETE_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="complete" aggregate-auth-version="2">
  <session-id>32768</session-id>
  <session-token>must-not-be-surfaced</session-token>
  <auth id="success"><message id="0" param1="" param2=""></message></auth>
</config-auth>
"""

PORTAL_HTML = b"""<html><script>
document.location.replace("/+CSCOE+/logon.html");
</script></html>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE config-auth [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<config-auth client="vpn" type="auth-request"><auth id="main"><message>&e;</message></auth>
</config-auth>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE config-auth [ <!ENTITY leak SYSTEM "file:///etc/shadow"> ]>
<config-auth client="vpn" type="auth-request"><auth id="main"><message>&leak;</message>
</auth></config-auth>"""

# CSTP CONNECT answer from ocserv 1.1.6 (reference F.3), split tunnel.
CSTP_SPLIT = [
    ("X-CSTP-Version", "1"),
    ("X-CSTP-Server-Name", "ocserv 1.1.6"),
    ("X-CSTP-Address", "192.168.99.130"),
    ("X-CSTP-Netmask", "255.255.255.0"),
    ("X-CSTP-Split-Include", "10.10.10.0/255.255.255.0"),
    ("X-CSTP-Split-Include", "192.168.50.0/255.255.255.0"),
    ("X-CSTP-Tunnel-All-DNS", "false"),
    ("X-CSTP-Split-Exclude", "192.168.50.128/255.255.255.128"),
    ("X-CSTP-DPD", "60"),
    ("X-CSTP-MTU", "1472"),
]

# The same gateway with `route = default`: no routes sent, all DNS through the tunnel.
CSTP_FULL = [
    ("X-CSTP-Version", "1"),
    ("X-CSTP-Server-Name", "ocserv 1.1.6"),
    ("X-CSTP-Address", "192.168.99.130"),
    ("X-CSTP-Netmask", "255.255.255.0"),
    ("X-CSTP-Tunnel-All-DNS", "true"),
]


# -- init request ----------------------------------------------------------------------------


def test_init_request_headers_and_body():
    headers, body = build_init_request("https://vpn.exempel.se", "Leverantorer")
    assert headers == [
        ("Host", "vpn.exempel.se"),
        ("User-Agent", DEFAULT_USER_AGENT),
        ("Accept", "*/*"),
        ("Accept-Encoding", "identity"),
        ("X-Transcend-Version", "1"),
        ("X-Aggregate-Auth", "1"),
        ("Content-Type", "application/xml; charset=utf-8"),
    ]
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<config-auth ')
    root = SafeET.fromstring(body)
    assert root.tag == "config-auth"
    assert (root.get("client"), root.get("type")) == ("vpn", "init")
    assert root.find("version").get("who") == "vpn"
    assert root.find("version").text == "v9.01"
    assert root.find("device-id").text == "win"
    assert root.find("group-select").text == "Leverantorer"
    assert root.find("group-access").text == "https://vpn.exempel.se"


def test_init_request_without_group_and_with_platform_and_port_path():
    url = "https://vpn.exempel.se:8443/leverantorer"
    headers, body = build_init_request(url, None, version="v8.10", platform="linux-64")
    assert ("Host", "vpn.exempel.se:8443") in headers
    assert ("X-AnyConnect-Platform", "linux-64") in headers
    root = SafeET.fromstring(body)
    assert root.find("group-select") is None
    assert root.find("device-id").text == "linux-64"
    assert root.find("group-access").text == url
    assert gateway_target(url) == "/leverantorer"
    assert gateway_target("https://vpn.exempel.se") == "/"


def test_init_request_escapes_xml_in_group_and_url():
    group = "R&D <\"kommun\"> 'ä'"
    url = "https://vpn.exempel.se/a&b<c>"
    _, body = build_init_request(url, group)
    assert b"<group-select>R&amp;D &lt;\"kommun\"&gt; '\xc3\xa4'</group-select>" in body
    root = SafeET.fromstring(body)
    assert root.find("group-select").text == group
    assert root.find("group-access").text == url
    assert len(root) == 4  # no element was injected


def test_init_request_goes_through_build_request():
    headers, body = build_init_request("https://vpn.exempel.se", "x")
    raw = build_request("POST", "/", "vpn.exempel.se", headers, body)
    assert raw.count(b"Host:") == 1
    assert raw.endswith(body)


@pytest.mark.parametrize(
    ("url", "group", "kwargs"),
    [
        ("http://vpn.exempel.se", None, {}),
        ("vpn.exempel.se", None, {}),
        ("https://", None, {}),
        ("https://user:pw@vpn.exempel.se", None, {}),
        ("https://vpn.exempel.se/?x=1", None, {}),
        ("https://vpn.exempel.se:99999", None, {}),
        ("https://vpn.exempel.se\r\nX: 1", None, {}),
        ("https://vpn exempel.se", None, {}),
        ("https://vpn.exempel.se", "bad\x00group", {}),
        ("https://vpn.exempel.se", "two\nlines", {}),
        ("https://vpn.exempel.se", "", {}),
        ("https://vpn.exempel.se", "x" * 300, {}),
        ("https://vpn.exempel.se", None, {"platform": "win\r\nX: 1"}),
        ("https://vpn.exempel.se", None, {"platform": "win\n"}),  # `$` matches before "\n"
        ("https://vpn.exempel.se", None, {"version": "v9.01\n"}),
        ("https://vpn.exempel.se", None, {"version": "<v>"}),
        ("https://vpn.exempel.se", None, {"user_agent": "UA\r\nX: 1"}),
    ],
)
def test_init_request_rejects_bad_input(url, group, kwargs):
    with pytest.raises(ValueError):
        build_init_request(url, group, **kwargs)


# -- auth replies ----------------------------------------------------------------------------


def test_ocserv_reply():
    reply = parse_auth_reply(OCSERV_REPLY)
    assert reply == AuthReply(
        type="auth-request",
        server_version="0.1(1)",
        auth_id="main",
        message="Please enter your username.",
        error=None,
        form_action="/auth",
        inputs=(("username", "text", "Username:"),),
        groups=(("staff", "staff"), ("students", "students")),
        tunnel_group=None,
        group_alias=None,
        client_cert_requested=False,
        host_scan=False,
    )
    assert reply.offers_group("STAFF")
    assert not reply.offers_group("Leverantorer")


def test_asa_reply_with_opaque():
    reply = parse_auth_reply(ASA_REPLY)
    assert reply.server_version == "9.16(4)"
    assert reply.tunnel_group == "Leverantorer"
    assert reply.group_alias == "Leverantörer"
    assert reply.title == "Login"
    assert reply.banner == "Endast behörig personal."
    assert reply.form_action is None
    assert reply.inputs == (
        ("username", "text", "Username:"),
        ("password", "password", "Password:"),
    )
    assert reply.groups == (("Anstallda", "Anställda"), ("Leverantorer", "Leverantorer"))
    assert reply.offers_group("anställda")
    assert not reply.client_cert_requested
    assert not reply.host_scan


def test_client_cert_request_reply():
    reply = parse_auth_reply(CLIENT_CERT_REPLY)
    assert reply.client_cert_requested
    assert reply.auth_id is None and reply.inputs == () and reply.groups == ()
    assert reply.tunnel_group == "CertOnly"


def test_host_scan_reply():
    assert parse_auth_reply(HOST_SCAN_REPLY).host_scan


def test_error_reply_substitutes_params():
    reply = parse_auth_reply(ERROR_REPLY)
    assert reply.error == "Login failed: Login denied"
    assert reply.server_version is None


def test_complete_reply_does_not_surface_the_session_token():
    reply = parse_auth_reply(COMPLETE_REPLY)
    assert reply.type == "complete"
    assert reply.auth_id == "success"
    assert "must-not-be-surfaced" not in repr(reply)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(PORTAL_HTML, id="asa-portal-html"),
        pytest.param(b"\xff\xfe\x00garbage", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(OCSERV_REPLY[:100], id="truncated"),
        pytest.param(b"<?xml version='1.0'?><config-auth-not/>", id="wrong-root"),
        pytest.param(b"<a>" * 50_000 + b"</a>" * 50_000, id="deep-nesting"),
    ],
)
def test_bad_replies_raise_anyconnect_parse_error(body):
    with pytest.raises(AnyConnectParseError):
        parse_auth_reply(body)


def test_size_cap():
    with pytest.raises(AnyConnectParseError, match="exceeds"):
        parse_auth_reply(OCSERV_REPLY + b" " * MAX_XML_BYTES)


def test_error_hierarchy():
    assert issubclass(AnyConnectParseError, ProtocolError)


# -- CSTP ------------------------------------------------------------------------------------


def test_cstp_split_tunnel():
    cfg = parse_cstp_headers(CSTP_SPLIT)
    assert cfg == CstpConfig(
        address="192.168.99.130",
        netmask="255.255.255.0",
        split_include=("10.10.10.0/24", "192.168.50.0/24"),
        split_exclude=("192.168.50.128/25",),
        tunnel_all_dns=False,
        server_name="ocserv 1.1.6",
    )
    assert not is_full_tunnel(cfg)


def test_cstp_full_tunnel():
    cfg = parse_cstp_headers(CSTP_FULL)
    assert cfg.split_include == ()
    assert cfg.tunnel_all_dns is True
    assert is_full_tunnel(cfg)


def test_cstp_full_tunnel_written_as_split_routes():
    assert is_full_tunnel(parse_cstp_headers([("X-CSTP-Split-Include", "0.0.0.0/0.0.0.0")]))
    halves = [
        ("x-cstp-split-include", "0.0.0.0/128.0.0.0"),
        ("X-CSTP-SPLIT-INCLUDE", "128.0.0.0/1"),
    ]
    assert is_full_tunnel(parse_cstp_headers(halves))


def test_cstp_ipv6_routes():
    cfg = parse_cstp_headers(
        [
            *CSTP_SPLIT,
            ("X-CSTP-Address-IP6", "fd00:99::82/64"),
            ("X-CSTP-Split-Include-IP6", "fd00:10::/64"),
        ]
    )
    assert cfg.split_include_ip6 == ("fd00:10::/64",)
    assert cfg.address_ip6 == "fd00:99::82/64"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-CSTP-Address", "not-an-ip")],
        [("X-CSTP-Netmask", "255.0.255.0")],
        [("X-CSTP-Split-Include", "10.0.0.0/33")],
        [("X-CSTP-Split-Include", "fd00::/64")],
        [("X-CSTP-Split-Include-IP6", "10.0.0.0/8")],
        [("X-CSTP-Tunnel-All-DNS", "maybe")],
        [("X-CSTP-Split-Include", "1" * 5000)],
        [("only-one",)],
        [(1, 2)],
    ],
)
def test_cstp_bad_headers(headers):
    with pytest.raises(AnyConnectParseError):
        parse_cstp_headers(headers)


# -- properties ------------------------------------------------------------------------------

FIXTURES = [OCSERV_REPLY, ASA_REPLY, CLIENT_CERT_REPLY, ERROR_REPLY, COMPLETE_REPLY]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_anyconnect_parse_error(data):
    with contextlib.suppress(AnyConnectParseError):
        parse_auth_reply(data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*FIXTURES, BILLION_LAUGHS]),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=2000), st.binary(max_size=6)),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_replies_raise_only_anyconnect_parse_error(base, edits):
    data = bytearray(base)
    for offset, replacement in edits:
        offset %= len(data) + 1
        data[offset : offset + len(replacement)] = replacement
    with contextlib.suppress(AnyConnectParseError):
        parse_auth_reply(bytes(data))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "X-CSTP-Address",
                    "X-CSTP-Netmask",
                    "X-CSTP-Split-Include",
                    "X-CSTP-Split-Exclude",
                    "X-CSTP-Split-Include-IP6",
                    "X-CSTP-Tunnel-All-DNS",
                    "X-CSTP-Server-Name",
                    "X-Other",
                ]
            ),
            st.text(max_size=40),
        ),
        max_size=10,
    )
)
def test_cstp_arbitrary_values_raise_only_anyconnect_parse_error(headers):
    try:
        cfg = parse_cstp_headers(headers)
    except AnyConnectParseError:
        return
    assert isinstance(is_full_tunnel(cfg), bool)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_accepted_group_round_trips(group):
    try:
        _, body = build_init_request("https://vpn.exempel.se", group)
    except ValueError:
        return
    assert SafeET.fromstring(body, forbid_dtd=True).find("group-select").text == group
