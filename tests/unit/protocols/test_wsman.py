"""Unit and property tests for the WS-Management codec (checks/protocols/wsman.py)."""

from __future__ import annotations

import contextlib

import pytest
from defusedxml import ElementTree as SafeET
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError
from accessready.checks.protocols.httpmsg import build_request
from accessready.checks.protocols.wsman import (
    IDENTIFY_BODY,
    MAX_XML_BYTES,
    OPERATION_TIMEOUT_CODE,
    WSMAN_PATH,
    IdentifyResponse,
    WsmanFault,
    WsmanParseError,
    build_identify_request,
    classify_http_auth,
    parse_fault,
    parse_identify_response,
)

# Windows Server 2012 R2, anonymous Identify: the literal body from chef/knife-windows
# spec/unit/knife/wsman_test_spec.rb (reference B.2).
IDENTIFY_2012R2 = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>'
    b'<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/'
    b'wsmanidentity.xsd">'
    b"<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
    b"</wsmid:ProtocolVersion>"
    b"<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
    b"<wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"
    b"</wsmid:IdentifyResponse></s:Body></s:Envelope>"
)

# Authenticated Identify (Server 2019): same shape plus the OS and SecurityProfiles.
# Constructed: the profile URIs are DMTF DSP0226's; which ones a given server lists is
# configuration-dependent (reference B.2 marks the exact list [INF]).
IDENTIFY_AUTHENTICATED = b"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xml:lang="en-US">
  <s:Header/>
  <s:Body>
    <wsmid:IdentifyResponse
        xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">
      <wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>
      <wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>
      <wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>
      <wsmid:SecurityProfiles>
        <wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic</wsmid:SecurityProfileName>
        <wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos</wsmid:SecurityProfileName>
        <wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic</wsmid:SecurityProfileName>
        <wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/spnego-kerberos</wsmid:SecurityProfileName>
      </wsmid:SecurityProfiles>
    </wsmid:IdentifyResponse>
  </s:Body>
</s:Envelope>
"""

# A Receive that timed out, shaped like the Windows faults in pywinrm's and pypsrp's test
# fixtures (s:Receiver / w:TimedOut / WSManFault Code="2150858793").
FAULT_TIMEOUT = b"""<s:Envelope xml:lang="en-US"
    xmlns:s="http://www.w3.org/2003/05/soap-envelope"
    xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"
    xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">
  <s:Header>
    <a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>
    <a:MessageID>uuid:E9E4D4F0-58B6-4E3A-9A28-3F6E1B7B1C11</a:MessageID>
    <a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>
    <a:RelatesTo>uuid:7340FE92-C302-42E5-A337-1918908654F8</a:RelatesTo>
  </s:Header>
  <s:Body>
    <s:Fault>
      <s:Code>
        <s:Value>s:Receiver</s:Value>
        <s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode>
      </s:Code>
      <s:Reason>
        <s:Text xml:lang="en-US">TIMEOUT_TEXT</s:Text>
      </s:Reason>
      <s:Detail>
        <f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
            Code="2150858793" Machine="adfs01.exempel.local">
          <f:Message>TIMEOUT_TEXT</f:Message>
        </f:WSManFault>
      </s:Detail>
    </s:Fault>
  </s:Body>
</s:Envelope>""".replace(
    b"TIMEOUT_TEXT",
    b"The WS-Management service cannot complete the operation within the time specified "
    b"in OperationTimeout.  ",
)

# Access denied with a provider fault and an MSFT_WmiError detail (constructed from the
# namespaces pywinrm parses).
FAULT_ACCESS_DENIED = b"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
    xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">
  <s:Header/>
  <s:Body><s:Fault>
    <s:Code><s:Value>s:Sender</s:Value>
      <s:Subcode><s:Value>w:AccessDenied</s:Value></s:Subcode></s:Code>
    <s:Reason><s:Text xml:lang="">Access is denied. </s:Text></s:Reason>
    <s:Detail>
      <f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="5"
          Machine="wap01">
        <f:Message><f:ProviderFault provider="Shell cmd plugin"
            path="%systemroot%\\system32\\winrscmd.dll">Access is denied. </f:ProviderFault>
        </f:Message>
      </f:WSManFault>
      <p:MSFT_WmiError
          xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError">
        <p:error_Code>2147942405</p:error_Code>
      </p:MSFT_WmiError>
    </s:Detail>
  </s:Fault></s:Body>
</s:Envelope>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">
<wsmid:ProtocolVersion>&lol9;</wsmid:ProtocolVersion>
</wsmid:IdentifyResponse></s:Body></s:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE s:Envelope [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">
<wsmid:ProtocolVersion>&xxe;</wsmid:ProtocolVersion>
</wsmid:IdentifyResponse></s:Body></s:Envelope>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE s:Envelope SYSTEM "http://192.0.2.1/evil.dtd">
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"""


# -- Identify --------------------------------------------------------------------------------


def test_identify_2012r2_anonymous():
    ident = parse_identify_response(IDENTIFY_2012R2)
    assert ident == IdentifyResponse(
        protocol_version="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
        product_vendor="Microsoft Corporation",
        product_version="OS: 0.0.0 SP: 0.0 Stack: 3.0",
        stack_version="3.0",
        os_version=None,
        service_pack="0.0",
        security_profiles=(),
    )


def test_identify_authenticated_reveals_os_and_profiles():
    ident = parse_identify_response(IDENTIFY_AUTHENTICATED)
    assert ident.os_version == "10.0.17763"
    assert ident.stack_version == "3.0"
    assert len(ident.security_profiles) == 4
    assert ident.security_profiles[1].endswith("/http/spnego-kerberos")


def test_identify_winrm_2_and_non_windows_product_version():
    old = IDENTIFY_2012R2.replace(b"Stack: 3.0", b"Stack: 2.0")
    assert parse_identify_response(old).stack_version == "2.0"
    openwsman = IDENTIFY_2012R2.replace(b"OS: 0.0.0 SP: 0.0 Stack: 3.0", b"2.6.5").replace(
        b"Microsoft Corporation", b"Openwsman Project"
    )
    ident = parse_identify_response(openwsman)
    assert (ident.product_vendor, ident.stack_version, ident.os_version) == (
        "Openwsman Project",
        None,
        None,
    )


def test_identify_request():
    headers, body = build_identify_request("adfs01.exempel.local:5985")
    assert ("WSMANIDENTIFY", "unauthenticated") in headers
    assert ("Content-Type", "application/soap+xml;charset=UTF-8") in headers
    assert ("Host", "adfs01.exempel.local:5985") in headers
    assert body == IDENTIFY_BODY
    root = SafeET.fromstring(body)
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert (
        root.find(
            "{http://www.w3.org/2003/05/soap-envelope}Body/"
            "{http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd}Identify"
        )
        is not None
    )
    raw = build_request("POST", WSMAN_PATH, "adfs01.exempel.local:5985", headers, body)
    assert raw.startswith(b"POST /wsman HTTP/1.1\r\nHost: adfs01.exempel.local:5985\r\n")
    assert raw.count(b"Host:") == 1


@pytest.mark.parametrize("host", ["", "a b", "h\r\nX: 1", "h\n", "h/evil", "ä.se"])
def test_identify_request_rejects_bad_hosts(host):
    with pytest.raises(ValueError):
        build_identify_request(host)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(EXTERNAL_DTD, id="external-dtd"),
        pytest.param(b"\x00\xffgarbage\x17", id="garbage"),
        pytest.param(b"HTTP/1.1 500 Internal Server Error", id="not-xml"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>IIS</body></html>", id="html"),
        pytest.param(IDENTIFY_2012R2[:-20], id="truncated"),
        pytest.param(b'<?xml version="1.0" encoding="x-unknown"?><a/>', id="unknown-encoding"),
        pytest.param(
            IDENTIFY_2012R2.replace(b"wsmid:ProtocolVersion", b"wsmid:Other"), id="no-version"
        ),
        pytest.param(FAULT_TIMEOUT, id="a-fault"),
        pytest.param(
            b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/>"
            b"</s:Envelope>",
            id="soap-1.1",
        ),
    ],
)
def test_identify_rejects_unsafe_and_wrong_documents(body):
    with pytest.raises(WsmanParseError):
        parse_identify_response(body)


def test_size_cap_is_checked_before_parsing():
    huge = IDENTIFY_2012R2 + b" " * MAX_XML_BYTES
    with pytest.raises(WsmanParseError, match="exceeds"):
        parse_identify_response(huge)


def test_deep_nesting_is_a_parse_error_or_parsed_not_a_crash():
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(WsmanParseError):
        parse_identify_response(deep)


# -- faults ----------------------------------------------------------------------------------


def test_fault_operation_timeout():
    fault = parse_fault(FAULT_TIMEOUT)
    assert fault.code == "s:Receiver"
    assert fault.subcode == "w:TimedOut"
    assert fault.wsman_fault_code == OPERATION_TIMEOUT_CODE == 2150858793
    assert fault.machine == "adfs01.exempel.local"
    assert fault.reason.startswith("The WS-Management service cannot complete the operation")
    assert fault.message == fault.reason
    assert fault.is_operation_timeout
    assert not fault.is_access_denied


def test_fault_access_denied_with_provider_fault_and_wmi_error():
    fault = parse_fault(FAULT_ACCESS_DENIED)
    assert fault == WsmanFault(
        code="s:Sender",
        subcode="w:AccessDenied",
        reason="Access is denied.",
        wsman_fault_code=5,
        message="Access is denied.",
        machine="wap01",
        wmi_error_code=2147942405,
    )
    assert fault.is_access_denied and not fault.is_operation_timeout


def test_fault_with_only_the_soap_parts():
    minimal = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>'
        b"<s:Code><s:Value>s:MustUnderstand</s:Value></s:Code>"
        b'<s:Reason><s:Text xml:lang=""> Test reason. </s:Text></s:Reason>'
        b"</s:Fault></s:Body></s:Envelope>"
    )
    fault = parse_fault(minimal)
    assert (fault.code, fault.subcode, fault.reason, fault.wsman_fault_code) == (
        "s:MustUnderstand",
        None,
        "Test reason.",
        None,
    )


def test_fault_non_numeric_code_is_none():
    odd = FAULT_TIMEOUT.replace(b'Code="2150858793"', b'Code="soon"')
    assert parse_fault(odd).wsman_fault_code is None
    assert parse_fault(odd).is_operation_timeout  # the subcode still says so


@pytest.mark.parametrize("body", [IDENTIFY_2012R2, BILLION_LAUGHS, EXTERNAL_ENTITY, b"junk"])
def test_parse_fault_rejects_non_faults(body):
    with pytest.raises(WsmanParseError):
        parse_fault(body)


# -- WWW-Authenticate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Negotiate", 'Basic realm="WSMAN"'], ("Negotiate", "Basic")),
        (
            ['Negotiate, Kerberos, Basic realm="WSMAN", CredSSP'],
            ("Negotiate", "Kerberos", "Basic", "CredSSP"),
        ),
        (["NTLM", "ntlm", "negotiate"], ("NTLM", "Negotiate")),
        (['Basic realm="a, b", charset="UTF-8"'], ("Basic",)),
        (['Digest realm="x", nonce="abc", qop="auth"'], ("Digest",)),
        (
            [
                (
                    "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYB"
                    "BAGCNwICHgYKKwYBBAGCNwICCg=="
                )
            ],
            ("Negotiate",),
        ),
        (['Bearer realm="x"', "Mutual"], ("Bearer", "Mutual")),
        (["realm = x", "", ",,,", '"quoted"'], ()),
        ([], ()),
    ],
)
def test_classify_http_auth(values, expected):
    assert classify_http_auth(values) == expected


def test_classify_http_auth_caps_input():
    with pytest.raises(WsmanParseError):
        classify_http_auth(["Basic " + "a" * 70_000])


def test_error_hierarchy():
    assert issubclass(WsmanParseError, ProtocolError)


# -- properties ------------------------------------------------------------------------------


def _try_all(data: bytes) -> None:
    for parse in (parse_identify_response, parse_fault):
        with contextlib.suppress(WsmanParseError):
            parse(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_wsman_parse_error(data):
    _try_all(data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            IDENTIFY_2012R2,
            IDENTIFY_AUTHENTICATED,
            FAULT_TIMEOUT,
            FAULT_ACCESS_DENIED,
            BILLION_LAUGHS,
        ]
    ),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3000), st.binary(max_size=6)),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_documents_raise_only_wsman_parse_error(base, edits):
    data = bytearray(base)
    for offset, replacement in edits:
        offset %= len(data) + 1
        data[offset : offset + len(replacement)] = replacement
    _try_all(bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=6))
def test_classify_http_auth_never_fails_on_small_input(values):
    result = classify_http_auth(values)
    assert isinstance(result, tuple)
    assert len(set(result)) == len(result)
