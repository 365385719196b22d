"""Pure protocol codecs: bytes in, bytes or typed values out, no I/O.

Every parser raises only its own subclass of :class:`ProtocolError` on bad input, so the
checks can turn any garbage a server sends into a clear verdict, and property tests can
prove that no input escapes as another exception.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base of every codec's parse error: the bytes are not what the protocol allows.

    ``kind`` is a short machine word for why (``too_big``, ``dtd``, ``xml``, …) where a
    codec distinguishes; ``malformed`` otherwise.
    """

    kind: str = "malformed"

    @classmethod
    def with_kind(cls, kind: str, message: str) -> ProtocolError:
        """An error of this class saying ``message``, tagged ``kind``.

        Shared helpers (:mod:`.xmlsafe`) raise through this, so each codec keeps raising
        its own class; a subclass whose constructor takes the kind overrides it.
        """
        error = cls(message)
        error.kind = kind
        return error
