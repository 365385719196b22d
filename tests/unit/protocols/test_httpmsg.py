"""Unit and property tests for the bounded HTTP/1.1 codec (checks/protocols/httpmsg.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.httpmsg import (
    MAX_HEADERS,
    HttpParseError,
    HttpResponse,
    ResponseParser,
    build_request,
    parse_response,
)

# The ocserv 1.1.6 answer to the AnyConnect init POST (reference F.2), byte for byte as
# captured on loopback: note that the body has no final newline (Content-Length 438).
OCSERV_REPLY_BODY = (
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
OCSERV_REPLY = (
    b"HTTP/1.1 200 OK\r\n"
    b"Set-Cookie: webvpncontext=; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/; Secure; "
    b"HttpOnly\r\n"
    b"Content-Type: text/xml\r\n"
    b"Content-Length: 438\r\n"
    b"X-Transcend-Version: 1\r\n"
    b"\r\n" + OCSERV_REPLY_BODY
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)

WINRM_401 = (
    b"HTTP/1.1 401 \r\n"
    b"Server: Microsoft-HTTPAPI/2.0\r\n"
    b"WWW-Authenticate: Negotiate\r\n"
    b'WWW-Authenticate: Basic realm="WSMAN"\r\n'
    b"Date: Tue, 25 Nov 2025 10:00:00 GMT\r\n"
    b"Content-Length: 0\r\n\r\n"
)

CSTP_CONNECTED = (
    b"HTTP/1.1 200 CONNECTED\r\n"
    b"X-CSTP-Version: 1\r\n"
    b"X-CSTP-Address: 192.168.99.130\r\n"
    b"X-CSTP-Split-Include: 10.10.10.0/255.255.255.0\r\n\r\n"
)


def feed_in_pieces(data: bytes, size: int, **kwargs) -> ResponseParser:
    parser = ResponseParser(**kwargs)
    for start in range(0, len(data), size):
        parser.feed(data[start : start + size])
    return parser


def test_ocserv_reply_with_content_length():
    assert len(OCSERV_REPLY_BODY) == 438  # the captured Content-Length matches the body
    resp = parse_response(OCSERV_REPLY)
    assert resp.status == 200
    assert resp.reason == "OK"
    assert resp.version == "HTTP/1.1"
    assert resp.header("content-type") == "text/xml"
    assert resp.header("X-TRANSCEND-VERSION") == "1"
    assert resp.header("missing") is None
    assert resp.body == OCSERV_REPLY_BODY


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_incremental_feeding_gives_the_same_result(size):
    parser = feed_in_pieces(OCSERV_REPLY, size)
    assert parser.done
    assert parser.response == parse_response(OCSERV_REPLY)


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_chunked_body_and_trailers(size):
    parser = feed_in_pieces(CHUNKED, size)
    assert parser.done
    resp = parser.response
    assert resp.body == b"hello world"
    assert resp.trailers == (("X-Trailer", "yes"),)


def test_multiple_values_and_case_insensitive_lookup():
    resp = parse_response(WINRM_401)
    assert resp.status == 401
    assert resp.reason == ""
    assert resp.headers_all("www-authenticate") == ["Negotiate", 'Basic realm="WSMAN"']
    assert resp.body == b""


def test_read_until_close():
    parser = ResponseParser()
    parser.feed(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>")
    assert parser.headers_done and not parser.done
    parser.feed(b"</html>")
    parser.feed_eof()
    assert parser.done
    assert parser.response.body == b"<html></html>"
    assert parser.response.version == "HTTP/1.0"


def test_interim_100_continue_is_skipped():
    resp = parse_response(b"HTTP/1.1 100 Continue\r\n\r\n" + WINRM_401)
    assert resp.status == 401


def test_head_and_204_have_no_body():
    parser = ResponseParser(request_method="HEAD")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n")
    assert parser.done and parser.response.body == b""
    assert parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").body == b""


def test_connect_reply_ends_after_headers_and_keeps_tunnel_bytes():
    parser = ResponseParser(request_method="CONNECT")
    parser.feed(CSTP_CONNECTED + b"\x53\x54\x46\x01tunnel")
    assert parser.done
    assert parser.response.header("X-CSTP-Address") == "192.168.99.130"
    assert parser.remaining == b"\x53\x54\x46\x01tunnel"


def test_bare_lf_line_endings_are_tolerated():
    resp = parse_response(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert resp.body == b"ok"


def test_duplicate_identical_content_length_is_accepted():
    resp = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
    assert resp.body == b"ok"


def test_transfer_encoding_overrides_content_length():
    data = CHUNKED.replace(b"Content-Type", b"Content-Length: 3\r\nContent-Type")
    assert parse_response(data).body == b"hello world"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/2 200\r\n\r\n", id="http2-status-line"),
        pytest.param(b"HTTP/1.1 20 OK\r\n\r\n", id="two-digit-status"),
        pytest.param(b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", id="space-in-name"),
        pytest.param(b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", id="no-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", id="obs-fold"),
        pytest.param(b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n", id="nul-in-value"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            id="conflicting-lengths",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", id="gzip-te"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            id="chunked-not-last",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", id="no-crlf-after"
        ),
    ],
)
def test_malformed_responses_raise_http_parse_error(data):
    with pytest.raises(HttpParseError):
        parse_response(data)


def test_truncated_bodies_raise_on_eof():
    for data in (
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"",
    ):
        parser = ResponseParser()
        parser.feed(data)
        with pytest.raises(HttpParseError):
            parser.feed_eof()


def test_header_block_limit():
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (64 * 1024) + b"\r\n\r\n"
    with pytest.raises(HttpParseError, match="64 KiB"):
        parse_response(big)
    # Without a terminator the parser gives up as soon as the limit is passed.
    parser = ResponseParser()
    with pytest.raises(HttpParseError):
        for _ in range(70):
            parser.feed(b"X-Pad: " + b"b" * 1000 + b"\r\n")


def test_header_count_limit():
    ok = b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * MAX_HEADERS + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(HttpParseError, match="too many"):
        parse_response(ok)
    fits = b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * (MAX_HEADERS - 1) + b"Content-Length: 0\r\n\r\n"
    assert len(parse_response(fits).headers) == MAX_HEADERS


def test_body_limits():
    with pytest.raises(HttpParseError, match="exceeds"):
        parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max_body=10)
    with pytest.raises(HttpParseError, match="exceeds"):
        parse_response(CHUNKED, max_body=10)
    parser = ResponseParser(max_body=4)
    parser.feed(b"HTTP/1.1 200 OK\r\n\r\nabcd")
    with pytest.raises(HttpParseError):
        parser.feed(b"e")


def test_a_failed_parser_stays_failed():
    parser = ResponseParser()
    with pytest.raises(HttpParseError):
        parser.feed(b"garbage\r\n\r\n")
    with pytest.raises(HttpParseError):
        parser.feed(b"HTTP/1.1 200 OK\r\n\r\n")
    with pytest.raises(HttpParseError):
        parser.response  # noqa: B018 - the property raises


def test_http_parse_error_is_a_protocol_error():
    assert issubclass(HttpParseError, ProtocolError)
    assert issubclass(HttpParseError, ValueError)


def test_http_response_is_frozen():
    resp = parse_response(WINRM_401)
    assert isinstance(resp, HttpResponse)
    with pytest.raises(AttributeError):
        resp.status = 200  # type: ignore[misc]


# -- build_request ---------------------------------------------------------------------------


def test_build_request_layout():
    raw = build_request(
        "POST",
        "/wsman",
        "adfs01.exempel.local:5985",
        [
            ("Content-Type", "application/soap+xml;charset=UTF-8"),
            ("WSMANIDENTIFY", "unauthenticated"),
        ],
        b"<x/>",
    )
    assert raw == (
        b"POST /wsman HTTP/1.1\r\n"
        b"Host: adfs01.exempel.local:5985\r\n"
        b"Content-Type: application/soap+xml;charset=UTF-8\r\n"
        b"WSMANIDENTIFY: unauthenticated\r\n"
        b"Content-Length: 4\r\n\r\n<x/>"
    )


def test_build_request_get_without_body_has_no_length():
    raw = build_request("GET", "/adfs/probe", "sts.exempel.se", [])
    assert raw == b"GET /adfs/probe HTTP/1.1\r\nHost: sts.exempel.se\r\n\r\n"


def test_build_request_post_without_body_has_zero_length():
    assert b"Content-Length: 0\r\n" in build_request("POST", "/", "h", [])


def test_build_request_accepts_a_repeated_identical_host():
    raw = build_request("GET", "/", "vpn.exempel.se", [("Host", "VPN.exempel.se")])
    assert raw.count(b"Host:") == 1


@pytest.mark.parametrize(
    ("method", "target", "host", "headers"),
    [
        ("GET", "/\r\nX-Injected: 1", "h", []),
        ("GET", "/a b", "h", []),
        ("GET", "/", "h\r\nX: y", []),
        ("GET", "/", "h", [("X-A", "v\r\nX-Injected: 1")]),
        ("GET", "/", "h", [("X-A", "v\nw")]),
        ("GET", "/", "h", [("X-A", "v\x00")]),
        ("GET", "/", "h", [("X A", "v")]),
        ("GET", "/", "h", [("X-A\r\n", "v")]),
        ("GET", "/", "h", [("Host", "other")]),
        ("GET", "/", "h", [("Content-Length", "5")]),
        ("GET", "/", "h", [("Transfer-Encoding", "chunked")]),
        ("G ET", "/", "h", []),
        # A trailing LF once slipped through a `^...$` token check (`$` matches before it).
        ("GET\n", "/", "h", []),
        ("GET", "/", "h", [("X-A\n", "v")]),
        ("GET", "relative", "h", []),
        ("GET", "/ä", "h", []),
        ("GET", "/", "", []),
    ],
)
def test_build_request_rejects_injection(method, target, host, headers):
    with pytest.raises(ValueError):
        build_request(method, target, host, headers)


def test_build_request_round_trips_through_a_parser_shaped_like_it():
    raw = build_request("POST", "/", "h", [("X-A", "1")], b"body")
    head, _, body = raw.partition(b"\r\n\r\n")
    # Re-use the response parser on the header block by swapping the request line.
    resp = parse_response(b"HTTP/1.1 200 OK\r\n" + head.split(b"\r\n", 1)[1] + b"\r\n\r\n" + body)
    assert resp.header("x-a") == "1"
    assert resp.body == b"body"


# -- properties ------------------------------------------------------------------------------


def _parse_all(data: bytes, cut: int) -> None:
    parser = ResponseParser(max_body=4096)
    try:
        parser.feed(data[:cut])
        parser.feed(data[cut:])
        if not parser.done:
            parser.feed_eof()
        assert isinstance(parser.response, HttpResponse)
    except HttpParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=2048))
def test_arbitrary_bytes_raise_only_http_parse_error(data, cut):
    _parse_all(data, cut)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([OCSERV_REPLY, CHUNKED, WINRM_401, CSTP_CONNECTED]),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=700), st.binary(min_size=0, max_size=8)),
        min_size=1,
        max_size=6,
    ),
    st.integers(min_value=0, max_value=800),
)
def test_mutated_valid_responses_raise_only_http_parse_error(base, edits, cut):
    data = bytearray(base)
    for offset, replacement in edits:
        offset %= len(data) + 1
        data[offset : offset + len(replacement)] = replacement
    _parse_all(bytes(data), cut)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=3000),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20),
)
def test_chunked_bodies_round_trip_in_any_split(body, splits):
    chunks = []
    pos = 0
    for size in splits:
        if pos >= len(body):
            break
        piece = body[pos : pos + size]
        chunks.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pos += size
    if pos < len(body):
        chunks.append(b"%x\r\n%s\r\n" % (len(body) - pos, body[pos:]))
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(chunks) + b"0\r\n\r\n"
    )
    parser = feed_in_pieces(wire, 13)
    assert parser.done
    assert parser.response.body == body


@pytest.mark.parametrize(("raw", "eof", "persistent"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", False, True),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", False, True),
    (b"HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n", False, True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nhi",
     False, False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", False, False),
    (b"HTTP/1.1 200 OK\r\n\r\nhi", True, False),  # its end was the peer's close
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP", False, False),  # bytes after it
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhi", False, False),  # not complete
])
def test_a_connection_is_persistent_only_when_the_answer_allows_it(raw, eof, persistent):
    parser = ResponseParser()
    parser.feed(raw)
    if eof:
        parser.feed_eof()
    assert parser.persistent is persistent


@pytest.mark.parametrize(("raw", "method"), [
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
     "GET"),
    (b"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT"),
])
def test_a_switch_to_another_protocol_is_not_a_persistent_http_connection(raw, method):
    parser = ResponseParser(request_method=method)
    parser.feed(raw)
    assert parser.done and not parser.persistent
