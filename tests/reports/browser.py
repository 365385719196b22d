"""A minimal headless-Chromium driver for the report tests (stdlib only).

Talks the DevTools protocol over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out,
NUL-separated JSON), so no port is opened and no extra package is needed. DevTools
evaluation is not bound by the page's CSP, which lets the tests *measure* a page that
itself may run no script at all.

Also a tiny loopback HTTP server that serves one page and records every other request:
the proof that a report fetched nothing; and :func:`off_loopback`, which reads Chromium's
NetLog for any connection that left the machine.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import http.server
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOOPBACK_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""Every host name but 127.0.0.1 resolves to "not found" inside Chromium: the background
services the other flags do not reach (clients2.google.com, update.googleapis.com,
accounts.google.com) get no address, and no DNS query leaves the machine."""
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--disable-features=Translate,MediaRouter",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--no-pings", "--no-proxy-server", LOOPBACK_ONLY,
]


class BrowserError(Exception):
    """Chromium did not answer as expected."""


class Browser:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, timeout: float = 30.0, net_log: Path | None = None) -> None:
        """Start Chromium; with ``net_log`` it writes its NetLog (every DNS request and
        socket it opens) there, readable once :meth:`close` returns."""
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="accessready-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child: the pipe ends DevTools expects
            # move both out of the way first, in case either already is fd 3 or 4
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self._profile.name}",
             *([f"--log-net-log={net_log}", "--net-log-capture-mode=Default"]
               if net_log else []),
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # 3 and 4 are kept open by number: close_fds runs after preexec_fn
            preexec_fn=wire_fds, close_fds=True, pass_fds=(3, 4))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable", session=True)

    # -- protocol ---------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: bool = False) -> dict[str, Any]:
        """Send one command and wait for its answer; events seen meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_event(self, method: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the next event ``method`` (events already seen count)."""
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    # -- conveniences -----------------------------------------------------------------
    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        """Emulate a window (phone widths with ``mobile``)."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": mobile}, session=True)

    def color_scheme(self, scheme: str) -> None:
        """Emulate ``prefers-color-scheme`` (light or dark)."""
        self.call("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
                  session=True)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        answer = self.call("Page.navigate", {"url": url}, session=True)
        if answer.get("errorText"):
            raise BrowserError(f"navigate {url}: {answer['errorText']}")
        self.wait_event("Page.loadEventFired")

    def settle(self, seconds: float = 0.5) -> None:
        """Give a page time to do whatever it might (timers, late fetches)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(self._read_message(deadline))
            except BrowserError:
                break

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DevTools, not the page's CSP)."""
        answer = self.call("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"evaluate failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        """A PNG of the viewport (or the whole page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("[document.documentElement.scrollWidth,"
                                 " document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0],
                              "height": min(size[1], 16000), "scale": 1}
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path: Path) -> Path:
        """Print the page as the user would (A4 from the page's own @page rule)."""
        data = self.call("Page.printToPDF",
                         {"preferCSSPageSize": True, "printBackground": True,
                          "displayHeaderFooter": False, "paperWidth": 8.27,
                          "paperHeight": 11.69}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requests(self) -> list[str]:
        """Every URL the page asked the network stack for, as DevTools saw it."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        """Stop Chromium (only the process this object started)."""
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()


@contextmanager
def browser(net_log: Path | None = None) -> Iterator[Browser]:
    """A Browser that is always closed."""
    b = Browser(net_log=net_log)
    try:
        yield b
    finally:
        b.close()


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


class _Recorder(http.server.BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = self.pages.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # a form or beacon would arrive here; record it the same way

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def recording_server(pages: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``pages`` (may be filled in later) on 127.0.0.1; yield the base URL and the
    list of every path asked for."""
    handler = type("Recorder", (_Recorder,), {"pages": pages, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_LOOPBACK_PREFIXES = ("127.", "[::1]")


def off_loopback(net_log: Path) -> list[str]:
    """What Chromium's NetLog shows going anywhere but loopback: TCP connection attempts
    and bytes sent, each as ``"EVENT address"``.

    A UDP socket that is only *connected* sends nothing (it asks the kernel for a route):
    Chromium does that to 2001:4860:4860::8888 to learn whether IPv6 works, and that is not
    traffic. Bytes sent on such a socket would be, and are reported.
    """
    log = json.loads(net_log.read_text("utf-8"))
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    where: dict[int, str] = {}  # socket (NetLog source id) -> remote address
    found: list[str] = []
    for event in log["events"]:
        name = names.get(event.get("type"), "")
        params = event.get("params") or {}
        address = params.get("address") or params.get("remote_address")
        source = event.get("source", {}).get("id")
        if address and name in ("TCP_CONNECT", "TCP_CONNECT_ATTEMPT", "UDP_CONNECT",
                                "SOCKET_CONNECT"):
            where[source] = address
            if name.startswith("TCP") and not address.startswith(_LOOPBACK_PREFIXES):
                found.append(f"{name} {address}")
        elif name in ("SOCKET_BYTES_SENT", "UDP_BYTES_SENT"):
            sent_to = params.get("address") or where.get(source, "?")
            if not sent_to.startswith(_LOOPBACK_PREFIXES):
                found.append(f"{name} {sent_to}")
    return found
