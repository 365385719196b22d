"""A tiny, bounded HTTP/1.1 message codec for probes that talk over raw (TLS) sockets.

Why not ``http.client``: the probes must bound every read (time *and* size) and keep the
exact bytes as evidence. This module only turns requests into bytes and bytes into a
response; the caller owns the socket, the deadline and the retries.

What the parser accepts (RFC 9112, the parts a client needs):

* a status line ``HTTP/1.x NNN reason``; interim ``1xx`` responses are skipped;
* header fields ``name: value`` (CRLF or bare LF line ends); obsolete line folding,
  malformed names and header blocks over 64 KiB or 100 fields are refused;
* a body framed by ``Transfer-Encoding: chunked`` (with trailers), by ``Content-Length``,
  or read until the peer closes (``feed_eof()``); no body for ``HEAD``, ``1xx``, ``204``,
  ``304`` and a successful ``CONNECT``;
* every body is capped by ``max_body`` (default 1 MiB).

Every problem in the bytes from the peer raises :class:`HttpParseError` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import ProtocolError

__all__ = [
    "DEFAULT_MAX_BODY",
    "MAX_HEADERS",
    "MAX_HEADER_BLOCK",
    "HttpParseError",
    "HttpResponse",
    "ResponseParser",
    "build_request",
    "parse_response",
]

MAX_HEADER_BLOCK = 64 * 1024
"""Largest status line plus header block (and, separately, trailer block) accepted."""

MAX_HEADERS = 100
"""Most header fields (and, separately, trailer fields) accepted."""

DEFAULT_MAX_BODY = 1024 * 1024
"""Default cap on a response body, after de-chunking."""

# A chunk-size line is hex digits plus optional extensions; 4 KiB is far beyond real use.
_MAX_CHUNK_LINE = 4096
# Tiny chunks cost CPU per chunk, so their number is bounded as well as the body size.
_MAX_CHUNKS = 100_000
# Skipping 1xx responses is bounded so a peer cannot keep the parser busy forever.
_MAX_INTERIM = 10

_TOKEN_RE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN_STR_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS_RE = re.compile(rb"HTTP/1\.([0-9]) ([0-9]{3})(?: (.*))?")
_BLOCK_END_RE = re.compile(rb"\n\r?\n")
_HEX_RE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS_RE = re.compile(r"[0-9]{1,19}")
# Field values may hold visible ASCII, SP, HTAB and obs-text; never CR, LF or NUL.
_BAD_VALUE_BYTES_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_REQUEST_CHARS_RE = re.compile(r"[\x00-\x20\x7f]")


class HttpParseError(ProtocolError):
    """The bytes are not an HTTP/1.x response this parser accepts (or exceed a limit)."""


@dataclass(frozen=True)
class HttpResponse:
    """A complete HTTP response.

    ``headers`` keeps every field in arrival order with its original spelling; use
    :meth:`header` and :meth:`headers_all` for case-insensitive look-ups. ``body`` is
    de-chunked; ``trailers`` holds the fields after a chunked body (usually empty).
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    version: str = "HTTP/1.1"
    trailers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def headers_all(self, name: str) -> list[str]:
        """Return every value of header ``name`` (any case), in arrival order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def build_request(
    method: str,
    target: str,
    host: str,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> bytes:
    """Serialise one HTTP/1.1 request.

    ``host`` becomes the ``Host`` field (include ``:port`` when it is not the scheme's
    default). A ``Host`` entry in ``headers`` is allowed only if it repeats ``host``
    (codec helpers return complete header lists, so the evidence shows what was sent).
    ``Content-Length`` is always computed here for a non-empty body or a POST/PUT/PATCH;
    callers must not pass ``Content-Length`` or ``Transfer-Encoding`` themselves.

    Raises ValueError for anything that could split or smuggle a request: CR, LF, NUL or
    other control characters in the target, host or a header value, a method or header
    name that is not an RFC 9110 token, or a non-ASCII target/host (IDNA-encode first).
    """
    if not isinstance(body, bytes | bytearray):
        raise TypeError("body must be bytes")
    if not _TOKEN_STR_RE.fullmatch(method):
        raise ValueError(f"invalid HTTP method {method!r}")
    _check_request_text("target", target)
    _check_request_text("host", host)
    if not (target.startswith("/") or target == "*" or method.upper() == "CONNECT"):
        raise ValueError("request target must start with '/'")

    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers:
        if not isinstance(name, str) or not _TOKEN_STR_RE.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if not isinstance(value, str):
            raise TypeError(f"header {name} value must be a string")
        try:
            raw_value = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {name} value is not Latin-1") from None
        if _BAD_VALUE_BYTES_RE.search(raw_value):
            raise ValueError(f"header {name} value contains control characters")
        lowered = name.lower()
        if lowered == "host":
            if value.strip().lower() != host.lower():
                raise ValueError("a Host header different from host was given")
            continue
        if lowered in ("content-length", "transfer-encoding"):
            raise ValueError(f"{name} is computed by build_request; do not pass it")
        lines.append(f"{name}: {value.strip()}")
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1") + bytes(body)


def _check_request_text(what: str, text: str) -> None:
    if not isinstance(text, str) or not text:
        raise ValueError(f"{what} must be a non-empty string")
    if _BAD_REQUEST_CHARS_RE.search(text):
        raise ValueError(f"{what} contains whitespace or control characters")
    if not text.isascii():
        raise ValueError(f"{what} must be ASCII (percent- or IDNA-encode it)")


# Parser states.
_ST_HEAD = "head"
_ST_LENGTH = "length"
_ST_CHUNK_SIZE = "chunk-size"
_ST_CHUNK_DATA = "chunk-data"
_ST_CHUNK_CRLF = "chunk-crlf"
_ST_TRAILERS = "trailers"
_ST_UNTIL_CLOSE = "until-close"
_ST_DONE = "done"


class ResponseParser:
    """Incremental HTTP/1.x response parser with hard limits.

    Feed it whatever the socket returns; check :attr:`done`; then read :attr:`response`.
    For a body delimited by connection close, call :meth:`feed_eof` when the peer closes.
    Bytes after the end of the message (pipelining, or tunnel data after ``CONNECT``) are
    kept in :attr:`remaining`, never parsed.

    ``request_method`` matters for framing: a ``HEAD`` response has no body, and a 2xx
    answer to ``CONNECT`` ends after its header block.
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY, request_method: str = "GET") -> None:
        if max_body < 0:
            raise ValueError("max_body must be >= 0")
        self._max_body = max_body
        self._method = request_method.upper()
        self._buf = bytearray()
        self._pos = 0
        self._scan = 0
        self._state = _ST_HEAD
        self._interim = 0
        self._status = 0
        self._reason = ""
        self._version = ""
        self._headers: tuple[tuple[str, str], ...] = ()
        self._trailers: tuple[tuple[str, str], ...] = ()
        self._body = bytearray()
        self._remaining_len = 0
        self._chunk_left = 0
        self._chunks = 0
        self._eof = False
        self._failed: HttpParseError | None = None

    # -- public state -------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once a complete response has been parsed."""
        return self._state == _ST_DONE

    @property
    def headers_done(self) -> bool:
        """True once the final status line and header block have been parsed."""
        return self._state != _ST_HEAD

    @property
    def status(self) -> int:
        """The final status code (0 until the header block is complete)."""
        return self._status

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The header fields parsed so far (empty until the header block is complete)."""
        return self._headers

    @property
    def persistent(self) -> bool:
        """Whether the connection may carry another request (RFC 9112 §9.3): a complete
        HTTP/1.1 response whose length its framing gave (not the peer's close), with no
        ``Connection: close``, nothing after it, and no switch to another protocol."""
        if self._state != _ST_DONE or self._eof or self._version != "HTTP/1.1":
            return False
        if self._status == 101 or (self._method == "CONNECT" and 200 <= self._status < 300):
            return False  # the connection carries another protocol from here on
        if len(self._buf) > self._pos:
            return False
        tokens = {t.strip().lower() for key, value in self._headers
                  if key.lower() == "connection" for t in value.split(",")}
        return "close" not in tokens

    @property
    def remaining(self) -> bytes:
        """Bytes received after the end of the message."""
        if self._state != _ST_DONE:
            return b""
        return bytes(self._buf[self._pos :])

    @property
    def response(self) -> HttpResponse:
        """The parsed response; raises HttpParseError if it is not complete yet."""
        if self._state != _ST_DONE:
            raise HttpParseError("response is incomplete")
        return HttpResponse(
            status=self._status,
            reason=self._reason,
            headers=self._headers,
            body=bytes(self._body),
            version=self._version,
            trailers=self._trailers,
        )

    # -- feeding -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer and parse as far as possible."""
        if self._failed is not None:
            raise self._failed
        if self._eof:
            raise HttpParseError("data fed after end of stream")
        if not data:
            return
        self._buf += data
        try:
            self._run()
        except HttpParseError as exc:
            self._failed = exc
            raise

    def feed_eof(self) -> None:
        """Tell the parser the peer closed the connection.

        Completes a read-until-close body; raises HttpParseError if the message is
        truncated (no complete header block, short Content-Length or chunked body).
        """
        if self._failed is not None:
            raise self._failed
        self._eof = True
        if self._state == _ST_UNTIL_CLOSE:
            self._state = _ST_DONE
            return
        if self._state != _ST_DONE:
            self._failed = HttpParseError(f"connection closed before the end ({self._state})")
            raise self._failed

    # -- the state machine ---------------------------------------------------------------

    def _run(self) -> None:
        progressed = True
        while progressed and self._state != _ST_DONE:
            progressed = self._step()
        self._compact()

    def _compact(self) -> None:
        # Drop consumed bytes now and then so long bodies do not cost quadratic time.
        if self._state != _ST_DONE and self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0

    def _step(self) -> bool:
        state = self._state
        if state == _ST_HEAD:
            return self._parse_head()
        if state == _ST_LENGTH:
            return self._take_body(self._remaining_len, _ST_DONE)
        if state == _ST_CHUNK_SIZE:
            return self._parse_chunk_size()
        if state == _ST_CHUNK_DATA:
            return self._take_body(self._chunk_left, _ST_CHUNK_CRLF)
        if state == _ST_CHUNK_CRLF:
            return self._parse_chunk_crlf()
        if state == _ST_TRAILERS:
            return self._parse_trailers()
        if state == _ST_UNTIL_CLOSE:
            self._append_body(self._buf[self._pos :])
            self._pos = len(self._buf)
            return False
        raise HttpParseError(f"internal state {state!r}")  # pragma: no cover

    def _read_block(self) -> list[bytes] | None:
        """Return the lines of a header block ending in an empty line, or None if partial."""
        start = self._pos
        buf = self._buf
        if buf.startswith(b"\n", start):
            end = start + 1
        elif buf.startswith(b"\r\n", start):
            end = start + 2
        else:
            # Resume the search where the last feed stopped, so byte-by-byte feeding of a
            # large header block stays linear.
            match = _BLOCK_END_RE.search(buf, max(start, self._scan - 3))
            if match is None:
                self._scan = len(buf)
                if len(buf) - start > MAX_HEADER_BLOCK:
                    raise HttpParseError("header block exceeds 64 KiB")
                return None
            end = match.end()
        if end - start > MAX_HEADER_BLOCK:
            raise HttpParseError("header block exceeds 64 KiB")
        block = bytes(buf[start:end])
        self._pos = self._scan = end
        lines = [line.removesuffix(b"\r") for line in block.split(b"\n")]
        # The block ends with an empty line: drop it and the split's final empty piece.
        lines = lines[:-2] if len(lines) >= 2 else []
        if len(lines) > MAX_HEADERS + 1:
            raise HttpParseError("too many header fields")
        return lines

    def _parse_head(self) -> bool:
        lines = self._read_block()
        if lines is None:
            return False
        if not lines:
            raise HttpParseError("empty status line")
        match = _STATUS_RE.fullmatch(lines[0])
        if not match or _BAD_VALUE_BYTES_RE.search(lines[0]):
            raise HttpParseError(f"bad status line {lines[0][:80]!r}")
        status = int(match.group(2))
        if status < 100:
            raise HttpParseError(f"bad status code {status}")
        headers = _parse_fields(lines[1:])
        if 100 <= status < 200 and status != 101:
            # Interim response (100 Continue, 103 Early Hints): the real one follows.
            self._interim += 1
            if self._interim > _MAX_INTERIM:
                raise HttpParseError("too many interim (1xx) responses")
            return True
        self._version = f"HTTP/1.{match.group(1).decode('ascii')}"
        self._status = status
        self._reason = (match.group(3) or b"").decode("latin-1").strip()
        self._headers = headers
        self._choose_framing()
        return True

    def _choose_framing(self) -> None:
        status = self._status
        if (
            self._method == "HEAD"
            or status in (101, 204, 304)
            or (self._method == "CONNECT" and 200 <= status < 300)
        ):
            self._state = _ST_DONE
            return
        te_values = [v for k, v in self._headers if k.lower() == "transfer-encoding"]
        if te_values:
            # Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
            codings = [c.strip().lower() for v in te_values for c in v.split(",") if c.strip()]
            if any(c not in ("chunked", "identity") for c in codings):
                # gzip etc.: we always ask for identity, so an encoded body is unusable.
                raise HttpParseError(f"unsupported transfer coding {', '.join(te_values)[:80]!r}")
            if "chunked" in codings:
                if codings.count("chunked") > 1 or codings[-1] != "chunked":
                    raise HttpParseError("chunked must be applied once, last")
                self._state = _ST_CHUNK_SIZE
            else:
                self._state = _ST_UNTIL_CLOSE
            return
        cl_values = [v for k, v in self._headers if k.lower() == "content-length"]
        if cl_values:
            parts = {p.strip() for v in cl_values for p in v.split(",")}
            if len(parts) != 1:
                raise HttpParseError("conflicting Content-Length values")
            text = parts.pop()
            if not _DIGITS_RE.fullmatch(text):
                raise HttpParseError(f"bad Content-Length {text[:40]!r}")
            length = int(text)
            if length > self._max_body:
                raise HttpParseError(f"body of {length} bytes exceeds {self._max_body}")
            self._remaining_len = length
            self._state = _ST_LENGTH if length else _ST_DONE
            return
        self._state = _ST_UNTIL_CLOSE

    def _append_body(self, data: bytes | bytearray) -> None:
        if len(self._body) + len(data) > self._max_body:
            raise HttpParseError(f"body exceeds {self._max_body} bytes")
        self._body += data

    def _take_body(self, wanted: int, next_state: str) -> bool:
        available = len(self._buf) - self._pos
        if available <= 0:
            return False
        take = min(wanted, available)
        self._append_body(self._buf[self._pos : self._pos + take])
        self._pos += take
        left = wanted - take
        if self._state == _ST_LENGTH:
            self._remaining_len = left
        else:
            self._chunk_left = left
        if left == 0:
            self._state = next_state
            return True
        return False

    def _parse_chunk_size(self) -> bool:
        end = self._buf.find(b"\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > _MAX_CHUNK_LINE:
                raise HttpParseError("chunk-size line too long")
            return False
        if end - self._pos > _MAX_CHUNK_LINE:
            raise HttpParseError("chunk-size line too long")
        line = bytes(self._buf[self._pos : end]).rstrip(b"\r")
        self._pos = end + 1
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not _HEX_RE.fullmatch(size_text):
            raise HttpParseError(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        self._chunks += 1
        if self._chunks > _MAX_CHUNKS:
            raise HttpParseError(f"more than {_MAX_CHUNKS} chunks")
        if len(self._body) + size > self._max_body:
            raise HttpParseError(f"body exceeds {self._max_body} bytes")
        if size == 0:
            self._state = _ST_TRAILERS
        else:
            self._chunk_left = size
            self._state = _ST_CHUNK_DATA
        return True

    def _parse_chunk_crlf(self) -> bool:
        rest = self._buf[self._pos : self._pos + 2]
        if rest[:1] == b"\n":
            self._pos += 1
        elif len(rest) < 2:
            if rest and rest != b"\r":
                raise HttpParseError("chunk data not followed by CRLF")
            return False
        elif rest == b"\r\n":
            self._pos += 2
        else:
            raise HttpParseError("chunk data not followed by CRLF")
        self._state = _ST_CHUNK_SIZE
        return True

    def _parse_trailers(self) -> bool:
        lines = self._read_block()
        if lines is None:
            return False
        self._trailers = _parse_fields(lines)
        self._state = _ST_DONE
        return True


def _parse_fields(lines: list[bytes]) -> tuple[tuple[str, str], ...]:
    if len(lines) > MAX_HEADERS:
        raise HttpParseError("too many header fields")
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise HttpParseError("obsolete header line folding")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise HttpParseError(f"bad header line {line[:80]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE_BYTES_RE.search(value):
            raise HttpParseError(f"control character in header {name[:40]!r}")
        fields.append((name.decode("ascii"), value.decode("latin-1")))
    return tuple(fields)


def parse_response(
    data: bytes, *, max_body: int = DEFAULT_MAX_BODY, request_method: str = "GET"
) -> HttpResponse:
    """Parse one complete response from ``data`` (the whole stream up to close)."""
    parser = ResponseParser(max_body=max_body, request_method=request_method)
    parser.feed(data)
    if not parser.done:
        parser.feed_eof()
    return parser.response
