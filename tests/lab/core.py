"""The lab as one object: start it, look up hosts and services, run commands in it, stop it.

``Lab().start()`` creates the namespaces (see ``topology``), the PKI and the support account,
starts every daemon at once and waits for all of them against one deadline. ``stop()`` stops
the VPN client and the daemons by PID, kills whatever is left in each namespace by PID,
deletes the namespaces and the lab's folder. ``stop`` runs from pytest finalizers, from
``atexit`` and on SIGTERM/SIGHUP; what a SIGKILL leaves behind is removed by the next start
(see ``state``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from .accounts import GROUP, SupportAccount, make_support_account
from .daemons.base import Daemon
from .daemons.charon import Charon
from .daemons.dnsmasq import Dnsmasq, default_views
from .daemons.https import PUBLIC_PORTS, WAP_CERT_PORTS, WebHost
from .daemons.ocserv import OTHER_GROUP, OcServ
from .daemons.openconnect import VpnClient
from .daemons.pptpd import Pptpd
from .daemons.sshd import PamSshServer, SshServer
from .daemons.xrdp import Xrdp
from .pki import CertFiles, build_lab_pki
from .proc import LabError, in_netns, ns_command, run
from .state import (
    RUNTIME_DIR,
    LabState,
    cleanup_leftovers,
    ensure_runtime_dir,
    new_prefix,
    new_state,
)
from .topology import NETWORKS, ZONE, Host, Topology

T = TypeVar("T")

START_TIMEOUT = 25.0  # seconds for every daemon to become ready


@dataclass
class Service:
    """Something a check can be pointed at: where it listens and what the test knows of it."""

    name: str
    host: str
    address: str
    port: int | None
    protocol: str = "tcp"
    dns_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "protocol": self.protocol,
            "dns_name": self.dns_name,
            **self.extra,
        }


class Lab:
    """One running lab. Use ``with Lab() as lab:`` or ``lab = Lab().start()`` / ``lab.stop()``."""

    def __init__(
        self,
        hosts: Iterable[str] | None = None,
        *,
        keep: bool = False,
        prefix: str | None = None,
    ) -> None:
        ensure_runtime_dir()
        self.prefix = prefix or new_prefix()
        self.zone = ZONE
        self.topology = Topology(self.prefix, hosts)
        self.workdir = RUNTIME_DIR / self.prefix
        self.keep = keep
        self.dns_views = default_views(self.zone)
        self.daemons: dict[str, Daemon] = {}
        self.services: dict[str, Service] = {}
        self.certs: dict[str, CertFiles] = {}
        self.vpn: VpnClient | None = None
        self.state: LabState | None = None
        self.start_seconds: float | None = None
        self._support: SupportAccount | None = None
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Lab:
        """Build everything and wait until every daemon answers (raises LabError if not)."""
        t0 = time.monotonic()
        cleanup_leftovers(exclude=(self.prefix,))
        self.workdir.mkdir(mode=0o755, parents=True, exist_ok=False)
        self.state = new_state(self.topology.namespaces, self.prefix, keep=self.keep)
        self.state.save()  # before any namespace exists: a crash from here on is cleanable
        _register(self)
        try:
            self._build(t0)
        except BaseException:
            self.stop(check=False)
            raise
        self.start_seconds = round(time.monotonic() - t0, 2)
        self.save_state()
        return self

    def save_state(self) -> None:
        """Record current PIDs (daemons and the VPN client) and the lab's description."""
        if self.state is None:
            return
        pids = {n: d.pid_record() for n, d in self.daemons.items()}
        if self.vpn is not None and self.vpn.proc is not None:
            pids["openconnect"] = [self.vpn.proc.pid, self.vpn.proc.start_time]
        self.state.pids = pids
        self.state.info = self.info()
        self.state.save()

    def detach(self) -> None:
        """Leave the lab running after this process exits (``up --keep``); ``python -m
        tests.lab down PREFIX`` removes it."""
        if self.state is None:
            raise LabError("the lab has not been started")
        self.state.keep = True
        self.save_state()
        _unregister(self)
        self._stopped = True  # this object no longer owns the lab

    def _build(self, t0: float) -> None:
        present = set(self.topology.hosts)
        self.certs = build_lab_pki(
            self.workdir / "pki",
            self.zone,
            {
                "sts": ["198.51.100.40", "192.0.2.44"],
                "vpn_split": ["198.51.100.10"],
                "vpn_full": ["198.51.100.11"],
                "rdp": ["192.0.2.33"],
            },
        )
        self._support = make_support_account(
            self.workdir / "support", home=self.workdir / "hosts" / "ssh" / "home" / "support"
        )
        for host in self.topology.hosts.values():
            self._write_resolv_conf(host)
        self.topology.create()
        candidates: list[tuple[str, Callable[[], Daemon]]] = [
            ("ssh", lambda: SshServer(self)),
            ("ocserv-split", lambda: OcServ(self, "split")),
            ("ocserv-full", lambda: OcServ(self, "full")),
            ("ikev2", lambda: Charon(self, "ikev2", 2)),
            ("ikev1", lambda: Charon(self, "ikev1", 1)),
            ("pptp", lambda: Pptpd(self)),
            ("rdp", lambda: Xrdp(self)),
            ("dns-int", lambda: Dnsmasq(self, "dns-int", "internal")),
            ("dns-ext", lambda: Dnsmasq(self, "dns-ext", "external")),
            ("adfs", lambda: WebHost(self, "adfs", "adfs")),
            ("wap", lambda: WebHost(self, "wap", "wap")),
            ("inet", lambda: WebHost(self, "inet", "public")),
        ]
        for host, factory in candidates:
            if host in present:
                daemon = factory()
                self.daemons[daemon.name] = daemon
        if "sshd@ssh" in self.daemons and os.path.exists("/etc/pam.d/sshd"):
            pam = PamSshServer(self, self.sshd)  # started after sshd@ssh: shares its key
            self.daemons[pam.name] = pam
        for daemon in self.daemons.values():
            daemon.start()
        deadline = time.monotonic() + START_TIMEOUT
        for daemon in self.daemons.values():
            daemon.wait_ready(deadline)
        for daemon in self.daemons.values():
            daemon.after_ready(deadline)
        if "client" in present:
            self.vpn = VpnClient(self)
            self.vpn.prepare()
        self._write_known_hosts()
        self._describe_services()

    def stop(self, *, check: bool = True) -> None:
        """Tear everything down (idempotent). Raises LabError if something survived."""
        if self._stopped:
            return
        self._stopped = True
        problems: list[str] = []
        try:
            if self.vpn is not None:
                try:
                    self.vpn.disconnect(timeout=3.0)
                except (LabError, OSError) as exc:
                    problems.append(f"vpn: {exc}")
            for daemon in self.daemons.values():
                daemon.terminate()
            for daemon in self.daemons.values():
                daemon.stop(grace=3.0)
            problems += self.topology.destroy()
        finally:
            _unregister(self)
        if not problems:
            if os.environ.get("ACCESSREADY_LAB_KEEP_FILES"):
                (self.workdir / "state.json").unlink(missing_ok=True)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if problems and check:
            raise LabError("lab teardown left things behind: " + "; ".join(problems))

    # -- lookups ---------------------------------------------------------------------------

    @property
    def support(self) -> SupportAccount:
        """The support account (username, password, key)."""
        if self._support is None:
            raise LabError("the lab has not been started")
        return self._support

    @property
    def ca_file(self) -> Path:
        """PEM of the lab CA (trust anchor for ocserv, xrdp, AD FS and WAP certificates)."""
        return self.certs["ca"].cert

    @property
    def known_hosts(self) -> Path:
        """An OpenSSH known_hosts file with the ssh host's key under its name and address."""
        return self.workdir / "hosts" / "client" / "known_hosts"

    @property
    def client(self) -> Host:
        """The engineer's machine."""
        return self.topology.host("client")

    def host(self, name: str) -> Host:
        """A host by name (``client``, ``inet``, ``ssh``, ``wap``, ...)."""
        return self.topology.host(name)

    def service(self, name: str) -> Service:
        """A service by name (``ssh``, ``rdp``, ``anyconnect_split``, ``wap``, ...)."""
        try:
            return self.services[name]
        except KeyError:
            raise LabError(f"this lab has no service {name!r}") from None

    def daemon(self, name: str) -> Daemon:
        """A daemon by name, e.g. ``sshd@ssh``."""
        return self.daemons[name]

    @property
    def sshd(self) -> SshServer:
        """The sshd daemon (for ``set_password_expiry``)."""
        daemon = self.daemons["sshd@ssh"]
        assert isinstance(daemon, SshServer)
        return daemon

    def resolv_conf_for(self, host: str) -> Path:
        """The resolv.conf a host's commands see (the lab's DNS, never the machine's)."""
        return self.workdir / "hosts" / host / "resolv.conf"

    @property
    def resolv_conf(self) -> Path:
        """The client's resolv.conf: the external view (198.51.100.53)."""
        return self.resolv_conf_for("client")

    # -- running things inside -------------------------------------------------------------

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` in ``host`` with the lab's resolv.conf."""
        return ns_command(
            self.host(host).ns, argv, [(self.resolv_conf_for(host), "/etc/resolv.conf")]
        )

    def exec(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float = 60.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = False,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in ``host`` (its netns, the lab's resolv.conf) and capture output."""
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return run(
            self.command(host, argv),
            timeout=timeout,
            input=input,
            env=full_env,
            check=check,
            cwd=cwd,
        )

    def client_exec(
        self, argv: Sequence[str], **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """``exec`` in the client host."""
        return self.exec("client", argv, **kwargs)

    def in_netns(self, host: str, fn: Callable[[], T], *, timeout: float = 60.0) -> T:
        """Call ``fn`` on a thread inside ``host``'s network namespace (sockets made there
        belong to it).

        Only the network namespace changes: the thread still sees the machine's files,
        including /etc/resolv.conf. Code that needs the lab's system resolver must be given
        the resolver address (``lab.service("dns_external").address``) or run through
        ``exec`` / ``run_accessready``, which bind the lab's resolv.conf.
        """
        return in_netns(self.host(host).ns, fn, timeout=timeout)

    # -- description -----------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Everything a test or a human needs, JSON-friendly."""
        return {
            "prefix": self.prefix,
            "workdir": str(self.workdir),
            "zone": self.zone,
            "networks": dict(NETWORKS),
            "start_seconds": self.start_seconds,
            "enter_client": f"ip netns exec {self.client.ns} bash"
            if "client" in self.topology.hosts
            else None,
            "hosts": {n: h.to_dict() for n, h in self.topology.hosts.items()},
            "services": {n: s.to_dict() for n, s in self.services.items()},
            "support": self._support.to_dict() if self._support else None,
            "ca_file": str(self.ca_file) if self.certs else None,
            "known_hosts": str(self.known_hosts),
            "certs": {n: c.to_dict() for n, c in self.certs.items()},
            "dns": self.dns_views,
            "daemons": {n: d.describe() for n, d in self.daemons.items()},
        }

    def _write_resolv_conf(self, host: Host) -> None:
        path = self.resolv_conf_for(host.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        inside = "internal" in host.addresses and "dmz" not in host.addresses
        server = "192.0.2.53" if inside else "198.51.100.53"
        path.write_text(
            f"# accessready lab ({host.name})\nnameserver {server}\n"
            f"search {self.zone}\noptions timeout:1 attempts:2\n"
        )

    def _write_known_hosts(self) -> None:
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        if "sshd@ssh" not in self.daemons:
            self.known_hosts.write_text("")
            return
        ssh = self.sshd
        assert ssh.host_key is not None
        key = " ".join(ssh.host_key.public_line.split()[:2])
        names = ",".join(n for n in (ssh.host.dns_name, ssh.host.address) if n)
        lines = [f"{names} {key}"]
        if "sshd-pam@ssh" in self.daemons:
            lines.append(f"[{ssh.host.address}]:{PamSshServer.port} {key}")
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def _describe_services(self) -> None:
        hosts = self.topology.hosts
        s = self.services
        if "ssh" in hosts:
            ssh = self.sshd
            assert ssh.host_key is not None
            s["ssh"] = Service(
                "ssh", "ssh", ssh.host.address, ssh.port, dns_name=ssh.host.dns_name,
                extra={
                    "known_hosts": str(self.known_hosts),
                    "host_key": ssh.host_key.public_line,
                    "host_key_sha256": ssh.host_key.sha256,
                    "host_key_md5": ssh.host_key.md5,
                },
            )
        if "sshd-pam@ssh" in self.daemons:
            pam = self.daemons["sshd-pam@ssh"]
            s["ssh_pam"] = Service(
                "ssh_pam", "ssh", pam.host.address, PamSshServer.port,
                dns_name=pam.host.dns_name,
                extra={"known_hosts": str(self.known_hosts), "use_pam": True,
                       "auth": "keyboard-interactive"},
            )
        if "rdp" in hosts:
            h = hosts["rdp"]
            s["rdp"] = Service(
                "rdp", "rdp", h.address, Xrdp.port, dns_name=h.dns_name,
                extra={"security_layer": "negotiate", "nla": False,
                       "cert": str(self.certs["rdp"].cert)},
            )
        for mode in ("split", "full"):
            name = f"ocserv@ocserv-{mode}"
            if name in self.daemons:
                oc = self.daemons[name]
                assert isinstance(oc, OcServ)
                s[f"anyconnect_{mode}"] = Service(
                    f"anyconnect_{mode}", oc.host.name, oc.host.address, oc.port,
                    dns_name=oc.host.dns_name,
                    extra={
                        "url": oc.url,
                        "group": GROUP,
                        "groups": [GROUP, OTHER_GROUP],
                        "ca_file": str(self.ca_file),
                        "pin_sha256": oc.cert.pin_sha256,
                        "pool": str(oc.pool),
                        "split_includes": ["192.0.2.0/24"] if mode == "split" else [],
                        "tunnel": mode,
                    },
                )
        for host, version, name in (("ikev2", 2, "ikev2"), ("ikev1", 1, "l2tp")):
            dname = f"charon@{host}"
            if dname in self.daemons:
                ch = self.daemons[dname]
                assert isinstance(ch, Charon)
                s[name] = Service(
                    name, host, ch.host.address, 500, protocol="udp", dns_name=ch.host.dns_name,
                    extra={"ike_version": version, "nat_t_port": 4500, "psk": ch.psk},
                )
        if "pptp" in hosts:
            h = hosts["pptp"]
            s["pptp"] = Service(
                "pptp", "pptp", h.address, Pptpd.port, dns_name=h.dns_name,
                extra={"vendor": "linux", "firmware": 1, "hostname": "local"},
            )
        sts = f"sts.{self.zone}"
        if "adfs" in hosts:
            h = hosts["adfs"]
            s["adfs"] = Service(
                "adfs", "adfs", h.address, 443, dns_name=sts,
                extra={"federation_service": sts, "cert": str(self.certs["sts"].cert),
                       "token_signing_cert": str(self.certs["token_signing"].cert)},
            )
        if "wap" in hosts:
            h = hosts["wap"]
            s["wap"] = Service(
                "wap", "wap", h.address, 443, dns_name=sts,
                extra={
                    "federation_service": sts,
                    "cert_ports": dict(WAP_CERT_PORTS),
                    "certs": {v: str(self.certs[v].cert) for v in WAP_CERT_PORTS},
                },
            )
        for host, view in (("dns-int", "internal"), ("dns-ext", "external")):
            if host in hosts:
                h = hosts[host]
                s[f"dns_{view}"] = Service(
                    f"dns_{view}", host, h.address, 53, protocol="udp", dns_name=h.dns_name,
                    extra={"view": view},
                )
        for host in ("drop", "reject"):
            if host in hosts:
                h = hosts[host]
                s[host] = Service(
                    host, host, h.address, None, dns_name=h.dns_name,
                    extra={"inside_address": h.addresses.get("internal")},
                )
        if "inet" in hosts:
            h = hosts["inet"]
            s["public_site"] = Service(
                "public_site", "inet", h.extra_addresses[0], PUBLIC_PORTS["http"],
                dns_name=f"public.{self.zone}", extra={"ports": dict(PUBLIC_PORTS)},
            )


# -- teardown on exit and on signals ---------------------------------------------------------

_ACTIVE: list[Lab] = []
_HOOKS_INSTALLED = False


def _stop_all() -> None:
    for lab in list(_ACTIVE):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            lab.stop(check=False)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into KeyboardInterrupt: pytest and the CLI then unwind normally and
    # run their finalizers (which stop the lab); atexit is the last resort.
    raise KeyboardInterrupt(f"signal {signum}")


def _register(lab: Lab) -> None:
    global _HOOKS_INSTALLED
    _ACTIVE.append(lab)
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)
        except ValueError:  # not the main thread
            pass


def _unregister(lab: Lab) -> None:
    if lab in _ACTIVE:
        _ACTIVE.remove(lab)
