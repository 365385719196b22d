"""Many checks' first connections opened on one thread, before the checks get threads.

A check whose target never answers its SYN waits its whole timeout; on a worker thread that
is a thread, and a ``--concurrency`` slot, held idle for seconds per silent host, and an
audit of thousands of servers with some of them down ends up waiting for its own workers
rather than for the network (issue 13). So the runner asks the :class:`Connector` to open
a check's first connection (the check names it: ``Check.first_contact``) and queues the
check for a worker only once that connection is up or has failed. One selector waits for
every attempt at once.

The check does not notice: :func:`accessready.agent.io.net.connect` hands it the socket,
or raises the failure, as it would have connected itself — the same name resolution (IP
literal, hosts file, ``localhost``, then the bounded system resolver), the addresses in
the same order, the same failure kinds, fairness rule and connect time.

Bounded: at most ``limit`` sockets at once, connecting or waiting to be taken (and so
descriptors: :func:`default_limit`); past it
:meth:`Connector.open` says no and the check connects on its own thread, as before. A
connection whose SYN-ACK came within its window is up however late this thread woke to
see it: a busy machine is our problem, never a finding about the target.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import logging
import os
import selectors
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.io.dns import (
    SYSTEM_RESOLVER,
    Resolution,
    ResolveError,
    no_answer,
    resolve_locally,
    system_lookups,
)
from accessready.agent.io.net import (
    Opened,
    ProbeFailure,
    connect_failure,
    ms_since,
    sockaddrs,
)

log = logging.getLogger("accessready.connector")

PER_DESTINATION = 8
"""Connections held at once to one host and port (as the profile names it). Real targets
are distinct servers; one server named by many checks (or a test lab's single process
playing thousands of servers) must not get a burst of idle connections from us: a full
accept queue leaves SYNs unanswered, and sshd drops connections that have not
authenticated beyond its MaxStartups (default 10:30:100), so a live server would look
down. (A name and an address of one server count apart: the cap is a courtesy, the
runner's liveness check before use is the guard.)"""


def default_limit() -> int:
    """How many connections to hold at once: a quarter of the descriptors this process may
    open (the rest stay for files, the history, DNS and the checks' own connections), at
    most 2,048; on Windows at most 400, since select() there watches at most 512 sockets
    (CPython's FD_SETSIZE)."""
    if sys.platform == "win32":
        return 400
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 256
    if soft == resource.RLIM_INFINITY:
        return 2048
    return max(16, min(2048, soft // 4))

# What a non-blocking connect answers while the handshake runs: EINPROGRESS on POSIX (where
# EAGAIN, equal to EWOULDBLOCK on Linux, means no connect was started: local ports ran
# out); WSAEWOULDBLOCK (10035) on Windows.
_IN_PROGRESS = {10035, errno.EWOULDBLOCK} if sys.platform == "win32" else {errno.EINPROGRESS}


@dataclass(eq=False)
class _Attempt:
    host: str
    port: int
    timeout: float  # the attempt's whole window, for connect_failure's fairness rule
    started: float
    end: float
    done: Callable[[Opened], None]
    resolution: Resolution | None = None
    targets: list[tuple[int, Any]] = field(default_factory=list)
    sock: socket.socket | None = None
    window: float = 0.0  # what the current address had of the window
    last: BaseException | None = None
    lookup: Future[tuple[str, ...]] | None = None
    release: Callable[[], None] | None = None
    over: bool = False
    timed: bool = False  # its window's end is on the loop's timers

    @property
    def key(self) -> tuple[str, int]:
        """Its destination, as named."""
        return (self.host.lower(), self.port)


class Connector:
    """Opens TCP connections on one daemon thread (started by the first :meth:`open`, so
    in the caller's network namespace); :meth:`close` lets it go."""

    def __init__(self, limit: int | None = None, name: str = "accessready-connect",
                 per_destination: int = PER_DESTINATION) -> None:
        self.limit = max(1, limit if limit is not None else default_limit())
        self.per_destination = max(1, per_destination)
        self._by_destination: dict[tuple[str, int], int] = {}
        self._name = name
        self._lock = threading.Lock()
        self._inbox: deque[tuple[Callable[[_Attempt], None], _Attempt]] = deque()
        self._live: set[_Attempt] = set()  # not yet delivered
        self._held = 0  # sockets delivered and not yet taken or closed
        self._closed = False
        self._thread: threading.Thread | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._timers: list[tuple[float, int, _Attempt]] = []
        self._seq = itertools.count()

    @property
    def in_flight(self) -> int:
        """Attempts not yet delivered, and sockets delivered but not yet taken."""
        with self._lock:
            return len(self._live) + self._held

    def open(self, host: str, port: int, window: float,
             done: Callable[[Opened], None]) -> bool:
        """Start connecting to ``host:port`` for at most ``window`` seconds; ``done``
        hears the :class:`~accessready.agent.io.net.Opened` on this object's thread (it
        must be quick). False, and nothing started, when the connector is full or closed
        (the caller connects itself)."""
        started = time.monotonic()
        attempt = _Attempt(host, port, window, started, started + window, done)
        with self._lock:
            if self._closed or len(self._live) + self._held >= self.limit:
                return False
            if self._by_destination.get(attempt.key, 0) >= self.per_destination:
                return False
            if self._thread is None and not self._start():
                return False
            self._live.add(attempt)
            self._by_destination[attempt.key] = self._by_destination.get(attempt.key, 0) + 1
        # The first try starts here, on the caller's thread, which holds the CPU now: the
        # connector's thread, waiting its turn for the interpreter among hundreds of busy
        # workers, would start it late. It only watches and decides.
        try:
            step = self._first_try(attempt)
        except Exception:  # the loop starts it over, and reports what goes wrong
            log.debug("first try at %s:%s failed", host, port, exc_info=True)
            self._close_sock(attempt)
            step = self._begin
        self._post(step, attempt)
        return True

    def _first_try(self, attempt: _Attempt) -> Callable[[_Attempt], None]:
        """Start ``attempt`` when no resolver need be asked; what the loop does next."""
        attempt.started = time.monotonic()
        attempt.end = attempt.started + attempt.timeout
        local = resolve_locally(attempt.host)
        if local is None:
            return self._ask_resolver
        attempt.resolution = local
        attempt.targets = sockaddrs(local, attempt.port)
        family, address = attempt.targets.pop(0)
        attempt.window = attempt.timeout
        sock, code = _connect_ex(family, address)
        attempt.sock = sock
        if code in _IN_PROGRESS:
            return self._watch
        if code == 0:
            return self._up_at_once
        attempt.sock = None
        sock.close()
        attempt.last = _os_error(code)
        return self._next_address

    def _time(self, attempt: _Attempt) -> None:
        """Put the end of ``attempt``'s window on the timers (once)."""
        if not attempt.timed:
            attempt.timed = True
            heapq.heappush(self._timers, (attempt.end, next(self._seq), attempt))

    def _up_at_once(self, attempt: _Attempt) -> None:
        sock, attempt.sock = attempt.sock, None
        if sock is not None:
            self._deliver(attempt, sock)

    def _watch(self, attempt: _Attempt) -> None:
        self._time(attempt)
        assert self._selector is not None and attempt.sock is not None
        self._selector.register(attempt.sock, selectors.EVENT_WRITE, attempt)

    def _give_back(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._held -= 1
            self._forget(key)

    def _forget(self, key: tuple[str, int]) -> None:
        # under self._lock
        left = self._by_destination.get(key, 0) - 1
        if left > 0:
            self._by_destination[key] = left
        else:
            self._by_destination.pop(key, None)

    def close(self) -> None:
        """Stop: attempts still in flight are told they ended (``error``), closed."""
        with self._lock:
            self._closed = True
        self._wake()

    # -- the loop thread -------------------------------------------------------------------

    def _start(self) -> bool:
        # under self._lock
        try:
            self._wake_r, self._wake_w = socket.socketpair()
            for end in (self._wake_r, self._wake_w):
                end.setblocking(False)
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._wake_r, selectors.EVENT_READ, None)
            thread = threading.Thread(target=self._run, daemon=True, name=self._name)
            thread.start()
        except (OSError, RuntimeError):  # no descriptors or no thread: connect as before
            log.debug("could not start the connector", exc_info=True)
            self._drop_wake()  # not _teardown: it takes the lock this caller holds
            return False
        self._thread = thread
        return True

    def _drop_wake(self) -> None:
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()
        if self._selector is not None:
            self._selector.close()
        self._wake_r = self._wake_w = None
        self._selector = None

    def _wake(self) -> None:
        wake = self._wake_w
        if wake is None:
            return
        with contextlib.suppress(OSError):  # full (a wake is pending anyway) or closed
            wake.send(b"\0")

    def _post(self, call: Callable[[_Attempt], None], attempt: _Attempt) -> None:
        with self._lock:
            first = not self._inbox
            self._inbox.append((call, attempt))
        # One wake per batch: the loop takes the whole inbox after waking, and an item
        # posted after it took the inbox finds it empty and wakes it again. An audit's
        # planning posts thousands; each wake is a syscall and a turn of this thread.
        if first:
            self._wake()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # never expected; no check may wait for it forever
            log.debug("the connector stopped", exc_info=True)
            with self._lock:
                self._closed = True
                stranded = list(self._live)
            for attempt in stranded:
                self._broken(attempt, exc)
        finally:
            self._teardown()

    def _step(self, call: Callable[[_Attempt], None], attempt: _Attempt) -> None:
        # one attempt's bad luck (a library's exception) is that attempt's error, never
        # the loop's end, and never silence for its check
        if attempt.over:
            return
        try:
            call(attempt)
        except Exception as exc:
            log.debug("opening %s:%s failed unexpectedly", attempt.host, attempt.port,
                      exc_info=True)
            self._broken(attempt, exc)

    def _broken(self, attempt: _Attempt, exc: BaseException) -> None:
        if attempt.over:
            return
        self._close_sock(attempt)
        self._release(attempt)
        self._fail(attempt, ProbeFailure(
            "error", f"could not open the connection to {attempt.host}:{attempt.port} "
            f"({type(exc).__name__}: {exc})", ms_since(attempt.started)))

    def _loop(self) -> None:
        selector = self._selector
        assert selector is not None
        while True:
            with self._lock:
                if self._closed:
                    return
                calls = list(self._inbox)
                self._inbox.clear()
            for call, attempt in calls:
                self._step(call, attempt)
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, attempt = heapq.heappop(self._timers)
                self._step(self._expire, attempt)
            pause = min(max(self._timers[0][0] - now, 0.0), 1.0) if self._timers else 1.0
            if self._inbox:
                pause = 0.0
            for key, _ in selector.select(pause):
                if key.data is None:
                    self._drain()
                else:  # before any expiry: an answer that came in time counts
                    self._step(self._settle, key.data)

    def _drain(self) -> None:
        try:
            while self._wake_r is not None and self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _teardown(self) -> None:
        with self._lock:
            left = {*self._live, *(t[2] for t in self._timers), *(a for _, a in self._inbox)}
            self._inbox.clear()
        for attempt in left:
            self._close_sock(attempt)
            self._release(attempt)
            if not attempt.over:  # never left unheard: its check would wait for it
                self._fail(attempt, ProbeFailure(
                    "error", f"the run ended before the connection to {attempt.host}:"
                    f"{attempt.port} was decided", ms_since(attempt.started)))
        self._timers.clear()
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()
        if self._selector is not None:
            self._selector.close()

    def _begin(self, attempt: _Attempt) -> None:
        # The window starts now, not when open() was called: a wait for this thread
        # (a busy process) is ours, and must not shorten the target's time.
        attempt.started = time.monotonic()
        attempt.end = attempt.started + attempt.timeout
        self._time(attempt)
        try:
            local = resolve_locally(attempt.host)
        except ResolveError as exc:
            self._fail(attempt, ProbeFailure("dns", str(exc), ms_since(attempt.started)))
            return
        if local is not None:
            self._connect_to(attempt, local)
            return
        self._ask(attempt)

    def _ask_resolver(self, attempt: _Attempt) -> None:
        # the caller's first try found no local answer; the window runs since then
        self._time(attempt)
        self._ask(attempt)

    def _ask(self, attempt: _Attempt) -> None:
        future, release = system_lookups().begin(attempt.host.rstrip("."))
        attempt.lookup, attempt.release = future, release
        future.add_done_callback(lambda _f: self._post(self._looked_up, attempt))

    def _looked_up(self, attempt: _Attempt) -> None:
        if attempt.lookup is None:
            return
        self._release(attempt)
        error = attempt.lookup.exception()
        if error is not None:
            kind = "dns" if isinstance(error, ResolveError) and not error.local else "resolver"
            self._fail(attempt, ProbeFailure(kind, str(error), ms_since(attempt.started)))
            return
        self._connect_to(attempt, Resolution(attempt.host, attempt.lookup.result(),
                                             SYSTEM_RESOLVER))

    def _connect_to(self, attempt: _Attempt, resolution: Resolution) -> None:
        attempt.resolution = resolution
        attempt.targets = sockaddrs(resolution, attempt.port)
        self._next_address(attempt)

    def _next_address(self, attempt: _Attempt) -> None:
        self._time(attempt)
        while attempt.targets:
            left = attempt.end - time.monotonic()
            if left <= 0:
                break
            family, address = attempt.targets.pop(0)
            attempt.window = left
            try:
                sock, code = _connect_ex(family, address)
            except OSError as exc:
                attempt.last = exc
                continue
            if code == 0:
                self._deliver(attempt, sock)
                return
            if code in _IN_PROGRESS:
                attempt.sock = sock
                assert self._selector is not None
                self._selector.register(sock, selectors.EVENT_WRITE, attempt)
                return
            sock.close()
            attempt.last = _os_error(code)
        self._fail(attempt, connect_failure(attempt.last, attempt.window, attempt.timeout,
                                            attempt.started, attempt.host, attempt.port))

    def _settle(self, attempt: _Attempt) -> None:
        sock = self._unregister(attempt)
        if sock is None:
            return
        state = _state(sock)
        if state is None:  # writable yet neither up nor failed: never a "connected"
            state = OSError(errno.ENOTCONN, "the connection did not come up")
        if state is True:
            self._deliver(attempt, sock)
            return
        sock.close()
        attempt.last = state if isinstance(state, OSError) else None
        self._next_address(attempt)

    def _expire(self, attempt: _Attempt) -> None:
        if attempt.lookup is not None and attempt.lookup.done():
            self._looked_up(attempt)  # the answer came in time; its turn had not come yet
            return
        sock = attempt.sock
        if sock is not None:
            # One last look: the SYN-ACK may have come while this thread waited for the CPU.
            # (Not select(): it cannot watch a descriptor above 1023.)
            if _state(sock) is not None:
                self._settle(attempt)
                return
            self._close_sock(attempt)
            attempt.last = TimeoutError()
            self._fail(attempt, connect_failure(
                attempt.last, attempt.window, attempt.timeout, attempt.started,
                attempt.host, attempt.port))
            return
        if attempt.lookup is not None:
            self._release(attempt)
            self._fail(attempt, ProbeFailure("resolver", str(no_answer(
                attempt.host, attempt.timeout)), ms_since(attempt.started)))
            return
        self._fail(attempt, connect_failure(attempt.last, attempt.window, attempt.timeout,
                                            attempt.started, attempt.host, attempt.port))

    def _release(self, attempt: _Attempt) -> None:
        if attempt.release is not None:
            release, attempt.release = attempt.release, None
            release()

    def _unregister(self, attempt: _Attempt) -> socket.socket | None:
        sock, attempt.sock = attempt.sock, None
        if sock is not None and self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
        return sock

    def _close_sock(self, attempt: _Attempt) -> None:
        sock = self._unregister(attempt)
        if sock is not None:
            sock.close()

    def _fail(self, attempt: _Attempt, failure: ProbeFailure) -> None:
        self._hand_over(attempt, Opened(attempt.host, attempt.port, None, failure,
                                        ms_since(attempt.started), attempt.resolution,
                                        time.monotonic()))

    def _deliver(self, attempt: _Attempt, sock: socket.socket) -> None:
        sock.setblocking(True)
        self._hand_over(attempt, Opened(attempt.host, attempt.port, sock, None,
                                        ms_since(attempt.started), attempt.resolution,
                                        time.monotonic()))

    def _hand_over(self, attempt: _Attempt, opened: Opened) -> None:
        if attempt.over:
            opened.discard()
            return
        attempt.over = True
        with self._lock:
            self._live.discard(attempt)
            if opened.sock is not None:  # its descriptor stays ours until taken
                self._held += 1
                opened.released = lambda key=attempt.key: self._give_back(key)
            else:
                self._forget(attempt.key)
        try:
            attempt.done(opened)
        except Exception:
            log.debug("a connection's receiver raised", exc_info=True)
            opened.discard()


def _connect_ex(family: int, address: Any) -> tuple[socket.socket, int]:
    """A non-blocking TCP socket and what its connect to ``address`` answered at once."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        return sock, sock.connect_ex(address)
    except OSError:
        sock.close()
        raise


def _os_error(code: int) -> OSError:
    """The exception a blocking connect would have raised for ``code`` (SO_ERROR)."""
    # Windows' C library knows no WSA numbers ("Unknown error"); the socket module's
    # table does
    words = getattr(socket, "errorTab", {}).get(code) if sys.platform == "win32" else None
    if not words:
        try:
            words = os.strerror(code)
        except ValueError:
            words = f"error {code}"
    return OSError(code, words)  # OSError picks the subclass (ConnectionRefusedError, …)


def _state(sock: socket.socket) -> bool | OSError | None:
    """True when ``sock``'s connection is up, the error when it failed, None while its
    handshake still runs (no select(): it works for any descriptor number)."""
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        return _os_error(code)
    try:
        sock.getpeername()
    except OSError:
        return None  # not connected (yet)
    return True
