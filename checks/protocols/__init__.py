"""Pure protocol codecs: bytes in, bytes or typed values out, no I/O.

Every parser raises only its own subclass of :class:`ProtocolError` on bad input, so the
checks can turn any garbage a server sends into a clear verdict, and property tests can
prove that no input escapes as another exception.
"""


class ProtocolError(ValueError):
    """Base of every codec's parse error: the bytes are not what the protocol allows."""
