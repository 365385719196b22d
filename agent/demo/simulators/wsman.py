"""A WS-Management (WinRM) server that unmodified pywinrm really talks to.

What it speaks, on loopback, over HTTP or HTTPS (``POST /wsman``, HTTP/1.1 keep-alive):

* the unauthenticated ``Identify`` (request header ``WSMANIDENTIFY: unauthenticated``),
  answered as Windows answers anonymous callers (``OS: 0.0.0 SP: 0.0 Stack: 3.0``);
* authentication: ``Basic realm="WSMAN"`` and ``Negotiate`` carrying raw NTLM
  (:mod:`.ntlm`: NTLMv2 verified against the known password; over HTTP the messages are
  then sealed, ``multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"``,
  as Windows requires with its default ``AllowUnencrypted=false``). A wrong password, an
  unknown user, and a locked, disabled or expired account all get the same HTTP 401 —
  as from Windows. A user marked ``no_access`` authenticates and then gets the
  ``Access is denied`` fault (WSManFault code 5);
* the remote shell: Create, Command, Receive, Signal, Delete (and Send, ignored). Every
  response echoes the request's MessageID in ``RelatesTo``; a Receive that has no output
  within the request's ``OperationTimeout`` gets the real timeout fault (code 2150858793).

What a command prints is replayed from recordings: :mod:`.replay` loads them and picks
the entry for a command line (its docstring has the format). The SOAP it answers with is
built in :mod:`.wsman_soap`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET

from accessready.agent.demo.simulators.ntlm import NtlmError, NtlmServer, message_type
from accessready.agent.demo.simulators.replay import (
    choose,
    decode_powershell,
    substitute,
)
from accessready.agent.demo.simulators.stream import LocalHTTPServer
from accessready.agent.demo.simulators.wsman_soap import (
    ACTION,
    DONE,
    IDENTIFY_TEMPLATE,
    NS,
    OPERATION_TIMEOUT_CODE,
    SHELL_URI,
    duration_seconds,
    envelope,
    fault,
)
from accessready.checks.account.parse import split_account

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
MAX_BODY = 2 * 1024 * 1024


@dataclass
class SimUser:
    """An account the simulator knows. ``state``: ok | locked | disabled | expired |
    no_access (authenticates, but may not use WinRM)."""

    password: str
    state: str = "ok"


@dataclass
class _Command:
    entry: dict[str, Any]
    stdout: bytes
    stderr: bytes
    exit_code: int
    ready_at: float
    hang: bool = False
    delivered: bool = False


@dataclass
class _Shell:
    user: str
    codepage: int
    commands: dict[str, _Command] = field(default_factory=dict)


class _QuietServer(LocalHTTPServer):
    """Clients that hang up early (a deadline passed) are normal here, not tracebacks.

    Over HTTPS each connection's TLS handshake runs on that connection's own thread, as
    http.sys serves connections side by side: a client that connects and says nothing
    holds up no other (wrapping the listening socket would do the handshake in the
    accept loop, and one idle connection would stall the listener)."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Complete the TLS handshake (within 10 s), then serve the connection."""
        if self.tls is not None:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: the client went away."""


class WsmanSimulator:
    """A WinRM listener on loopback; ``start()``, then ``url``; ``stop()`` when done."""

    def __init__(self, users: dict[str, SimUser], recordings: dict[str, dict[str, Any]],
                 *, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[str, str] | None = None, basic: bool = True,
                 negotiate: bool = True, computer: str = "ADFS01", netbios_domain: str = "EXEMPEL",
                 dns_domain: str = "exempel.local",
                 product_version: str = "OS: 0.0.0 SP: 0.0 Stack: 3.0") -> None:
        self.users = {name.lower(): user for name, user in users.items()}
        self.recordings = recordings
        self.basic = basic
        self.negotiate = negotiate
        self.computer = computer
        self.netbios_domain = netbios_domain
        self.dns_domain = dns_domain
        self.product_version = product_version
        self.shells: dict[str, _Shell] = {}
        self.log: list[dict[str, Any]] = []  # what was asked: tests read it
        self.lock = threading.Lock()
        self.https = tls is not None
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _QuietServer((host, port), handler)
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls[0], tls[1])
            self._server.tls = context
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="wsman-sim",
                                        daemon=True)

    @property
    def url(self) -> str:
        """The endpoint pywinrm is given."""
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}/wsman"

    def start(self) -> WsmanSimulator:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    # -- accounts ---------------------------------------------------------------------

    def find_user(self, name: str) -> tuple[str, SimUser] | None:
        """The account for a logon name in any of its spellings (DOMAIN\\sam, sam@dns, sam)."""
        if name.lower() in self.users:
            return name.lower(), self.users[name.lower()]
        _, sam = split_account(name)
        for known, user in self.users.items():
            if split_account(known)[1].lower() == sam.lower():
                return known, user
        return None

    def ntlm_passwords(self) -> dict[str, str]:
        """sam (lower case) → password, for the NTLM verifier."""
        return {split_account(k)[1].lower(): u.password for k, u in self.users.items()}

    # -- recordings -------------------------------------------------------------------

    def lookup(self, command_line: str, user: str) -> dict[str, Any] | None:
        """The recording for a command line run by ``user`` (None: unknown command)."""
        return choose(self.recordings, command_line, user)

    def start_command(self, shell: _Shell, command_line: str) -> _Command:
        """Turn a command line into output bytes, as the shell's code page encodes them."""
        entry = self.lookup(command_line, shell.user)
        encoding = "utf-8" if shell.codepage == 65001 else "cp437"
        if entry is None:
            name = command_line.split()[0] if command_line.split() else ""
            script, _ = decode_powershell(command_line)
            if script is not None:
                text = ("#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft"
                        ".com/powershell/2004/04\"><S S=\"Error\">The simulator has no recording "
                        "for this script_x000D__x000A_</S></Objs>")
            else:
                text = (f"'{name}' is not recognized as an internal or external command,\r\n"
                        "operable program or batch file.\r\n")
            return _Command({}, b"", text.encode(encoding, "replace"), 1, time.monotonic())
        entry = substitute(entry, shell.user, self.netbios_domain, self.computer)
        if "json" in entry:
            stdout = json.dumps(entry["json"], ensure_ascii=False, separators=(",", ":")) + "\r\n"
        else:
            stdout = entry.get("stdout", "")
        return _Command(entry, stdout.encode(encoding, "replace"),
                        entry.get("stderr", "").encode(encoding, "replace"),
                        int(entry.get("exit_code", 0)),
                        time.monotonic() + float(entry.get("delay_s", 0)),
                        hang=bool(entry.get("hang", False)))


class _Handler(BaseHTTPRequestHandler):
    """One connection: keeps its NTLM state across requests, like http.sys does."""

    sim: WsmanSimulator
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.ntlm: NtlmServer | None = None
        self.ntlm_user: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``sim.log`` instead."""

    # -- HTTP plumbing ----------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
              content_type: str = "application/soap+xml;charset=UTF-8") -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _challenge(self, token: str | None = None) -> None:
        headers = []
        if token is not None:
            headers.append(("WWW-Authenticate", f"Negotiate {token}"))
        else:
            if self.sim.negotiate:
                headers.append(("WWW-Authenticate", "Negotiate"))
            if self.sim.basic:
                headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        self._send(401, b"", headers)

    def do_GET(self) -> None:
        """WinRM answers GET with 405."""
        self._send(405, b"")

    def do_POST(self) -> None:
        """Identify, authentication, then one WS-Management operation."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send(413)
            return
        body = self.rfile.read(length) if length else b""
        if self.path.split("?")[0].lower() != "/wsman":
            self._send(404)
            return
        if (self.headers.get("WSMANIDENTIFY") or "").lower() == "unauthenticated":
            self.sim.log.append({"op": "identify"})
            self._send(200, IDENTIFY_TEMPLATE.replace("{version}",
                                                       escape(self.sim.product_version))
                       .encode("utf-8"))
            return
        user = self._authenticate()
        if user is None:
            return
        encrypted = "multipart/encrypted" in (self.headers.get("Content-Type") or "")
        if encrypted:
            try:
                body = self._decrypt(body)
            except (NtlmError, ValueError) as exc:
                self.sim.log.append({"op": "decrypt-failed", "error": str(exc)})
                self.close_connection = True
                self._send(400)
                return
        if not body:  # pywinrm's empty POST that sets up message encryption
            self._send(200)
            return
        status, reply = self._operation(body, user)
        if encrypted:
            self._send(status, self._encrypt(reply),
                       content_type=f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";'
                       'boundary="Encrypted Boundary"')
        else:
            self._send(status, reply)

    # -- authentication -----------------------------------------------------------------

    def _authenticate(self) -> str | None:
        """The logged-on user, or None after sending the 401 (or challenge) answer."""
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if not header and self.ntlm_user is not None:
            return self.ntlm_user  # http.sys: the connection stays authenticated
        if scheme == "basic" and self.sim.basic:
            try:
                raw = base64.b64decode(value)
            except ValueError:
                self._challenge()
                return None
            # requests sends Basic credentials in Latin-1, other clients in UTF-8.
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            name, _, password = text.partition(":")
            found = self.sim.find_user(name)
            if found and found[1].password == password and found[1].state not in (
                    "locked", "disabled", "expired"):
                self.sim.log.append({"op": "auth", "scheme": "basic", "user": name})
                return name
            self.sim.log.append({"op": "auth-failed", "scheme": "basic", "user": name})
            self._challenge()
            return None
        if scheme in ("negotiate", "ntlm") and self.sim.negotiate and value:
            return self._ntlm_step(value)
        self._challenge()
        return None

    def _ntlm_step(self, value: str) -> str | None:
        try:
            token = base64.b64decode(value)
            kind = message_type(token)
        except (ValueError, NtlmError):
            self._challenge()  # SPNEGO-wrapped Kerberos and the like: not offered here
            return None
        try:
            if kind == 1:
                self.ntlm = NtlmServer(self.sim.netbios_domain, self.sim.computer,
                                       self.sim.dns_domain)
                challenge = self.ntlm.challenge(token)
                self._challenge(base64.b64encode(challenge).decode("ascii"))
                return None
            if kind == 3 and self.ntlm is not None:
                result = self.ntlm.authenticate(token, self.sim.ntlm_passwords())
                logon = f"{result.domain}\\{result.user}" if result.domain else result.user
                found = self.sim.find_user(logon)
                if found is None or found[1].state in ("locked", "disabled", "expired"):
                    raise NtlmError(f"account state {found[1].state if found else 'unknown'}")
                self.ntlm_user = logon
                self.sim.log.append({"op": "auth", "scheme": "ntlm", "user": logon,
                                     "flags": result.flags})
                return logon
        except NtlmError as exc:
            self.sim.log.append({"op": "auth-failed", "scheme": "ntlm", "error": str(exc)})
        self.ntlm = None
        self._challenge()
        return None

    def _decrypt(self, body: bytes) -> bytes:
        if self.ntlm is None or self.ntlm_user is None:
            raise NtlmError("encrypted body without an NTLM session")
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        if len(parts) < 2:
            raise ValueError("not a multipart/encrypted body")
        header, payload = parts[0], parts[1]
        length = int(header.split(b"Length=")[1].split(b"\r\n")[0])
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[: -len(BOUNDARY + b"--\r\n")]
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        sig_len = int.from_bytes(payload[:4], "little")
        message = self.ntlm.unseal(payload[4:4 + sig_len], payload[4 + sig_len:])
        if len(message) != length:
            raise ValueError("decrypted length differs from OriginalContent")
        return message

    def _encrypt(self, message: bytes) -> bytes:
        assert self.ntlm is not None
        signature, sealed = self.ntlm.seal(message)
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
                + str(len(message)).encode() + b"\r\n" + BOUNDARY + b"\r\n"
                b"\tContent-Type: application/octet-stream\r\n"
                + len(signature).to_bytes(4, "little") + signature + sealed
                + BOUNDARY + b"--\r\n")

    # -- WS-Management -------------------------------------------------------------------

    def _operation(self, body: bytes, user: str) -> tuple[int, bytes]:
        sim = self.sim
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except Exception:
            return 400, b""
        header = root.find("s:Header", NS)
        if header is None:
            return 400, b""
        action = (header.findtext("a:Action", "", NS) or "").strip()
        message_id = (header.findtext("a:MessageID", "", NS) or "").strip()
        timeout = duration_seconds(header.findtext("w:OperationTimeout", None, NS))
        shell_id = (header.findtext("w:SelectorSet/w:Selector[@Name='ShellId']", "", NS)
                    or "").strip()
        found = sim.find_user(user)
        if found is not None and found[1].state == "no_access":
            sim.log.append({"op": "access-denied", "user": user})
            return 500, fault(message_id, 5, "Access is denied. ", "w:AccessDenied",
                              sim.computer)
        body_el = root.find("s:Body", NS)
        if action == ACTION["create"]:
            codepage = 437
            for option in header.findall("w:OptionSet/w:Option", NS):
                if option.get("Name") == "WINRS_CODEPAGE":
                    codepage = int((option.text or "437").strip())
            new_id = str(uuid.uuid4()).upper()
            with sim.lock:
                sim.shells[new_id] = _Shell(user, codepage)
            sim.log.append({"op": "create", "user": user, "codepage": codepage,
                            "shell": new_id})
            reply = (f'<x:ResourceCreated><a:Address>{escape(sim.url)}</a:Address>'
                     f"<a:ReferenceParameters><w:ResourceURI>{SHELL_URI}</w:ResourceURI>"
                     f'<w:SelectorSet><w:Selector Name="ShellId">{new_id}</w:Selector>'
                     "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
                     f"<rsp:Shell><rsp:ShellId>{new_id}</rsp:ShellId>"
                     f"<rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
                     f"<rsp:Owner>{escape(user)}</rsp:Owner></rsp:Shell>")
            return 200, envelope(ACTION["create"] + "Response", message_id, reply)
        shell = sim.shells.get(shell_id)
        if shell is None:
            return 500, fault(message_id, 2150858843, "The request for the Windows Remote "
                              "Shell with ShellId " + shell_id + " failed because the shell "
                              "was not found on the server.", "w:InvalidSelectors",
                              sim.computer)
        if action == ACTION["delete"]:
            with sim.lock:
                sim.shells.pop(shell_id, None)
            sim.log.append({"op": "delete", "shell": shell_id})
            return 200, envelope(ACTION["delete"] + "Response", message_id, "")
        if action == ACTION["command"]:
            line = (body_el.findtext("rsp:CommandLine/rsp:Command", "", NS) or "").strip() \
                if body_el is not None else ""
            args = [a.text or "" for a in (body_el.findall("rsp:CommandLine/rsp:Arguments", NS)
                                           if body_el is not None else [])]
            command_line = " ".join([line, *args]).strip()
            options = {o.get("Name"): (o.text or "").strip()
                       for o in header.findall("w:OptionSet/w:Option", NS)}
            command_id = str(uuid.uuid4()).upper()
            shell.commands[command_id] = sim.start_command(shell, command_line)
            sim.log.append({"op": "command", "shell": shell_id, "command": command_line,
                            "skip_cmd_shell": options.get("WINRS_SKIP_CMD_SHELL")})
            reply = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId>" \
                    "</rsp:CommandResponse>"
            return 200, envelope(ACTION["command"] + "Response", message_id, reply)
        if action == ACTION["receive"]:
            stream = body_el.find("rsp:Receive/rsp:DesiredStream", NS) \
                if body_el is not None else None
            command_id = stream.get("CommandId", "") if stream is not None else ""
            command = shell.commands.get(command_id)
            if command is None:
                return 500, fault(message_id, 2150858843, "The command was not found.",
                                  "w:InvalidSelectors", sim.computer)
            return self._receive(command, command_id, message_id, timeout)
        if action == ACTION["signal"]:
            signal = body_el.find("rsp:Signal", NS) if body_el is not None else None
            command_id = signal.get("CommandId", "") if signal is not None else ""
            shell.commands.pop(command_id, None)
            sim.log.append({"op": "signal", "command_id": command_id})
            return 200, envelope(ACTION["signal"] + "Response", message_id,
                                  "<rsp:SignalResponse/>")
        if action == ACTION["send"]:
            return 200, envelope(ACTION["send"] + "Response", message_id,
                                  "<rsp:SendResponse/>")
        return 500, fault(message_id, 2150858817, "The WS-Management service cannot process "
                          "the request because the action is not supported.",
                          "w:ActionNotSupported", sim.computer)

    def _receive(self, command: _Command, command_id: str, message_id: str,
                 timeout: float) -> tuple[int, bytes]:
        """Wait (up to OperationTimeout) for the command, then stream its output."""
        waited_until = time.monotonic() + min(timeout, 120.0)
        while command.hang or time.monotonic() < command.ready_at:
            if time.monotonic() >= waited_until:
                self.sim.log.append({"op": "receive-timeout", "command_id": command_id})
                return 500, fault(message_id, OPERATION_TIMEOUT_CODE,
                                  "The WS-Management service cannot complete the operation "
                                  "within the time specified in OperationTimeout.  ",
                                  "w:TimedOut", self.sim.computer)
            time.sleep(min(0.05, max(0.0, waited_until - time.monotonic())))
        cid = escape(command_id)
        chunks = []
        for name, data in (("stdout", command.stdout), ("stderr", command.stderr)):
            for i in range(0, len(data), 8192):
                chunk = base64.b64encode(data[i:i + 8192]).decode("ascii")
                chunks.append(f'<rsp:Stream Name="{name}" CommandId="{cid}">{chunk}</rsp:Stream>')
            chunks.append(f'<rsp:Stream Name="{name}" CommandId="{cid}" End="true"></rsp:Stream>')
        command.delivered = True
        self.sim.log.append({"op": "receive", "command_id": command_id})
        reply = ("<rsp:ReceiveResponse>" + "".join(chunks)
                 + f'<rsp:CommandState CommandId="{cid}" State="{DONE}">'
                 f"<rsp:ExitCode>{command.exit_code}</rsp:ExitCode></rsp:CommandState>"
                 "</rsp:ReceiveResponse>")
        return 200, envelope(ACTION["receive"] + "Response", message_id, reply)
