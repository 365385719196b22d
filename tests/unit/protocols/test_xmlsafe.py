"""The shared untrusted-XML parser (checks/protocols/xmlsafe.py): one behaviour for the
AnyConnect, WS-Management and federation-metadata codecs, each raising its own error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.anyconnect import AnyConnectParseError, parse_auth_reply
from accessready.checks.protocols.fedmeta import MetadataParseError, parse_metadata, parse_mex
from accessready.checks.protocols.wsman import WsmanParseError, parse_identify_response
from accessready.checks.protocols.xmlsafe import parse_untrusted_xml, text_of


class _OwnError(ProtocolError):
    """A codec's own error class, as each codec has one."""


BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><a>&lol2;</a>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b"<a>&x;</a>")
DEEP = b"<a>" * 100_000 + b"</a>" * 100_000

CASES = [
    (b"x" * 101, "too_big", "exceeds 100"),
    (b"", "xml", "empty"),
    (b" \r\n\t", "xml", "empty"),
    (BOMB, "dtd", "entity-expansion bomb"),
    (XXE, "dtd", "external entity (XXE)"),
    (b"<!DOCTYPE a><a/>", "dtd", "document type declaration"),
    (b"<a><b></a>", "xml", "not well-formed"),
    (b'<?xml version="1.0" encoding="x-unknown"?><a/>', "xml", ""),
]


@pytest.mark.parametrize(("data", "kind", "words"), CASES)
def test_refusals_raise_the_callers_class_with_a_kind(data: bytes, kind: str,
                                                      words: str) -> None:
    with pytest.raises(_OwnError) as info:
        parse_untrusted_xml(data, 100 if kind == "too_big" else 1 << 20, _OwnError)
    assert info.value.kind == kind
    assert words in str(info.value)


def test_deep_nesting_parses_without_recursion_and_non_bytes_are_refused() -> None:
    root = parse_untrusted_xml(DEEP, len(DEEP), _OwnError)  # expat does not recurse
    assert root.tag == "a" and text_of(root) is None
    with pytest.raises(_OwnError, match="expected bytes"):
        parse_untrusted_xml("<a/>", 100, _OwnError)  # type: ignore[arg-type]


def test_a_plain_document_parses_and_text_of_joins_text() -> None:
    root = parse_untrusted_xml(bytearray(b"<a> x<b>y</b>z </a>"), 100, _OwnError)
    assert root.tag == "a"
    assert text_of(root) == "xyz"
    assert text_of(root.find("missing")) is None
    assert text_of(parse_untrusted_xml(b"<a>  </a>", 100, _OwnError)) is None


@pytest.mark.parametrize(("parse", "error"), [
    (parse_auth_reply, AnyConnectParseError),
    (parse_identify_response, WsmanParseError),
    (parse_metadata, MetadataParseError),
    (parse_mex, MetadataParseError),
])
def test_every_xml_codec_refuses_through_the_shared_parser(parse, error) -> None:
    for data, kind in ((BOMB, "dtd"), (XXE, "dtd"), (b"", "xml"), (b"<a>", "xml")):
        with pytest.raises(error) as info:
            parse(data)
        assert type(info.value) is error  # the codec's own class, not a sibling's
        assert info.value.kind == kind
    with pytest.raises(error):
        parse(DEEP)  # parses, but is no document the codec knows


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_no_input_escapes_as_another_exception(data: bytes) -> None:
    with contextlib.suppress(_OwnError):
        parse_untrusted_xml(data, 256, _OwnError)
