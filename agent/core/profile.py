"""Loading and validating a profile: TOML in, :class:`Profile` out, or one clear error.

Every mistake becomes a :class:`ProfileError` whose text is one line:
``FILE:LINE: KEY: what is wrong — how to fix it``. Values of secret keys are never echoed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import ipaddress
import math
import re
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from accessready.agent.core.findings import GATING_CHECKS
from accessready.agent.core.profile_spec import SPEC, TEAMVIEWER_ID_PATTERN, Field
from accessready.agent.core.profile_types import (
    Access,
    Account,
    AdfsCfg,
    ChecksCfg,
    Contact,
    Customer,
    Endpoint,
    GatewayCfg,
    Network,
    Profile,
    RdpCfg,
    SecretRef,
    Server,
    SshCfg,
    TeamViewerCfg,
    TlsOptions,
    Waiver,
    WindowsVpnCfg,
    WinrmCfg,
)
from accessready.agent.core.safefile import read_capped

MAX_PROFILE_BYTES = 1 << 20


# A Windows name or path in double quotes: "EXEMPEL\support" fails to parse ("\s" is no
# escape), "C:\Users" fails as a bad \U escape, "C:\new\temp.pem" parses into a line break
# and a tab. Each gets this advice.
BACKSLASH_FIX = ("write Windows names and paths in single quotes ('EXEMPEL\\support', "
                 "'C:\\certs\\x.pem') or double each backslash (\"C:\\\\certs\\\\x.pem\")")
_ESCAPE_ERROR = re.compile(r"Unescaped '\\'|escape|hex value|Unicode scalar", re.I)
_ESCAPED_CONTROL = {"\b": "b", "\t": "t", "\n": "n", "\f": "f", "\r": "r"}


class ProfileError(Exception):
    """A profile mistake, already phrased for the user as one line."""

    def __init__(self, file: str, line: int, key: str, problem: str, fix: str = "") -> None:
        self.file, self.line, self.key, self.problem, self.fix = file, line, key, problem, fix
        where = f"{file}:{line}" if line else file
        text = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        super().__init__(f"{text} — {fix}" if fix else text)


# --- where keys are -------------------------------------------------------------------

# Linear on any line: no two adjacent parts can match the same characters (a header
# line that never closes once cost cubic time), and an inline key starts a word (a long
# word without "=" was retried from each of its letters: quadratic).
_HEADER = re.compile(r"^[ \t]*(\[\[?)([^\]]+)\]\]?[ \t]*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")
_INLINE_KEY = re.compile(r"(?<![A-Za-z0-9_\-])([A-Za-z0-9_\-]+)\s*=")


def _clean_key(part: str) -> str:
    return part.strip().strip("\"'")


class _ArrayScan:
    """Follows one array value across lines, noting the line of each element (and of the
    keys of inline-table elements), so ``contacts[2].email`` points at its own line."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path, self.lines = path, lines
        self.depth = 0
        self.index = -1
        self.expecting = False
        self.quote = ""
        self.closed = False

    def feed(self, text: str, number: int) -> None:
        i = 0
        while i < len(text) and not self.closed:
            ch = text[i]
            if self.quote:
                if ch == "\\" and self.quote == '"':
                    i += 1
                elif ch == self.quote:
                    self.quote = ""
            elif ch == "#":
                return
            elif self.depth == 1 and self.expecting and ch not in " \t,]":
                self.index += 1
                self.expecting = False
                element = f"{self.path}[{self.index}]"
                self.lines.setdefault(element, number)
                if ch == "{":
                    for inner in _INLINE_KEY.finditer(text[i:].split("}", 1)[0]):
                        self.lines.setdefault(f"{element}.{inner.group(1)}", number)
                continue  # look at this character again, now as part of the element
            elif ch in "\"'":
                self.quote = ch
            elif ch in "[{":
                self.depth += 1
                if self.depth == 1:
                    self.expecting = True
            elif ch in "]}":
                self.depth -= 1
                if self.depth == 0:
                    self.closed = True
            elif ch == "," and self.depth == 1:
                self.expecting = True
            i += 1


class LineIndex:
    """Maps a dotted key path such as ``servers[1].winrm.port`` to its line in the file.

    tomllib keeps no positions, so this scans the text: table headers, ``[[array]]``
    headers (counted per path) and ``key =`` lines, plus keys inside one-line inline
    tables. Unknown paths fall back to their nearest known parent.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[str, int] = {}
        counters: dict[str, int] = {}
        table = ""
        arrays: _ArrayScan | None = None  # a multi-line array still open
        for number, line in enumerate(text.splitlines(), start=1):
            if arrays is not None:
                arrays.feed(line, number)
                if arrays.closed:
                    arrays = None
                continue
            header = _HEADER.match(line)
            if header and not line.lstrip().startswith("#"):
                name = ".".join(_clean_key(p) for p in header.group(2).strip().split("."))
                if header.group(1) == "[[":
                    index = counters.get(name, 0)
                    counters[name] = index + 1
                    table = f"{name}[{index}]"
                else:
                    # a sub-table of the latest array entry, e.g. [servers.winrm]
                    parent, _, leaf = name.rpartition(".")
                    table = name
                    if parent in counters:
                        table = f"{parent}[{counters[parent] - 1}].{leaf}"
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = ".".join(_clean_key(p) for p in key.group(1).split("."))
            full = f"{table}.{path}" if table else path
            self.lines.setdefault(full, number)
            rest = line[key.end():]
            if rest.lstrip().startswith("["):
                array = _ArrayScan(full, self.lines)
                array.feed(rest, number)
                if not array.closed:
                    arrays = array
                continue
            if "{" in rest:
                for inner in _INLINE_KEY.finditer(rest):
                    self.lines.setdefault(f"{full}.{inner.group(1)}", number)

    def line_of(self, path: str) -> int:
        """The line of ``path`` or of its nearest parent; 1 when nothing matches."""
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            stripped = re.sub(r"\[\d+\]$", "", probe)
            if stripped != probe:
                probe = stripped
                continue
            probe = probe.rpartition(".")[0]
        return 1


# --- value checks ---------------------------------------------------------------------

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a table", dt.date: "a date", dt.datetime: "a date-time",
}


_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")
_INT_LIMIT = 2 ** 63  # beyond any setting; a float cannot hold much more, str() 4300 digits


def _range_fix(field: Field) -> str:
    low, high = field.minimum, field.maximum
    if low is not None and high is not None:
        return f"use a value from {low:g} to {high:g}"
    if low is not None:
        return f"use a value of at least {low:g}"
    return f"use a value of at most {high:g}" if high is not None else "use a smaller number"


def _type_name(value: Any) -> str:
    for typ, name in _TYPE_NAMES.items():
        if type(value) is typ:
            return name
    return type(value).__name__


def is_hostname(value: str) -> bool:
    """True for an IP literal or an RFC 1123 host name."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if len(value) > 253 or not value:
        return False
    labels = value.rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels)


def parse_endpoint(value: str) -> Endpoint:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 literal → :class:`Endpoint`."""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("bad bracketed IPv6 address")
        port = int(rest[1:]) if rest else None
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = int(port_text)
    else:
        host, port = value, None
    if not is_hostname(host):
        raise ValueError(f"{host!r} is not a host name or IP address")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    return Endpoint(host=host, port=port)


class _Validator:
    """Walks raw TOML data against :data:`SPEC`, raising the first :class:`ProfileError`."""

    def __init__(self, file: str, index: LineIndex) -> None:
        self.file = file
        self.index = index

    def error(self, path: str, problem: str, fix: str = "") -> ProfileError:
        return ProfileError(self.file, self.index.line_of(path), path, problem, fix)

    def table(self, path: str, raw: Any, spec: dict[str, Field]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.error(path, f"expected a table, found {_type_name(raw)}",
                             f"write it as [{path}] or {{ key = value }}")
        for key in raw:
            if key not in spec:
                sub = f"{path}.{key}" if path else key
                close = difflib.get_close_matches(key, list(spec), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else (
                    "known keys: " + ", ".join(spec))
                raise self.error(sub, "unknown key", hint)
        out: dict[str, Any] = {}
        for key, field in spec.items():
            sub = f"{path}.{key}" if path else key
            if key not in raw:
                if field.required:
                    where = f"[{path}]" if path else "the profile"
                    raise self.error(path or key, f"missing required key '{key}'",
                                     f"add {key} = … to {where} ({field.doc})")
                continue
            out[key] = self.value(sub, raw[key], field)
        return out

    def value(self, path: str, raw: Any, field: Field) -> Any:
        kind = field.kind
        if kind == "secret":
            return self.secret(path, raw)
        if kind == "table":
            assert field.table is not None
            return self.table(path, raw, field.table)
        if kind == "list":
            if not isinstance(raw, list):
                raise self.error(path, f"expected a list, found {_type_name(raw)}",
                                 f"write it as {path.rpartition('.')[2]} = [ … ]")
            assert field.items is not None
            return [self.value(f"{path}[{i}]", item, field.items) for i, item in enumerate(raw)]
        if kind == "portmap":
            if not isinstance(raw, dict):
                raise self.error(path, f"expected a table of ports, found {_type_name(raw)}",
                                 "write it as { name = 1234 }")
            for name, port in raw.items():
                self.port_name(f"{path}.{name}", name, field)
                self.value(f"{path}.{name}", port, Field("int", minimum=1, maximum=65535))
            return dict(raw)
        if kind == "bool":
            if not isinstance(raw, bool):
                raise self.error(path, f"expected true or false, found {_type_name(raw)}",
                                 "write true or false without quotes")
            return raw
        if kind in ("int", "float"):
            ok = isinstance(raw, int) and not isinstance(raw, bool)
            if kind == "float":
                ok = ok or isinstance(raw, float)
            if not ok:
                raise self.error(path, f"expected {'an integer' if kind == 'int' else 'a number'}"
                                 f", found {_type_name(raw)}", "write the number without quotes")
            if isinstance(raw, int) and not -_INT_LIMIT <= raw < _INT_LIMIT:
                # before float() (OverflowError) or str() (4300 digits at most) is tried
                raise self.error(path, "a number of more than 18 digits is out of range",
                                 _range_fix(field))
            if not math.isfinite(raw):
                raise self.error(path, f"{raw} is not a finite number", _range_fix(field))
            if (field.minimum is not None and raw < field.minimum) or (
                    field.maximum is not None and raw > field.maximum):
                raise self.error(path, f"{raw} is out of range", _range_fix(field))
            return raw
        if kind == "date":
            if isinstance(raw, dt.datetime):
                return raw.date()
            if isinstance(raw, dt.date):
                return raw
            if isinstance(raw, str):
                raise self.error(path, "a date must not be quoted",
                                 f"write {path.rpartition('.')[2]} = 2026-06-30 (no quotes)")
            raise self.error(path, f"expected a date, found {_type_name(raw)}",
                             "write a date as 2026-06-30")
        if not isinstance(raw, str):
            raise self.error(path, f"expected a string, found {_type_name(raw)}",
                             "put the value in quotes")
        if not raw.strip():
            raise self.error(path, "is empty", "fill it in or remove the key")
        if kind == "enum":
            if raw not in field.enum:
                close = difflib.get_close_matches(raw, field.enum, n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise self.error(path, f"'{raw}' is not allowed",
                                 f"{hint}use one of: {', '.join(field.enum)}")
            return raw
        if kind == "host":
            if not is_hostname(raw):
                raise self.error(path, f"'{raw}' is not a host name or IP address",
                                 "write a name such as vpn.example.se or an address such as "
                                 "192.0.2.10")
            return raw
        if kind == "hostport":
            try:
                return parse_endpoint(raw)
            except ValueError as exc:
                raise self.error(path, f"'{raw}' is not an address: {exc}",
                                 'write "host" or "host:port", e.g. "192.0.2.53:53"') from None
        if kind == "cidr":
            try:
                return ipaddress.ip_network(raw, strict=True)
            except ValueError:
                try:
                    fixed = ipaddress.ip_network(raw, strict=False)
                except ValueError:
                    raise self.error(path, f"'{raw}' is not a network",
                                     "write a CIDR such as 192.0.2.0/24") from None
                raise self.error(path, f"'{raw}' has host bits set",
                                 f"did you mean '{fixed}'?") from None
        escaped = next((c for c in raw if c in _ESCAPED_CONTROL), None)
        if escaped is not None:
            # Never echo the value; name the escape that most likely made the character.
            letter = _ESCAPED_CONTROL[escaped]
            raise self.error(path, f"holds a control character, which \\{letter} makes in a "
                             "double-quoted string", BACKSLASH_FIX)
        if kind == "tvid":
            if not re.fullmatch(TEAMVIEWER_ID_PATTERN, raw):
                found = (f"{sum(ch.isdigit() for ch in raw)} digits"
                         if set(raw) <= set("0123456789 ") else
                         "characters other than digits and spaces")
                raise self.error(path, f"'{raw}' is not a TeamViewer ID ({found})",
                                 "copy the 9- or 10-digit ID TeamViewer shows on the host, "
                                 'e.g. "1 234 567 890"')
            return raw
        return raw  # str, path

    def port_name(self, path: str, name: str, field: Field) -> None:
        """A port map's key must name a port the method uses (else it would be ignored)."""
        base = name.rpartition(".")[2] if field.extra.get("per_server") else name
        if base in field.enum:
            return
        close = difflib.get_close_matches(base, field.enum, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise self.error(path, f"'{name}' is not a port this method uses",
                         f"{hint}use: {', '.join(field.enum)}")

    def secret(self, path: str, raw: Any) -> SecretRef:
        how = ('use password = { env = "ACCESSREADY_PASSWORD" }, { keyring = "name" } '
               "or { prompt = true }")
        if isinstance(raw, str):
            # Never echo the value: it may be a real password.
            raise self.error(path, "a password must not be written in the profile", how)
        if not isinstance(raw, dict) or len(raw) != 1:
            raise self.error(path, "must name exactly one source of the password", how)
        (source, name), = raw.items()
        if source == "prompt":
            if name is not True:
                raise self.error(path, "prompt must be true", "write { prompt = true }")
            return SecretRef("prompt")
        if source not in ("env", "keyring"):
            close = difflib.get_close_matches(source, ["env", "keyring", "prompt"], n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise self.error(f"{path}.{source}", "unknown password source", hint + how)
        if not isinstance(name, str) or not name.strip():
            raise self.error(f"{path}.{source}", "must be a non-empty name", how)
        if source == "env" and (not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
                                or looks_like_a_password(name)):
            # The value is not echoed: people paste the password itself here by mistake.
            raise self.error(f"{path}.env", "does not look like an environment variable "
                             "name (it may be the password itself, so it is not shown)",
                             "name the variable with letters, digits and _, e.g. "
                             "ACCESSREADY_PASSWORD, and put the password in it")
        return SecretRef(source, name)


def looks_like_a_password(name: str) -> bool:
    """Does a syntactically valid variable name look like a pasted password? Very long,
    or a part (between ``_``) mixing lower case, upper case and digits (``Sommar2026``),
    or with digits between letters (``p4ssw0rd``). Ordinary names (``ACCESSREADY_PW``,
    ``ProgramFiles``, ``X509_CERT``, ``pw2``) pass."""
    if len(name) > 64:
        return True
    for part in name.split("_"):
        classes = (any(c.islower() for c in part), any(c.isupper() for c in part),
                   any(c.isdigit() for c in part))
        if all(classes) or re.search(r"[A-Za-z][0-9]+[A-Za-z]", part):
            return True
    return False


# --- building the typed profile -------------------------------------------------------

def _tls(data: dict[str, Any]) -> TlsOptions:
    return TlsOptions(ca_file=data.get("ca_file"), verify=data.get("verify", True))


def _gateway(data: dict[str, Any] | None) -> GatewayCfg | None:
    if data is None:
        return None
    return GatewayCfg(gateway=data["gateway"], group=data.get("group"),
                      port=data.get("port", 443), ports=data.get("ports", {}), tls=_tls(data))


def _build(path: str, data: dict[str, Any]) -> Profile:
    c = data["customer"]
    customer = Customer(
        name=c["name"], agreement=c.get("agreement"),
        agreement_valid_until=c.get("agreement_valid_until"), dpa_signed=c.get("dpa_signed"),
        support_email=c.get("support_email"), support_phone=c.get("support_phone"),
        maintenance_contact=c.get("maintenance_contact"),
        contacts=tuple(Contact(**x) for x in c.get("contacts", [])), lang=c.get("lang"))
    n = data.get("network", {})
    network = Network(
        internal_resolvers=tuple(n.get("internal_resolvers", [])),
        external_resolvers=tuple(n.get("external_resolvers", [])),
        internal_subnets=tuple(n.get("internal_subnets", [])),
        internet_probe=n.get("internet_probe"))
    a = data["access"]
    tv = a.get("teamviewer")
    teamviewer = None
    if tv is not None or "teamviewer" in a["methods"]:
        tv = tv or {}
        default = TeamViewerCfg()
        teamviewer = TeamViewerCfg(
            id=tv.get("id"),
            routers=tuple(str(e) for e in tv["routers"]) if "routers" in tv else default.routers,
            ports=tuple(tv.get("ports", default.ports)), server=tv.get("server"))
    wv = a.get("windows_vpn")
    access = Access(
        methods=tuple(dict.fromkeys(a["methods"])), teamviewer=teamviewer,
        anyconnect=_gateway(a.get("anyconnect")), checkpoint=_gateway(a.get("checkpoint")),
        windows_vpn=WindowsVpnCfg(server=wv["server"], tunnel=wv.get("tunnel", "ikev2"),
                                  connection=wv.get("connection"), port=wv.get("port"),
                                  ports=wv.get("ports", {})) if wv else None)
    ac = data.get("account", {})
    account = Account(username=ac.get("username"), password=ac.get("password"),
                      ssh_key=ac.get("ssh_key"), known_hosts=ac.get("known_hosts"),
                      min_password_days=ac.get("min_password_days", 14))
    servers = []
    for s in data.get("servers", []):
        w = s.get("winrm", {})
        servers.append(Server(
            name=s["name"], address=s["address"], roles=tuple(s.get("roles", [])),
            remote=tuple(dict.fromkeys(s.get("remote", []))),
            services=tuple(s.get("services", [])),
            ssh=SshCfg(port=s.get("ssh", {}).get("port", 22),
                       known_hosts=s.get("ssh", {}).get("known_hosts")),
            rdp=RdpCfg(port=s.get("rdp", {}).get("port", 3389)),
            winrm=WinrmCfg(transport=w.get("transport", "ntlm"), https=w.get("https", True),
                           port=w.get("port"), tls=_tls(w),
                           allow_insecure_credentials=w.get("allow_insecure_credentials",
                                                            False)),
            known_hosts=s.get("known_hosts"), tls=_tls(s)))
    ad = data.get("adfs")
    adfs = AdfsCfg(federation_service=ad["federation_service"],
                   cert_warn_days=ad.get("cert_warn_days", 30), port=ad.get("port", 443),
                   ports=ad.get("ports", {}), tls=_tls(ad)) if ad else None
    ch = data.get("checks", {})
    checks = ChecksCfg(timeout=float(ch.get("timeout", 10)),
                       concurrency=ch.get("concurrency", 32),
                       skip=tuple(ch.get("skip", [])), only=tuple(ch.get("only", [])))
    return Profile(path=path, customer=customer, network=network, access=access,
                   account=account, servers=tuple(servers), adfs=adfs, checks=checks, raw=data)


_METHOD_NEEDS = {"anyconnect": "gateway", "checkpoint": "gateway", "windows_vpn": "server"}


def _cross_check(v: _Validator, data: dict[str, Any]) -> None:
    """Rules that span keys: method tables present, unique names, reachable servers."""
    access = data["access"]
    if not access["methods"]:
        raise v.error("access.methods", "no access method is offered",
                      'name at least one, e.g. methods = ["anyconnect"]')
    for method in access["methods"]:
        if method in _METHOD_NEEDS and method not in access:
            raise v.error("access.methods", f"'{method}' is offered but [access.{method}] "
                          "is missing", f"add [access.{method}] with "
                          f"{_METHOD_NEEDS[method]} = \"…\"")
    names: dict[str, int] = {}
    for i, server in enumerate(data.get("servers", [])):
        if server["name"] in names:
            raise v.error(f"servers[{i}].name", f"'{server['name']}' is used twice "
                          f"(first in servers[{names[server['name']]}])",
                          "give every server a unique name")
        names[server["name"]] = i
        if {"adfs", "wap"} & set(server.get("roles", [])) and not server.get("remote"):
            raise v.error(f"servers[{i}].remote", "an AD FS or WAP server needs a remote "
                          "method", 'add remote = ["rdp", "winrm"]')
    for key in data.get("adfs", {}).get("ports", {}):
        server_name = key.rpartition(".")[0]
        if server_name and server_name not in names:
            raise v.error(f"adfs.ports.{key}", f"no server is named '{server_name}'",
                          'use the name of a [[servers]] entry, e.g. "adfs01.https"')
    tv_server = access.get("teamviewer", {}).get("server")
    if tv_server and tv_server not in names:
        raise v.error("access.teamviewer.server", f"no server is named '{tv_server}'",
                      "use the name of a [[servers]] entry")
    subnets = data.get("network", {}).get("internal_subnets", [])
    probe = data.get("network", {}).get("internet_probe")
    if probe:
        try:
            address = ipaddress.ip_address(probe)
        except ValueError:
            address = None
        if address is not None and any(address in net for net in subnets):
            raise v.error("network.internet_probe", f"{probe} lies inside internal_subnets",
                          "choose an address on the internet, outside the customer network")


MAX_DOTS_PER_LINE = 64
"""Most dots outside strings on one line. tomllib's time grows with the square of a dotted
key's parts (200,000 parts: hours); a profile's keys have a handful."""

# a string literal, or what is left of one that does not close on its line (never
# backtracks: an unclosed quote simply takes the rest of the line)
_STRING_LITERAL = re.compile(r""""(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?""")


def _check_key_depth(text: str, path: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") > MAX_DOTS_PER_LINE and \
                _STRING_LITERAL.sub("", line).count(".") > MAX_DOTS_PER_LINE:
            raise ProfileError(path, number, "", f"more than {MAX_DOTS_PER_LINE} dots outside "
                               "strings on one line: no profile key or table nests that deep",
                               "write keys and table names with a few dotted parts at most")


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _waivers(index: LineIndex, data: dict[str, Any]) -> tuple[Waiver, ...]:
    return tuple(Waiver(check=w["check"], reason=w["reason"], until=w["until"],
                        target=w.get("target"), line=index.line_of(f"waivers[{i}]"),
                        check_line=index.line_of(f"waivers[{i}].check"),
                        until_line=index.line_of(f"waivers[{i}].until"))
                 for i, w in enumerate(data.get("waivers", [])))


def _refuse_unwaivable(profile: Profile) -> None:
    for i, w in enumerate(profile.waivers):
        if w.check in GATING_CHECKS:  # conditions for support, not risks to accept
            raise ProfileError(profile.path, w.check_line, f"waivers[{i}].check",
                               f"{w.check} cannot be waived: a support agreement and a signed "
                               "DPA are conditions for support; they cannot be waived",
                               "remove this waiver and put the agreement or DPA in place")


def expired_waivers(profile: Profile, today: dt.date | None = None) -> list[ProfileError]:
    """One error per waiver whose ``until`` lies before ``today`` (default: today here)."""
    day = today or dt.date.today()
    return [ProfileError(profile.path, w.until_line, f"waivers[{i}].until",
                         f"the waiver of {w.check} ran out on {w.until} (today is {day}); its "
                         "finding counts again", "renew it with a new until date and reason, "
                         "or remove it")
            for i, w in enumerate(profile.waivers) if w.until < day]


def check_waivers(profile: Profile, known: Collection[str]) -> None:
    """Raise :class:`ProfileError` for a waiver naming no check in ``known`` (the
    registered check ids), with the closest id as a hint."""
    for i, w in enumerate(profile.waivers):
        if w.check in known:
            continue
        close = difflib.get_close_matches(w.check, sorted(known), n=1, cutoff=0.6)
        hint = (f"did you mean '{close[0]}'?" if close else
                "use an id that `accessready checks` lists, e.g. winvpn.pptp")
        raise ProfileError(profile.path, w.check_line, f"waivers[{i}].check",
                           f"no check is named '{w.check}'", hint)


def parse_profile(text: str, path: str = "profile.toml", *,
                  allow_expired_waivers: bool = False) -> Profile:
    """Validate ``text`` (the profile's TOML) and return the typed :class:`Profile`.

    A waiver past its ``until`` date is an error (what ``validate`` reports) unless
    ``allow_expired_waivers``: a run goes on, and the finding counts again.
    """
    text = text.removeprefix("\ufeff")  # Windows PowerShell 5.1 writes UTF-8 with a BOM
    _check_key_depth(text, path)
    try:
        raw = tomllib.loads(text)
    except RecursionError:
        raise ProfileError(path, 1, "", "the file nests too deeply to be a profile",
                           "write tables and lists at most a few levels deep") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else 1
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        if what == "Illegal character '\\n'":  # tomllib's words for an unclosed string
            what = "a string is not closed (missing \")"
        fix = "fix the syntax (strings need quotes, tables [name])"
        if _ESCAPE_ERROR.search(what) and "\\" in _line_text(text, line):
            fix = f"in \"…\" a backslash starts an escape: {BACKSLASH_FIX}"
        if match:
            what += f" at column {match.group(2)}"
        raise ProfileError(path, line, "", f"TOML syntax error: {what}", fix) from None
    except ValueError:  # tomllib's int(): a number of more than 4300 digits
        long_number = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, long_number.start()) + 1 if long_number else 0
        raise ProfileError(path, line, "", "TOML syntax error: a number far too long to "
                           "read", "write a number of a few digits") from None
    index = LineIndex(text)
    validator = _Validator(path, index)
    data = validator.table("", raw, SPEC)
    _cross_check(validator, data)
    profile = dataclasses.replace(_build(path, data), waivers=_waivers(index, data))
    _refuse_unwaivable(profile)
    expired = expired_waivers(profile)
    if expired and not allow_expired_waivers:
        raise expired[0]
    return profile


def load_profile(path: str | Path, *, allow_expired_waivers: bool = False) -> Profile:
    """Read and validate the profile at ``path`` (see :func:`parse_profile`)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ProfileError(str(p), 0, "", "is a folder, not a profile file",
                               "pass the .toml file itself")
        data = read_capped(p, MAX_PROFILE_BYTES)
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(str(p), 0, "", f"is larger than {MAX_PROFILE_BYTES // 1024} KiB"
                               ", far more than any profile", "pass the right file")
    except FileNotFoundError:
        raise ProfileError(str(p), 0, "", "no such file",
                           "check the path, or create one with `accessready init`") from None
    except OSError as exc:
        raise ProfileError(str(p), 0, "", f"cannot read the file: {exc.strerror}",
                           "check the path and its permissions") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileError(str(p), line, "", "the file is not UTF-8",
                           "save it as UTF-8") from None
    return parse_profile(text, str(p), allow_expired_waivers=allow_expired_waivers)
