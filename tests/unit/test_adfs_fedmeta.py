"""The federation metadata parser (checks/protocols/fedmeta.py): facts, refusals, properties."""

from __future__ import annotations

import base64
import contextlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessready.agent.demo.simulators.adfs import build_mex, client_hello_sni
from accessready.agent.io.tls import parse_certificate
from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.fedmeta import (
    MetadataParseError,
    parse_metadata,
    parse_mex,
)
from tests.unit.adfs_farm import FS, XML_BOMB, XXE, certificates, metadata


def test_adfs_layout_is_read() -> None:
    p = certificates()
    meta = parse_metadata(metadata())
    assert meta.entity_id == f"http://{FS}/adfs/services/trust"
    assert meta.signed
    assert meta.roles == ("ApplicationServiceType", "SecurityTokenServiceType",
                          "SPSSODescriptor", "IDPSSODescriptor")
    assert len(meta.signing_certs()) == 1
    assert len(meta.encryption_certs()) == 1
    signing = parse_certificate(meta.signing_certs()[0])
    assert signing.common_name == f"ADFS Signing - {FS}"
    assert signing.not_after.replace(microsecond=0) == parse_certificate(
        _der(p.signing[0])).not_after.replace(microsecond=0)
    assert meta.signature_certs == (meta.signing_certs()[0],)
    assert meta.roles_of(meta.signing_certs()[0], "signing") == [
        "ApplicationServiceType", "IDPSSODescriptor", "SPSSODescriptor",
        "SecurityTokenServiceType"]


def _der(pem: bytes) -> bytes:
    body = re.sub(rb"-----[A-Z ]+-----|\s", b"", pem)
    return base64.b64decode(body)


def test_rollover_publishes_two_signing_certificates() -> None:
    p = certificates()
    meta = parse_metadata(metadata(signing=[p.signing[0], p.signing_new[0]]))
    assert len(meta.signing_certs()) == 2
    assert len(meta.encryption_certs()) == 1


def test_fingerprint_ignores_the_per_response_id_but_not_the_certificates() -> None:
    p = certificates()
    first, second = parse_metadata(metadata()), parse_metadata(metadata())
    assert first.document_id != second.document_id  # AD FS signs every response afresh
    assert first.fingerprint() == second.fingerprint()
    other = parse_metadata(metadata(signing=[p.signing_new[0]]))
    assert other.fingerprint() != first.fingerprint()
    renamed = parse_metadata(metadata(entity_id="http://other.example/adfs/services/trust"))
    assert renamed.fingerprint() != first.fingerprint()


def test_key_descriptor_without_use_serves_both() -> None:
    cert = base64.b64encode(_der(certificates().signing[0])).decode()
    doc = f"""<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e">
<IDPSSODescriptor protocolSupportEnumeration="x"><KeyDescriptor>
<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
<ds:X509Certificate>
{cert[:64]}
{cert[64:]}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor></IDPSSODescriptor>
</EntityDescriptor>""".encode()
    meta = parse_metadata(doc)
    assert meta.signing_certs() == meta.encryption_certs()
    assert not meta.signed


def test_xml_bomb_is_refused_before_expansion() -> None:
    with pytest.raises(MetadataParseError) as info:
        parse_metadata(XML_BOMB)
    assert info.value.kind == "dtd"
    assert "bomb" in str(info.value)


def test_external_entity_is_refused_unread() -> None:
    with pytest.raises(MetadataParseError) as info:
        parse_metadata(XXE)
    assert info.value.kind == "dtd"
    assert "external entity" in str(info.value)


def test_external_dtd_reference_is_refused() -> None:
    doc = (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://192.0.2.1/evil.dtd">'
           b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>')
    with pytest.raises(MetadataParseError) as info:
        parse_metadata(doc)
    assert info.value.kind == "dtd"


@pytest.mark.parametrize(("doc", "kind"), [
    (b"", "xml"),
    (b"   \n", "xml"),
    (b"<html><body>Sign in</body></html>", "not_metadata"),
    (b"<EntityDescriptor entityID='e'/>", "not_metadata"),  # no SAML namespace
    (b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>', "not_metadata"),
    (b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e">',
     "xml"),
    (b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e">'
     b'<IDPSSODescriptor><KeyDescriptor use="signing"><KeyInfo '
     b'xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>not base64!'
     b"</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor>"
     b"</EntityDescriptor>", "certificate"),
    (b'<?xml version="1.0" encoding="x-unknown"?><a/>', "xml"),
])
def test_malformed_documents(doc: bytes, kind: str) -> None:
    with pytest.raises(MetadataParseError) as info:
        parse_metadata(doc)
    assert info.value.kind == kind


def test_size_cap() -> None:
    doc = metadata()
    with pytest.raises(MetadataParseError) as info:
        parse_metadata(doc, max_bytes=len(doc) - 1)
    assert info.value.kind == "too_big"
    assert parse_metadata(doc, max_bytes=len(doc)).entity_id


def test_parse_error_is_a_protocol_error() -> None:
    assert issubclass(MetadataParseError, ProtocolError)


def test_mex_lists_the_ws_trust_endpoints() -> None:
    mex = parse_mex(build_mex(FS))
    assert f"https://{FS}/adfs/services/trust/13/windowstransport" in mex.addresses
    with pytest.raises(MetadataParseError):
        parse_mex(metadata())  # metadata is not a WSDL
    with pytest.raises(MetadataParseError):
        parse_mex(XML_BOMB)


# --- properties: nothing but MetadataParseError escapes ------------------------------------

_FRAGMENTS = [b"<", b">", b"/>", b"</", b"EntityDescriptor", b"KeyDescriptor", b'use="signing"',
              b'xmlns="urn:oasis:names:tc:SAML:2.0:metadata"', b"X509Certificate", b"&amp;",
              b"&#0;", b"&#x110000;", b"<!DOCTYPE a [", b"<!ENTITY e 'x'>", b"]>", b"<![CDATA[",
              b"]]>", b"<?xml version='1.0' encoding='utf-16'?>", b"\xff\xfe", b"\x00",
              b'entityID="', b'"', b"ds:", b"xmlns:ds='http://www.w3.org/2000/09/xmldsig#'",
              b"QUJD", b"====", b"\xc3\x28", b"\n"]


def _parse_only_own_error(data: bytes) -> None:
    for parser in (parse_metadata, parse_mex):
        with contextlib.suppress(MetadataParseError):
            parser(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_property_random_bytes(data: bytes) -> None:
    _parse_only_own_error(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40))
def test_property_xml_fragments(parts: list[bytes]) -> None:
    _parse_only_own_error(b"".join(parts))


_VALID = metadata()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_VALID) - 1), st.integers(1, 64), st.binary(max_size=16),
       st.sampled_from(["cut", "replace", "insert"]))
def test_property_mutated_metadata(at: int, length: int, junk: bytes, how: str) -> None:
    if how == "cut":
        data = _VALID[:at]
    elif how == "replace":
        data = _VALID[:at] + junk + _VALID[at + length:]
    else:
        data = _VALID[:at] + junk + _VALID[at:]
    _parse_only_own_error(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_property_text_in_attributes_and_certificates(text: str) -> None:
    from xml.sax.saxutils import escape, quoteattr

    doc = (f'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" '
           f"entityID={quoteattr(text)}><RoleDescriptor "
           f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type={quoteattr(text)}>'
           f'<KeyDescriptor use={quoteattr(text)}><X509Certificate '
           f'xmlns="http://www.w3.org/2000/09/xmldsig#">{escape(text)}</X509Certificate>'
           "</KeyDescriptor></RoleDescriptor></EntityDescriptor>")
    _parse_only_own_error(doc.encode("utf-8", "surrogatepass"))


# --- the simulator's ClientHello reader (used to reset TLS without SNI) ---------------------

def test_client_hello_sni_reader() -> None:
    import ssl

    def hello(server_name: str | None) -> bytes:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
        with pytest.raises(ssl.SSLWantReadError):
            obj.do_handshake()
        return outgoing.read()

    assert client_hello_sni(hello(FS)) == FS
    assert client_hello_sni(hello(None)) is None
    with pytest.raises(ValueError):
        client_hello_sni(b"GET / HTTP/1.1\r\n")
    with pytest.raises(ValueError):
        client_hello_sni(hello(FS)[:20])
