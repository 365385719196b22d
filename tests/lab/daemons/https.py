"""HTTPS hosts for AD FS (inside) and the Web Application Proxy (DMZ), and the public site.

They serve the unauthenticated AD FS endpoints accessready probes — ``/adfs/probe``, federation
metadata (with the token-signing certificate), the OpenID configuration and the IdP-initiated
sign-on page — with certificates from the lab CA. The WAP host also offers the certificate
variants on extra ports (see ``WAP_CERT_PORTS``). The process is ``httpsd.py`` run by this
Python, in the host's namespace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Daemon

if TYPE_CHECKING:
    from ..core import Lab

WAP_CERT_PORTS = {
    "sts": 443,
    "sts_expiring": 4431,
    "sts_expired": 4432,
    "sts_wrong_name": 4433,
    "sts_self_signed": 4434,
}
PUBLIC_PORTS = {"http": 80, "https_raw": 443, "teamviewer": 5938}
_SCRIPT = Path(__file__).with_name("httpsd.py")


def adfs_routes(lab: Lab, role: str) -> dict[str, dict[str, Any]]:
    """The canned AD FS endpoints (the WAP publishes the same paths)."""
    sts = f"sts.{lab.zone}"
    signing = lab.certs["token_signing"].der_base64()
    entity = f"http://{sts}/adfs/services/trust"
    metadata = f"""<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="_lab-metadata" entityID="{entity}" \
xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">\
<X509Data><X509Certificate>{signing}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" \
Location="https://{sts}/adfs/ls/"/>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" \
Location="https://{sts}/adfs/ls/"/>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" \
Location="https://{sts}/adfs/ls/"/>
</IDPSSODescriptor>
</EntityDescriptor>
"""
    openid = {
        "issuer": f"https://{sts}/adfs",
        "authorization_endpoint": f"https://{sts}/adfs/oauth2/authorize/",
        "token_endpoint": f"https://{sts}/adfs/oauth2/token/",
        "jwks_uri": f"https://{sts}/adfs/discovery/keys",
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    keys = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "x5c": [signing]}]}
    signon = (
        "<!DOCTYPE html><html><head><title>Sign In</title></head><body>"
        f"<form method='post' id='idpForm'>AD FS lab ({role})</form></body></html>"
    )
    return {
        "/adfs/probe": {"status": 200, "type": "text/plain", "body": ""},
        "/federationmetadata/2007-06/federationmetadata.xml": {
            "type": "text/xml; charset=utf-8",
            "body": metadata,
        },
        "/adfs/.well-known/openid-configuration": {
            "type": "application/json; charset=utf-8",
            "body": json.dumps(openid),
        },
        "/adfs/discovery/keys": {"type": "application/json", "body": json.dumps(keys)},
        "/adfs/ls/idpinitiatedsignon.aspx": {"body": signon},
        "/adfs/ls/idpinitiatedsignon": {"body": signon},
    }


class WebHost(Daemon):
    """One ``httpsd.py`` process; ``role`` is ``adfs``, ``wap`` or ``public``."""

    kind = "https"

    def __init__(self, lab: Lab, host: str, role: str) -> None:
        super().__init__(lab, host)
        self.role = role
        self.ports: dict[str, int] = {}

    def _listeners(self) -> list[dict[str, Any]]:
        address = self.host.address
        if self.role == "public":
            self.ports = dict(PUBLIC_PORTS)
            address = self.host.extra_addresses[0]
            return [
                {"address": address, "port": PUBLIC_PORTS["http"], "tls": False},
                {"address": address, "port": PUBLIC_PORTS["https_raw"], "raw": True},
                {"address": address, "port": PUBLIC_PORTS["teamviewer"], "raw": True},
            ]
        variants = WAP_CERT_PORTS if self.role == "wap" else {"sts": 443}
        self.ports = dict(variants)
        return [
            {
                "address": address,
                "port": port,
                "cert": str(self.lab.certs[name].cert),
                "key": str(self.lab.certs[name].key),
            }
            for name, port in variants.items()
        ]

    def prepare(self) -> None:
        """The JSON config httpsd.py reads."""
        super().prepare()
        if self.role == "public":
            routes: dict[str, dict[str, Any]] = {
                "/": {"body": "<!DOCTYPE html><title>public site</title><p>lab internet</p>"}
            }
        else:
            routes = adfs_routes(self.lab, self.role)
        config = {"listeners": self._listeners(), "routes": routes}
        (self.dir / "httpsd.json").write_text(json.dumps(config, indent=1))

    def command(self) -> list[str]:
        """This Python, the standalone server script."""
        return [sys.executable, "-I", str(_SCRIPT), str(self.dir / "httpsd.json")]

    def ready(self) -> bool:
        """The script prints "httpsd ready" after binding every listener."""
        try:
            return "httpsd ready" in self.log_file.read_text()
        except OSError:
            return False

    def describe(self) -> dict[str, object]:
        """Adds role and ports."""
        return {**super().describe(), "role": self.role, "ports": dict(self.ports)}
