"""Validating a profile: raw TOML data checked against the spec, one error at a time.

:class:`Validator` walks the data against :data:`~accessready.agent.core.profile_spec.SPEC`
(types, ranges, host names, secrets); :func:`cross_check` then applies the rules that span
keys. The first mistake raises a one-line
:class:`~accessready.agent.core.profile_text.ProfileError`; values of secret keys are never
echoed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import math
import re
from typing import Any

from accessready.agent.core.profile_spec import TEAMVIEWER_ID_PATTERN, Field
from accessready.agent.core.profile_text import BACKSLASH_FIX, LineIndex, ProfileError
from accessready.agent.core.profile_types import Endpoint, SecretRef

_ESCAPED_CONTROL = {"\b": "b", "\t": "t", "\n": "n", "\f": "f", "\r": "r"}
_ESCAPED_CONTROL_RE = re.compile("[" + "".join(_ESCAPED_CONTROL) + "]")

# --- value checks ---------------------------------------------------------------------

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a table", dt.date: "a date", dt.datetime: "a date-time",
}


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
    # names first: an IP literal that is no name is tried after (a failed parse raises,
    # and raising twice for every host name cost more than the rest of its check)
    if 0 < len(value) <= 253 and all(
            _HOST_LABEL.match(label) for label in value.rstrip(".").split(".")):
        return True
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


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


class Validator:
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
            if key not in raw:
                if field.required:
                    where = f"[{path}]" if path else "the profile"
                    raise self.error(path or key, f"missing required key '{key}'",
                                     f"add {key} = … to {where} ({field.doc})")
                continue
            out[key] = self.value(f"{path}.{key}" if path else key, raw[key], field)
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
        escaped = _ESCAPED_CONTROL_RE.search(raw)
        if escaped is not None:
            # Never echo the value; name the escape that most likely made the character.
            letter = _ESCAPED_CONTROL[escaped.group()]
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



_METHOD_NEEDS = {"anyconnect": "gateway", "checkpoint": "gateway", "windows_vpn": "server"}
COMMAND_METHODS = frozenset({"winrm", "ssh"})
"""The remote methods that run commands: what reading a server's services needs."""


def cross_check(v: Validator, data: dict[str, Any]) -> None:
    """Rules that span keys: method tables present, unique names, reachable servers, a
    command method wherever one is needed (services; the TeamViewer host over WinRM)."""
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
        # Services are read over a command method: without one, every run would end in
        # an error about us, never a finding about the server. The profile is what is wrong.
        if server.get("services") and not COMMAND_METHODS & set(server.get("remote", [])):
            raise v.error(f"servers[{i}].remote", f"server '{server['name']}' lists services "
                          "but no command method to read them (neither winrm nor ssh)",
                          'add "winrm" (Windows) or "ssh" (Linux) to remote, or remove '
                          "services")
    for key in data.get("adfs", {}).get("ports", {}):
        server_name = key.rpartition(".")[0]
        if server_name and server_name not in names:
            raise v.error(f"adfs.ports.{key}", f"no server is named '{server_name}'",
                          'use the name of a [[servers]] entry, e.g. "adfs01.https"')
    tv_server = access.get("teamviewer", {}).get("server")
    if tv_server and tv_server not in names:
        raise v.error("access.teamviewer.server", f"no server is named '{tv_server}'",
                      "use the name of a [[servers]] entry")
    if tv_server and "winrm" not in data["servers"][names[tv_server]].get("remote", []):
        raise v.error("access.teamviewer.server", f"server '{tv_server}' has no winrm in its "
                      "remote list, and teamviewer.host examines TeamViewer Host there over "
                      "WinRM", f'add "winrm" to remote in servers[{names[tv_server]}] '
                      f"({tv_server}), or name the server where TeamViewer Host runs")
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
