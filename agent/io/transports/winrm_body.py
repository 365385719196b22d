"""Bounded HTTP answers for WinRM: every body pywinrm reads — the authentication
handshake's too — is cut at a byte cap and at the command's deadline, so a gzip bomb, an
endless chunked body or one dripping a byte at a time is refused as ``too_big`` or
``timeout`` before it is held in memory. Used by :mod:`accessready.agent.io.transports.winrm`.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from typing import Any

from accessready.agent.io.transports.base import TransportError

MAX_BODY = 2 * 1024 * 1024
"""Most bytes of one HTTP answer, both as received and after decompression. pywinrm asks
for envelopes of at most 150 KB (MaxEnvelopeSize), so a WS-Management answer is far
smaller; a larger one (a gzip bomb, an endless chunked body) is refused as ``too_big``
before it is held in memory."""


class _BodyLimit:
    """What the capped adapter enforces: the byte cap, and the command's deadline (moved
    by :meth:`WinrmTransport._set_timeouts` before every request)."""

    def __init__(self, max_bytes: int = MAX_BODY) -> None:
        self.max_bytes = max_bytes
        self.deadline = math.inf

    def check(self, received: int, decoded: int, url: str) -> None:
        """Raise TransportError once either count passes the cap or the deadline passed."""
        if max(received, decoded) > self.max_bytes:
            raise TransportError("too_big", f"{url} sent an answer larger than "
                                 f"{self.max_bytes // 1024} KiB; a WS-Management answer is "
                                 "far smaller", {"max_bytes": self.max_bytes,
                                                 "received_bytes": received,
                                                 "decompressed_bytes": decoded})
        if time.monotonic() > self.deadline:
            raise TransportError("timeout", f"{url} was still sending its answer at the "
                                 "deadline")


class _CappedBody:
    """Reads a urllib3 response's body through :meth:`_BodyLimit.check` (requests reads
    ``.content`` through ``stream``, which reads with ``read``; auth handlers call ``read``).

    :meth:`install` puts :meth:`read` and :meth:`stream` on the response object itself
    rather than wrapping it: requests_ntlm takes the server certificate for channel binding
    (Extended Protection) from a urllib3 ``HTTPResponse`` only, and a wrapper silently
    dropped the binding from every NTLM login over HTTPS.
    """

    def __init__(self, raw: Any, limit: _BodyLimit, url: str) -> None:
        self._raw, self._limit, self._url = raw, limit, url
        self._read, self._stream = raw.read, raw.stream  # the response's own, bound
        self._decoded = 0
        self._expired = False
        self._streaming = False  # stream() counts what it yields; its own reads do not

    def install(self) -> None:
        """Route the response's own ``read`` and ``stream`` through the cap."""
        self._raw.read = self.read
        self._raw.stream = self.stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def _count(self, size: int) -> None:
        self._decoded += size
        try:
            self._limit.check(self._raw.tell(), self._decoded, self._url)
        except TransportError:
            with contextlib.suppress(Exception):
                self._raw.close()  # the rest is never read; the connection is not reused
            raise

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Any:
        """The body in chunks, stopping at the limit and at the deadline."""
        watchdog = self._watchdog()
        try:
            self._count(0)
            # Counted here, not in read(): a chunked body streams without calling read.
            self._streaming = True
            for chunk in self._stream(amt, decode_content=decode_content):
                self._count(len(chunk))
                yield chunk
        except Exception:
            if self._expired:
                raise TransportError("timeout", f"{self._url} was still sending its answer "
                                     "at the deadline") from None
            raise
        finally:
            self._streaming = False
            if watchdog is not None:
                watchdog.cancel()

    def _watchdog(self) -> threading.Timer | None:
        """A timer that shuts the socket at the deadline: a body dripping a byte at a time
        keeps every single read within the socket timeout, and one read waits for many."""
        left = self._limit.deadline - time.monotonic()
        sock = getattr(getattr(self._raw, "connection", None), "sock", None)
        if sock is None or not math.isfinite(left):
            return None

        def expire() -> None:
            self._expired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, left), expire)
        timer.daemon = True
        timer.start()
        return timer

    def read(self, amt: int | None = None, decode_content: bool | None = None,
             **kwargs: Any) -> bytes:
        """At most the cap (plus one byte, to notice more) when ``amt`` is not given."""
        data = self._read(self._limit.max_bytes + 1 if amt is None else amt,
                          decode_content=decode_content, **kwargs)
        if not self._streaming:
            self._count(len(data))
        return bytes(data)


def _capped_adapter(limit: _BodyLimit) -> Any:
    """A requests adapter whose responses are :class:`_CappedBody` (no retries, as
    requests' default)."""
    from requests.adapters import HTTPAdapter

    class CappedAdapter(HTTPAdapter):
        def build_response(self, req: Any, resp: Any) -> Any:
            response = super().build_response(req, resp)
            announced = resp.headers.get("Content-Length", "")
            if announced.isdigit() and len(announced) < 20:
                try:
                    limit.check(int(announced), 0, str(req.url))
                except TransportError:
                    resp.close()
                    raise
            _CappedBody(resp, limit, str(req.url)).install()
            return response

    return CappedAdapter()


def bound_bodies(protocol: Any) -> _BodyLimit:
    """Cap every HTTP answer ``protocol`` reads, including the authentication handshake's.

    pywinrm creates its requests session on the first request, and with NTLM over HTTP it
    sends that first request (the encryption set-up) inside the creation, so the adapter is
    mounted in ``setup_encryption`` as well as after ``build_session``; once per session,
    since mounting anew would drop the authenticated connection.
    """
    transport = protocol.transport
    limit = _BodyLimit()
    build_session, setup_encryption = transport.build_session, transport.setup_encryption

    def mount(session: Any) -> Any:
        if not getattr(session, "accessready_capped", False):
            adapter = _capped_adapter(limit)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.accessready_capped = True
        return session

    transport.setup_encryption = lambda session: setup_encryption(mount(session))
    transport.build_session = lambda: mount(build_session())
    transport.accessready_body_limit = limit
    return limit
