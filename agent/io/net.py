"""Bounded network I/O for probes: TCP and UDP with hard deadlines (TLS and HTTP build on it).

Every probe takes a ``timeout`` (the check passes ``ctx.timeout(cap)``), reads at most
``max_bytes`` and returns one :class:`~accessready.agent.core.outcome.ProbeOutcome`: what
was sent, what came back, the timings and — when it did not complete — one *kind* from
the one failure table (:mod:`accessready.agent.core.failures`), which says what it means
and the status it earns:

* about the target: ``refused``, ``timeout`` (no answer to the connection attempt, or to
  a UDP datagram), ``silent`` (the TCP connection was accepted, but no answer came in
  time), ``unreachable``, ``dns`` (the name does not exist or has no address), ``reset``,
  ``closed``, ``protocol``, ``tls``, ``too_big``;
* about this machine: ``resolver`` (the DNS resolver did not answer), ``deadline``
  (no time left to try), ``error`` (a local error, e.g. an unreadable ``ca_file``).

The probes here: :func:`tcp_reach` (connect only), :func:`tcp_exchange` (one request, one
answer), :func:`tcp_dialogue` (a protocol's own turns) and :func:`udp_exchange`; TLS in
:mod:`accessready.agent.io.tls` (:func:`~accessready.agent.io.tls.tls_handshake`), HTTP
in :mod:`accessready.agent.io.http`. The building blocks under them that hand back a
socket (:func:`connect`, :func:`~accessready.agent.io.tls.tls_connect`) raise
:class:`ProbeFailure`; checks use the probes, which never raise for the target.

Host names are resolved as the engineer's machine resolves them — the system resolver
through :func:`accessready.agent.io.dns.resolve` (hosts file, then getaddrinfo on a bounded
pool, so split DNS by the Windows NRPT applies) — within the same timeout; the evidence
says which resolver answered (``resolved``). Protocol bytes are built and parsed by the pure
codecs in :mod:`accessready.checks.protocols`; this module only moves them.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.io.dns import Resolution, ResolveError, resolve

MAX_REPLY = 1 << 20


class ProbeFailure(Exception):
    """Raised by the building blocks that hand back a socket (:func:`connect`,
    :func:`tls_connect`, :func:`verifying_context`); the probes turn it into a
    :class:`ProbeOutcome`. ``kind`` is one of the failure table's."""

    def __init__(self, kind: str, message: str, elapsed_ms: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.elapsed_ms = elapsed_ms

    def outcome(self, target: str, **fields: Any) -> ProbeOutcome:
        """This failure as a probe's outcome (``fields``: sent, received, facts, …)."""
        fields.setdefault("total_ms", self.elapsed_ms)
        return ProbeOutcome(target, kind=self.kind, message=str(self), **fields)


def ms_since(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.monotonic()`` reading)."""
    return (time.monotonic() - started) * 1000


def endpoint_text(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 literal."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def as_failure(exc: BaseException, started: float, host: str, port: int, *,
               connected: bool = False) -> ProbeFailure:
    """The :class:`ProbeFailure` for an exception from a socket call.

    ``connected``: the TCP connection was already up, so running out of time means the
    peer accepted and then stayed silent (``silent``), not that nothing answered the
    connection attempt (``timeout``) — a firewall that drops packets looks different
    from a service that hangs, and the report must not confuse them.
    """
    if isinstance(exc, ProbeFailure):
        return exc
    elapsed = ms_since(started)
    where = endpoint_text(host, port)
    if isinstance(exc, TimeoutError | socket.timeout):
        if connected:
            return ProbeFailure("silent", f"{where} accepted the connection but sent no "
                                "answer within the deadline", elapsed)
        return ProbeFailure("timeout", f"no answer from {where} to the connection attempt "
                            "within the deadline", elapsed)
    if isinstance(exc, ConnectionRefusedError):
        return ProbeFailure("refused", f"{where} refused the connection (closed port)", elapsed)
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return ProbeFailure("reset", f"{where} reset the connection", elapsed)
    if isinstance(exc, ssl.SSLError):
        return ProbeFailure("tls", f"TLS with {where} failed: {exc.reason or exc}", elapsed)
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return ProbeFailure("unreachable", f"{where} is unreachable ({exc.strerror})", elapsed)
    if isinstance(exc, OSError):
        return ProbeFailure("error", f"{where}: {exc.strerror or exc}", elapsed)
    return ProbeFailure("error", f"{where}: {type(exc).__name__}: {exc}", elapsed)


def resolve_targets(host: str, port: int, timeout: float, socktype: int = socket.SOCK_STREAM
                    ) -> tuple[Resolution, list[tuple[int, Any]]]:
    """How ``host`` was resolved, and ``(family, sockaddr)`` for each of its addresses.

    IP literals are used as they are; names go through the system resolver
    (:func:`~accessready.agent.io.dns.resolve`: hosts file, then getaddrinfo bounded by
    ``timeout``). Raises :class:`ProbeFailure`: ``dns`` when the name does not exist or
    has no address, ``resolver`` when the resolver did not answer in time (this machine's
    problem, not the target's).
    """
    started = time.monotonic()
    try:
        resolution = resolve(host, timeout)
    except ResolveError as exc:
        raise ProbeFailure("resolver" if exc.local else "dns", str(exc),
                           ms_since(started)) from None
    return resolution, sockaddrs(resolution, port, socktype)


def sockaddrs(resolution: Resolution, port: int, socktype: int = socket.SOCK_STREAM
              ) -> list[tuple[int, Any]]:
    """``(family, sockaddr)`` for each of ``resolution``'s addresses, in its order."""
    out: list[tuple[int, Any]] = []
    for address in resolution.addresses:
        # AI_NUMERICHOST: turning a literal into a sockaddr never touches the network.
        for family, _, _, _, sockaddr in socket.getaddrinfo(
                address, port, type=socktype, flags=socket.AI_NUMERICHOST):
            out.append((family, sockaddr))
    return out


MIN_CONNECT_WINDOW_S = 0.5
"""A connect that times out in less time than this (or half the timeout) was not given a
fair chance: ``deadline`` (ours), never ``timeout`` (the target's)."""


def tcp_connect(host: str, port: int, timeout: float) -> tuple[socket.socket, float]:
    """An open TCP connection and the connect time in ms; raises :class:`ProbeFailure`.

    Name resolution and every connection attempt share the one ``timeout``.
    """
    sock, connect_ms, _ = connect(host, port, timeout)
    return sock, connect_ms


STALE_AFTER_S = 10.0
"""A connection opened ahead and not taken within this long is closed and the check
connects afresh: a server may drop a client that says nothing for long (nginx waits
60 s for a request, Apache's mod_reqtimeout 20 s), and that would be our delay, not its
fault. One the peer has already closed is made again too, whatever its age."""


@dataclass(eq=False)
class Opened:
    """A connection opened ahead of its check (by the runner's
    :class:`~accessready.agent.io.connector.Connector`): the socket, or why there is none.

    ``connect_ms`` and ``failure`` are what :func:`connect` would have said for the same
    attempt; ``ended`` (monotonic) is when it was decided.
    """

    host: str
    port: int
    sock: socket.socket | None
    failure: ProbeFailure | None
    connect_ms: float
    resolution: Resolution | None
    ended: float
    released: Callable[[], None] | None = None  # the connector's slot, given back once

    def take(self) -> socket.socket | None:
        """The socket, handed over once (its slot given back)."""
        sock, self.sock = self.sock, None
        self._release()
        return sock

    def fresh(self) -> bool:
        """Whether the socket may be handed over: opened within :data:`STALE_AFTER_S`,
        and the peer has not closed it."""
        return time.monotonic() - self.ended <= STALE_AFTER_S and self.still_open()

    def still_open(self) -> bool:
        """Whether the socket is there and the peer has not closed or reset it meanwhile
        (a server's limit on connections that have not spoken yet, sshd's MaxStartups,
        or an idle timeout): a closed one must be made again, not blamed on the target."""
        sock = self.sock
        if sock is None:
            return False
        try:
            sock.setblocking(False)
            try:
                return bool(sock.recv(1, socket.MSG_PEEK))  # b"": the peer closed
            finally:
                sock.setblocking(True)
        except (BlockingIOError, InterruptedError):
            return True  # nothing to read yet, and still connected
        except OSError:
            return False

    def discard(self) -> None:
        """Close the socket, if nobody took it (idempotent)."""
        sock = self.take()
        if sock is not None:
            sock.close()

    def _release(self) -> None:
        released, self.released = self.released, None
        if released is not None:
            released()


# The connections opened ahead for the check running on this thread (the runner sets it
# around ``check.run``); :func:`connect` takes one instead of connecting, once.
_OPENED: ContextVar[dict[tuple[str, int], Opened] | None] = ContextVar("opened", default=None)


@contextmanager
def opened_ahead(opened: Sequence[Opened]) -> Iterator[None]:
    """Let :func:`connect` hand out each of ``opened`` (for its host and port, once)
    inside the block; a socket nobody took is closed at the end."""
    if not opened:
        yield
        return
    token = _OPENED.set({(o.host, o.port): o for o in opened})
    try:
        yield
    finally:
        _OPENED.reset(token)
        for one in opened:
            one.discard()


def _take_opened(host: str, port: int) -> Opened | None:
    waiting = _OPENED.get()
    return waiting.pop((host, port), None) if waiting else None


def connect_failure(last: BaseException | None, window: float, timeout: float,
                    started: float, host: str, port: int) -> ProbeFailure:
    """What a connection that never came up means: ``last`` is the last attempt's error,
    ``window`` the time that attempt had (of ``timeout``)."""
    fair = min(MIN_CONNECT_WINDOW_S, timeout / 2)
    if last is None or (isinstance(last, TimeoutError | socket.timeout) and window < fair):
        # Silence within a window the target never fairly had (resolution, or our own
        # slowness, took the time) says nothing about it: could not decide.
        return ProbeFailure("deadline", f"name resolution of {host} left {window:.2f} s to "
                            "connect", ms_since(started))
    return as_failure(last, started, host, port)


def connect(host: str, port: int, timeout: float
            ) -> tuple[socket.socket, float, Resolution]:
    """:func:`tcp_connect`, also saying how ``host`` was resolved."""
    ready = _take_opened(host, port)
    if ready is not None:
        if ready.failure is not None:
            raise ready.failure
        # asked now, not when the check started: a farm's check reaches its last node's
        # connection only after the others' exchanges
        sock = ready.take() if ready.fresh() else None
        if sock is not None:
            sock.settimeout(max(timeout, 0.01))
            how = ready.resolution or Resolution(host, (), "")  # the connector always has one
            return sock, ready.connect_ms, how
        ready.discard()  # gone stale, or the peer closed it: connect afresh
    started = time.monotonic()
    deadline = started + timeout
    resolution, targets = resolve_targets(host, port, timeout)
    last: BaseException | None = None
    window = 0.0
    for family, sockaddr in targets:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        window = left
        try:
            sock.settimeout(left)
            sock.connect(sockaddr)
        except Exception as exc:
            sock.close()
            last = exc
            continue
        return sock, ms_since(started), resolution
    raise connect_failure(last, window, timeout, started, host, port)


LAST_LOOKS = 4
"""Reads still tried (1 ms each) once an exchange's deadline has passed."""


class IoClock:
    """Timeouts for one exchange's reads, each from what is left of ``deadline`` at that
    moment. Once it has passed, a few last looks still read what had arrived: a thread our
    own busy process kept waiting must not make a server that answered in time look
    silent. Bounded: :data:`LAST_LOOKS` of them, then :class:`TimeoutError` (so a server
    trickling bytes past the deadline cannot keep us reading)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._looks = LAST_LOOKS

    def timeout(self) -> float:
        """The timeout for the next read; raises :class:`TimeoutError` when none is left."""
        left = self.deadline - time.monotonic()
        if left > 0:
            return left
        if self._looks <= 0:
            raise TimeoutError
        self._looks -= 1
        return 0.001


def recv_until(sock: socket.socket, complete: Callable[[bytes], bool], deadline: float,
               max_bytes: int = MAX_REPLY) -> bytes:
    """Read until ``complete(data)``, the peer closes, ``max_bytes`` or the deadline."""
    data = b""
    clock = IoClock(deadline)
    while not complete(data):
        sock.settimeout(clock.timeout())
        chunk = sock.recv(min(65536, max_bytes + 1 - len(data)))
        if not chunk:
            break
        data += chunk
        if len(data) > max_bytes:
            raise ProbeFailure("too_big", f"the answer exceeded {max_bytes} bytes")
    return data


def resolve_json(resolution: Resolution | None) -> dict[str, Any]:
    """``{"resolved": ...}`` evidence for a name (nothing for an IP literal)."""
    if resolution is None or resolution.resolver == "IP literal":
        return {}
    return {"resolved": resolution.to_json()}


def resolved_facts(resolution: Resolution | None) -> dict[str, Any]:
    """``{"resolved": resolution}`` as a probe's fact (nothing for an IP literal)."""
    if resolution is None or resolution.resolver == "IP literal":
        return {}
    return {"resolved": resolution}


def tcp_reach(host: str, port: int, timeout: float) -> ProbeOutcome:
    """Open a TCP connection and close it again: does ``host:port`` accept one?"""
    return tcp_dialogue(host, port, timeout, lambda conversation: None)


class Conversation:
    """A connected TCP socket for a probe's own turns (:func:`tcp_dialogue`): it keeps
    both directions for the evidence, and what the protocol showed in ``facts``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self.sent = b""
        self.received = b""
        self.facts: dict[str, Any] = {}
        self.answer: Any = None  # the decoded answer, for the outcome's ``answer``

    def send(self, data: bytes) -> None:
        """Send all of ``data`` before the deadline."""
        self._sock.settimeout(max(0.01, self._deadline - time.monotonic()))
        self._sock.sendall(data)
        self.sent += data

    def recv_until(self, complete: Callable[[bytes], bool],
                   max_bytes: int = MAX_REPLY) -> bytes:
        """The next answer: read until ``complete``, close, ``max_bytes`` or the deadline."""
        data = recv_until(self._sock, complete, self._deadline, max_bytes)
        self.received += data
        return data

    def tls_version(self, context: ssl.SSLContext, server_name: str | None) -> str:
        """A TLS handshake with ``context`` on this connection: the negotiated version."""
        self._sock.settimeout(max(0.01, self._deadline - time.monotonic()))
        with context.wrap_socket(self._sock, server_hostname=server_name) as tls_sock:
            return tls_sock.version() or ""

    def fail(self, kind: str, message: str) -> NoReturn:
        """End the dialogue: the peer's answer is a failure of ``kind`` (``protocol``,
        ``closed``, …)."""
        raise ProbeFailure(kind, message)

    def send_quietly(self, data: bytes, timeout: float = 0.2) -> bool:
        """Best effort (a polite goodbye): ``True`` when ``data`` went out."""
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except OSError:
            return False
        return True  # not in ``sent``: the evidence is the exchange, not the goodbye


def tcp_dialogue(host: str, port: int, timeout: float,
                 talk: Callable[[Conversation], None]) -> ProbeOutcome:
    """Connect and let ``talk`` hold the protocol's turns, all within ``timeout``.

    ``talk`` sends and reads through the :class:`Conversation`, notes what it learned in
    ``conversation.facts`` (the decoded answer in ``conversation.answer``) and ends a bad
    answer with ``conversation.fail(kind, …)``; every socket failure becomes the
    outcome's kind (``silent`` once connected).
    """
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    try:
        sock, connect_ms, resolution = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where)
    conversation = Conversation(sock, deadline)
    kind, message = None, ""
    with sock:
        try:
            talk(conversation)
        except Exception as exc:  # connected: running out of time here means "silent"
            failure = as_failure(exc, started, host, port, connected=True)
            kind, message = failure.kind, str(failure)
    return ProbeOutcome(where, conversation.sent, conversation.received, connect_ms,
                        ms_since(started), kind, message,
                        {**resolved_facts(resolution), **conversation.facts},
                        conversation.answer if kind is None else None)


def tcp_exchange(host: str, port: int, payload: bytes, complete: Callable[[bytes], bool],
                 timeout: float, max_bytes: int = MAX_REPLY) -> ProbeOutcome:
    """Connect, send ``payload``, read until ``complete``; all within ``timeout``."""

    def talk(conversation: Conversation) -> None:
        conversation.send(payload)
        conversation.recv_until(complete, max_bytes)

    return tcp_dialogue(host, port, timeout, talk)


def udp_exchange(host: str, port: int, payload: bytes, accept: Callable[[bytes], bool],
                 timeout: float, attempts: int = 3) -> ProbeOutcome:
    """Send a datagram (retrying, as IKE initiators do) until ``accept`` takes a reply.

    ``received`` is the accepted reply; ``facts`` say the round-trip time of the answered
    attempt (``rtt_ms``) and its number (``attempt``). An ICMP port-unreachable shows up
    as ``refused``; silence as ``timeout`` (UDP has no connection, so it cannot tell a
    dropped datagram from an ignored one).
    """
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    try:
        resolution, targets = resolve_targets(host, port, timeout, socket.SOCK_DGRAM)
    except ProbeFailure as failure:
        return failure.outcome(where, sent=payload)
    family, address = targets[0]
    facts = resolved_facts(resolution)
    slice_s = max(deadline - time.monotonic(), 0.0) / max(attempts, 1)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            for attempt in range(1, attempts + 1):
                sent_at = time.monotonic()
                sock.send(payload)
                attempt_end = min(deadline, sent_at + slice_s)
                while True:
                    left = attempt_end - time.monotonic()
                    if left <= 0:
                        break
                    sock.settimeout(left)
                    try:
                        reply = sock.recv(65535)
                    except TimeoutError:
                        break
                    if accept(reply):
                        return ProbeOutcome(where, payload, reply, None, ms_since(started),
                                            facts={**facts, "rtt_ms": round(ms_since(sent_at), 1),
                                                   "attempt": attempt})
        except Exception as exc:
            return as_failure(exc, started, host, port).outcome(where, sent=payload,
                                                                facts=facts)
    return ProbeOutcome(where, payload, total_ms=ms_since(started), kind="timeout",
                        message=f"no answer from {where} after {attempts} attempts in "
                        f"{timeout:.1f} s", facts=facts)
