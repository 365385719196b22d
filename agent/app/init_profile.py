"""``accessready init``: a commented starting profile, from flags or questions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from accessready.agent.core.profile_spec import ACCESS_METHODS


@dataclass(frozen=True)
class InitAnswers:
    """What the user told ``init`` (None: not asked or not answered)."""

    customer: str | None = None
    methods: str | None = None
    gateway: str | None = None
    username: str | None = None
    federation_service: str | None = None
    teamviewer_server: str | None = None  # asked only when TeamViewer is offered


def ask_missing(answers: InitAnswers, prompt: Callable[..., str]) -> InitAnswers:
    """Ask for each answer the flags left out (on a terminal)."""
    questions = {
        "customer": ("Customer name", "Exempel kommun"),
        "methods": (f"Access methods ({', '.join(ACCESS_METHODS)})", "anyconnect"),
        "gateway": ("VPN gateway host name", "vpn.exempel.se"),
        "username": ("Support account", "EXEMPEL\\support"),
        "federation_service": ("AD FS federation service name", "sts.exempel.se"),
    }
    for key, (text, default) in questions.items():
        if getattr(answers, key) is None:
            answers = replace(answers, **{key: prompt(text, default=default)})
    if "teamviewer" in _methods(answers) and answers.teamviewer_server is None:
        # teamviewer.host examines this server over WinRM; without it only a self-check on
        # the host itself can (the engineer's laptop is not the host)
        answers = replace(answers, teamviewer_server=prompt(
            "Server where TeamViewer Host runs (its name among the servers)",
            default=TEMPLATE_SERVER))
    return answers


TEMPLATE_SERVER = "adfs01"
"""The one [[servers]] entry the template always has."""


def _methods(a: InitAnswers) -> list[str]:
    return [m.strip() for m in (a.methods or "anyconnect").split(",") if m.strip()]


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_profile(a: InitAnswers) -> str:
    """The profile text; every section commented so it can be edited by hand."""
    methods = _methods(a)
    gateway = a.gateway or "vpn.exempel.se"
    tv_server = (a.teamviewer_server or "").strip() or TEMPLATE_SERVER
    blocks = {
        "teamviewer": '[access.teamviewer]\nid = "1 234 567 890"          '
                      "# the TeamViewer ID of the customer's host (9-10 digits)\n"
                      f"server = {_q(tv_server)}                  "
                      "# the [[servers]] entry where TeamViewer Host runs (over WinRM)\n",
        "anyconnect": f"[access.anyconnect]\ngateway = {_q(gateway)}\n"
                      'group = "Leverantorer"            # the connection profile offered to us\n',
        "checkpoint": f"[access.checkpoint]\ngateway = {_q(gateway)}\n",
        "windows_vpn": f"[access.windows_vpn]\nserver = {_q(gateway)}\n"
                       'tunnel = "ikev2"                   # ikev2 | l2tp | pptp\n'
                       'connection = "Kund VPN"            # the VPN connection\'s name in '
                       "Windows\n",
    }
    access = "\n".join(blocks[m] for m in methods if m in blocks)
    user = _q(a.username or "EXEMPEL\\support")
    tv_host = ""
    if "teamviewer" in methods and tv_server != TEMPLATE_SERVER:
        tv_host = f"""
[[servers]]
name = {_q(tv_server)}
address = {_q(tv_server)}                  # host name or IP address
roles = ["other"]
remote = ["winrm"]                         # teamviewer.host reads it over WinRM
winrm = {{ transport = "ntlm", https = true, port = 5986 }}
"""
    return f"""# accessready profile — see `accessready checks` and the README's profile reference.
# Validate with: accessready validate THIS_FILE

[customer]
name = {_q(a.customer or "Exempel kommun")}
# Support cannot start without these two (admin.agreement, admin.dpa): until they are
# filled in from the real documents, every run says "not ready".
# agreement = "SA-2026-001"               # the support agreement's reference
# agreement_valid_until = 2027-06-30      # its last day: a TOML date, no quotes
# dpa_signed = 2026-01-15                 # the day the data-processing agreement was signed
support_email = "it-support@exempel.se"
support_phone = "+46 10 123 45 67"
maintenance_contact = "it-drift@exempel.se"
contacts = [{{ name = "Anna Andersson", email = "anna@exempel.se", phone = "+46 70 123 45 67" }}]

[network]
internal_resolvers = []                    # DNS servers inside the customer network
external_resolvers = []                    # empty: the system resolver
internal_subnets = ["192.0.2.0/24"]        # must go through the tunnel
internet_probe = "203.0.113.10"            # must NOT go through the tunnel (nothing is sent)

[access]
methods = [{", ".join(_q(m) for m in methods)}]   # offered; at least one must pass

{access}
[account]
username = {user}
password = {{ env = "ACCESSREADY_PASSWORD" }}  # or {{ keyring = "exempel" }}, {{ prompt = true }}
min_password_days = 14

[[servers]]
name = "adfs01"
address = "adfs01.exempel.local"
roles = ["adfs"]                           # adfs | wap | sync | other
remote = ["rdp", "winrm"]                  # rdp | winrm | ssh
winrm = {{ transport = "ntlm", https = true, port = 5986 }}
{tv_host}
[adfs]
federation_service = {_q(a.federation_service or "sts.exempel.se")}
cert_warn_days = 30

[checks]
timeout = 10                               # seconds per check
concurrency = 32
skip = []                                  # globs of check ids
"""
