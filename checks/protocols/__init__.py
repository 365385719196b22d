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


class ByteReader:
    """Bounds-checked big-endian reads over one buffer, front to back.

    A codec subclasses it with its own :attr:`error` (its ProtocolError subclass), so an
    overrun is that codec's parse error, never an IndexError; :meth:`short` words it.
    """

    error: type[ProtocolError] = ProtocolError

    def __init__(self, data: bytes, what: str) -> None:
        self.data = bytes(data)
        self.offset = 0
        self.what = what

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.offset

    def short(self, count: int) -> ProtocolError:
        """The error for wanting ``count`` bytes when fewer are left."""
        return self.error(f"{self.what}: needs {count} bytes, {self.remaining} left")

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        if count < 0 or count > self.remaining:
            raise self.short(count)
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def u8(self) -> int:
        """One byte."""
        return self.take(1)[0]

    def u16(self) -> int:
        """Two bytes, big-endian."""
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        """Four bytes, big-endian."""
        return int.from_bytes(self.take(4), "big")
