"""The WS-Management SOAP the simulator speaks: namespaces, actions, envelopes, faults and
the anonymous Identify answer."""

from __future__ import annotations

import re
import uuid
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ACTION = {
    "create": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
    "delete": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
    "command": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
    "receive": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
    "signal": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal",
    "send": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send",
}
DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
OPERATION_TIMEOUT_CODE = 2150858793


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A SOAP envelope answering ``relates_to`` with ``action`` and ``body``."""
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" '
        f'xmlns:x="{NS["x"]}" xmlns:w="{NS["w"]}" xmlns:rsp="{NS["rsp"]}">'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def fault(relates_to: str, code: int, text: str, subcode: str = "w:InternalError",
          machine: str = "localhost") -> bytes:
    """A SOAP fault with Microsoft's WSManFault detail (HTTP 500 carries it)."""
    body = (
        f'<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}'
        f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(text)}'
        f'</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="{NS["f"]}" Code="{code}" '
        f'Machine={quoteattr(machine)}><f:Message>{escape(text)}</f:Message></f:WSManFault>'
        "</s:Detail></s:Fault>")
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


IDENTIFY_TEMPLATE = (
    f'<s:Envelope xmlns:s="{NS["s"]}"><s:Header/><s:Body>'
    f'<wsmid:IdentifyResponse xmlns:wsmid="{NS["wsmid"]}">'
    "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
    "</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
    "<wsmid:ProductVersion>{version}</wsmid:ProductVersion>"
    "</wsmid:IdentifyResponse></s:Body></s:Envelope>")


def duration_seconds(text: str | None, default: float = 60.0) -> float:
    """An ``xs:duration`` such as ``PT20S`` or ``PT1M30S`` in seconds (``default`` if not)."""
    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", (text or "").strip())
    if not match or not any(match.groups()):
        return default
    return float(match.group(1) or 0) * 60 + float(match.group(2) or 0)
