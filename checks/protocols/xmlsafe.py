"""Untrusted XML from the network, parsed one way by every codec that reads it.

AnyConnect's auth replies, WS-Management answers and AD FS federation metadata all come
from servers we do not control. :func:`parse_untrusted_xml` refuses a document over a size
cap unread, parses with :mod:`defusedxml` with DTDs, entity declarations and external
references forbidden (no entity-expansion bomb, no XXE), and turns every failure — expat's
errors, odd encodings (ValueError, LookupError), nesting deep enough to exhaust the stack —
into the calling codec's own :class:`~accessready.checks.protocols.ProtocolError` subclass,
tagged with a ``kind``:

``too_big``   over the cap (nothing was parsed)
``dtd``       a document type declaration, entity or external reference (refused)
``xml``       not bytes, empty, not well-formed, or not readable as XML
"""

from __future__ import annotations

from xml.etree.ElementTree import Element  # type only: parsing goes through defusedxml

import defusedxml
from defusedxml import ElementTree as SafeET

from . import ProtocolError

__all__ = ["dtd_kind", "parse_untrusted_xml", "text_of"]


def dtd_kind(data: bytes) -> str:
    """Describe a refused DTD for a report: which attack it looks like."""
    head = data[:65536].upper()
    if b"<!ENTITY" in head and (b"SYSTEM" in head or b"PUBLIC" in head):
        return "an external entity (XXE) declaration"
    if b"<!ENTITY" in head:
        return "entity declarations (an entity-expansion bomb)"
    return "a document type declaration"


def parse_untrusted_xml(data: bytes, max_bytes: int,
                        error_cls: type[ProtocolError]) -> Element:
    """The root element of ``data``; raises only ``error_cls`` (see the module docstring).

    ``max_bytes`` is checked before any parsing, so an oversized document costs nothing.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise error_cls.with_kind("xml", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise error_cls.with_kind("too_big", f"XML document of {len(data)} bytes exceeds "
                                  f"{max_bytes}")
    if not data.strip():
        raise error_cls.with_kind("xml", "the document is empty")
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        raise error_cls.with_kind("dtd", f"refused: the document carries {dtd_kind(data)}; "
                                  "no DTD is accepted") from None
    except defusedxml.DefusedXmlException as exc:  # entities, external references
        raise error_cls.with_kind("dtd", f"refused: {type(exc).__name__}") from None
    except SafeET.ParseError as exc:
        raise error_cls.with_kind("xml", f"not well-formed XML: {exc}") from None
    except Exception as exc:  # expat reports odd encodings, deep nesting etc. otherwise
        raise error_cls.with_kind("xml", f"not readable as XML: {type(exc).__name__}: "
                                  f"{str(exc)[:200]}") from None


def text_of(element: Element | None) -> str | None:
    """All text inside ``element``, stripped; None for no element or no text."""
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None
