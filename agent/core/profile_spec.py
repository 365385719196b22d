"""The profile's shape, written once: validation and the shipped JSON Schema both come from it.

A :class:`Field` says what one key holds; tables nest. :func:`json_schema` turns the spec
into the JSON Schema editors use (``accessready schema`` prints it; a test keeps the shipped
file equal to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCESS_METHODS = ("teamviewer", "anyconnect", "checkpoint", "windows_vpn")
ROLES = ("adfs", "wap", "sync", "other")
REMOTE_METHODS = ("rdp", "winrm", "ssh")
# "certificate" (client-certificate login) is not offered: the profile has no keys to name
# the certificate and its key, so such a login could never be made.
WINRM_TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic")
VPN_TUNNELS = ("ikev2", "l2tp", "pptp")
LANGS = ("sv", "en")
# A TeamViewer ID: 9 or 10 digits, grouped with spaces as TeamViewer shows it.
TEAMVIEWER_ID_PATTERN = r"^ *([0-9] *){9,10}$"

DEFAULTS: dict[str, Any] = {
    # THE table of what a profile means when it leaves a key out. Keys are profile keys
    # ([[servers]] entries as "servers.…"); the profile builder applies them, the typed
    # profile and the runner's options take their defaults from here, nothing else does.
    "access.teamviewer.routers": ("router1.teamviewer.com", "router2.teamviewer.com",
                                  "master1.teamviewer.com"),
    "access.teamviewer.ports": (5938, 443, 80),  # TeamViewer's documented order
    "access.anyconnect.port": 443,
    "access.checkpoint.port": 443,
    "access.checkpoint.ports.topology": 264,  # Check Point's topology service (TCP)
    "access.checkpoint.ports.ike": 500,
    "access.windows_vpn.tunnel": "ikev2",
    # the tunnel's own port; `port` stands in for ike (ikev2, l2tp) or pptp (pptp)
    "access.windows_vpn.ports.ike": 500,
    "access.windows_vpn.ports.natt": 4500,
    "access.windows_vpn.ports.pptp": 1723,
    "account.min_password_days": 14,
    # the known_hosts file when no servers[].ssh, servers[] or [account] table names one
    "account.known_hosts": "~/.ssh/known_hosts",
    "servers.ssh.port": 22,
    "servers.rdp.port": 3389,
    "servers.winrm.transport": "ntlm",
    "servers.winrm.https": True,
    "servers.winrm.port.https": 5986,  # the port follows the scheme
    "servers.winrm.port.http": 5985,
    "servers.winrm.allow_insecure_credentials": False,
    "tls.verify": True,  # every ca_file/verify pair
    "adfs.cert_warn_days": 30,
    "adfs.port": 443,  # ports.https, if set, wins
    "adfs.ports.http": 80,
    "checks.timeout": 10,  # seconds (a float once built)
    "checks.concurrency": 32,
}


@dataclass(frozen=True)
class Field:
    """What one profile key may hold."""

    kind: str
    doc: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    items: Field | None = None
    table: dict[str, Field] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    example: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _port(doc: str = "TCP/UDP port") -> Field:
    return Field("int", doc, minimum=1, maximum=65535)


def _tls_fields() -> dict[str, Field]:
    return {
        "ca_file": Field("path", "PEM bundle of CAs to trust for this endpoint"),
        "verify": Field("bool", "false turns TLS verification off (shown loudly in the report)",
                        default=DEFAULTS["tls.verify"]),
    }


def _portmap(*names: str, per_server: bool = False) -> Field:
    """``ports = { name = N }`` with the names a method uses; ``per_server`` also allows
    ``"<server>.<name>"`` keys (AD FS nodes sharing one address in a lab)."""
    shown = ", ".join(f"{n} = …" for n in names)
    return Field("portmap", f"named ports: {{ {shown} }}", enum=names,
                 extra={"per_server": per_server})

CONTACT = {
    "name": Field("str", "the person's name", required=True),
    "email": Field("str", "email address"),
    "phone": Field("str", "phone number, +46 … or 0…"),
}

SPEC: dict[str, Field] = {
    "customer": Field("table", "who the customer is", required=True, table={
        "name": Field("str", "the customer's name", required=True),
        "agreement": Field("str", "support agreement reference"),
        "agreement_valid_until": Field("date", "last day the agreement is valid"),
        "dpa_signed": Field("date", "date the data-processing agreement was signed"),
        "support_email": Field("str", "the customer's dedicated support address"),
        "support_phone": Field("str", "the customer's support phone"),
        "maintenance_contact": Field("str", "who announces maintenance (email or phone)"),
        "contacts": Field("list", "named contacts",
                          items=Field("table", table=CONTACT)),
        "lang": Field("enum", "report language", enum=LANGS),
    }),
    "network": Field("table", "resolvers and tunnel routing", table={
        "internal_resolvers": Field("list", "DNS servers inside the customer network",
                                    items=Field("hostport")),
        "external_resolvers": Field("list", "DNS servers outside; empty: the system resolver",
                                    items=Field("hostport")),
        "internal_subnets": Field("list", "networks that must go through the tunnel",
                                  items=Field("cidr")),
        "internet_probe": Field("host", "an address that must NOT go through the tunnel"),
    }),
    "access": Field("table", "remote-access methods", required=True, table={
        "methods": Field("list", "methods the customer offers; one must pass", required=True,
                         items=Field("enum", enum=ACCESS_METHODS)),
        "teamviewer": Field("table", "TeamViewer host", table={
            "id": Field("tvid", "the TeamViewer ID of the customer's host: 9 or 10 digits, "
                        "spaces allowed", example="1 234 567 890"),
            "routers": Field("list", "router/master host names to probe",
                             items=Field("hostport")),
            "ports": Field("list", "ports in preference order", items=_port()),
            "server": Field("str", "name of the [[servers]] entry where TeamViewer Host runs"),
        }),
        "anyconnect": Field("table", "Cisco AnyConnect gateway", table={
            "gateway": Field("host", "gateway host name", required=True),
            "group": Field("str", "the connection profile (tunnel group) offered to us"),
            "port": _port(),
            **_tls_fields(),
        }),
        "checkpoint": Field("table", "Check Point gateway", table={
            "gateway": Field("host", "gateway host name", required=True),
            "group": Field("str", "login option / realm"),
            "port": _port(),
            "ports": _portmap("topology", "ike"),
            **_tls_fields(),
        }),
        "windows_vpn": Field("table", "Windows built-in VPN", table={
            "server": Field("host", "VPN server", required=True),
            "tunnel": Field("enum", "tunnel type", enum=VPN_TUNNELS,
                            default=DEFAULTS["access.windows_vpn.tunnel"]),
            "connection": Field("str", "the Windows VPN connection's name on the workstation"),
            "port": _port(),
            "ports": _portmap("ike", "natt", "pptp"),
        }),
    }),
    "account": Field("table", "the support account", table={
        "username": Field("str", r"account name, e.g. 'DOMAIN\user' or 'user'"),
        "password": Field("secret", "where the password comes from"),
        "ssh_key": Field("path", "private key file for SSH"),
        "known_hosts": Field("path", "known_hosts file for SSH host keys"),
        "min_password_days": Field("int", "warn when the password expires sooner", minimum=0,
                                   maximum=3650, default=DEFAULTS["account.min_password_days"]),
    }),
    "servers": Field("list", "the customer's servers", items=Field("table", table={
        "name": Field("str", "short name, unique", required=True),
        "address": Field("host", "host name or IP address", required=True),
        "roles": Field("list", "what the server does", items=Field("enum", enum=ROLES)),
        "remote": Field("list", "how we reach it", items=Field("enum", enum=REMOTE_METHODS)),
        "services": Field("list", "services / units that must run", items=Field("str")),
        "ssh": Field("table", "SSH settings", table={
            "port": _port(), "known_hosts": Field("path", "known_hosts file")}),
        "rdp": Field("table", "RDP settings", table={"port": _port()}),
        "winrm": Field("table", "WinRM settings", table={
            "transport": Field("enum", "authentication", enum=WINRM_TRANSPORTS,
                               default=DEFAULTS["servers.winrm.transport"]),
            "https": Field("bool", "use HTTPS (5986)", default=DEFAULTS["servers.winrm.https"]),
            "port": _port(),
            **_tls_fields(),
            "allow_insecure_credentials": Field(
                "bool", "true lets the password go over unverified TLS (verify = false), "
                "Basic over HTTP or CredSSP over HTTP; shown at the top of the report",
                default=DEFAULTS["servers.winrm.allow_insecure_credentials"]),
        }),
        "known_hosts": Field("path", "known_hosts file for this server"),
        **_tls_fields(),
    })),
    "adfs": Field("table", "AD FS / WAP", table={
        "federation_service": Field("host", "the federation service name", required=True),
        "cert_warn_days": Field("int", "warn this many days before expiry", minimum=0,
                                maximum=3650, default=DEFAULTS["adfs.cert_warn_days"]),
        "port": _port(),
        "ports": _portmap("https", "http", per_server=True),
        **_tls_fields(),
    }),
    "waivers": Field("list", "findings the customer accepts for a while (e.g. PPTP kept on "
                     "purpose): shown as waived; until 'until' it does not make the run 'with "
                     "warnings' (a blocking failure still blocks)",
                     items=Field("table", table={
                         "check": Field("str", "the check's id, e.g. winvpn.pptp (never "
                                        "admin.agreement or admin.dpa)", required=True),
                         "target": Field("str", "only this target (a server's name, a "
                                         "gateway); default: every target of the check"),
                         "reason": Field("str", "why the customer accepts it", required=True),
                         "until": Field("date", "last day the waiver holds; from the day "
                                        "after, the finding counts again", required=True),
                     })),
    "checks": Field("table", "run settings", table={
        "timeout": Field("float", "seconds per check", minimum=0.1, maximum=3600,
                         default=DEFAULTS["checks.timeout"]),
        "concurrency": Field("int", "checks at once", minimum=1, maximum=1024,
                             default=DEFAULTS["checks.concurrency"]),
        "skip": Field("list", "globs of check ids to skip", items=Field("str")),
        "only": Field("list", "globs of check ids to run", items=Field("str")),
    }),
}


def _schema_of(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.doc:
        out["description"] = f.doc
    if f.kind == "table":
        assert f.table is not None
        out.update({
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _schema_of(v) for k, v in f.table.items()},
        })
        req = [k for k, v in f.table.items() if v.required]
        if req:
            out["required"] = req
    elif f.kind == "list":
        assert f.items is not None
        out.update({"type": "array", "items": _schema_of(f.items)})
    elif f.kind == "enum":
        out.update({"type": "string", "enum": list(f.enum)})
    elif f.kind in ("int", "float"):
        out["type"] = "integer" if f.kind == "int" else "number"
        if f.minimum is not None:
            out["minimum"] = f.minimum
        if f.maximum is not None:
            out["maximum"] = f.maximum
    elif f.kind == "bool":
        out["type"] = "boolean"
    elif f.kind == "date":
        out.update({"type": "string", "format": "date"})
    elif f.kind == "secret":
        out.update({"type": "object", "additionalProperties": False, "minProperties": 1,
                    "maxProperties": 1, "properties": {
                        "env": {"type": "string", "minLength": 1},
                        "keyring": {"type": "string", "minLength": 1},
                        "prompt": {"const": True}}})
    elif f.kind == "portmap":
        names = "|".join(f.enum)
        pattern = (rf"^([^.]+\.)?({names})$" if f.extra.get("per_server")
                   else rf"^({names})$")
        out.update({"type": "object", "propertyNames": {"pattern": pattern},
                    "additionalProperties": {"type": "integer", "minimum": 1,
                                             "maximum": 65535}})
    elif f.kind == "cidr":
        out.update({"type": "string", "pattern": r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$"})
    elif f.kind == "tvid":
        out.update({"type": "string", "pattern": TEAMVIEWER_ID_PATTERN})
    else:  # str, host, hostport, path
        out.update({"type": "string", "minLength": 1})
    if f.default is not None:
        out["default"] = f.default
    return out


def json_schema() -> dict[str, Any]:
    """The profile's JSON Schema (draft 2020-12), derived from :data:`SPEC`."""
    root = _schema_of(Field("table", table=SPEC))
    root.pop("description", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://accessready.invalid/schemas/profile.schema.json",
        "title": "accessready profile",
        **root,
    }
