"""What the AD FS checks seen from outside the servers (adfs.dns, adfs.tls, adfs.metadata,
adfs.probe, adfs.clock_skew) say they found, in English and Swedish: one table per check,
keyed by the finding, so each check's decisions read as code. ``{name}`` marks a value the
check fills in with :func:`said`. What the reader should do is in :mod:`.remediation`.
"""

from __future__ import annotations

from accessready.agent.core.model import Text, t


def said(text: Text, **values: object) -> Text:
    """``text`` with its ``{placeholders}`` filled in, in both languages; a :class:`Text`
    value is put in the same language as the sentence around it."""
    def fill(lang: str) -> str:
        return text.get(lang).format(**{k: v.get(lang) if isinstance(v, Text) else v
                                        for k, v in values.items()})
    return t(fill("en"), fill("sv"))


TLS_SAID: dict[str, Text] = {
    "unresolved": t(
        "{fs} does not resolve here, so its certificate cannot be checked (see adfs.dns).",
        "{fs} går inte att slå upp härifrån, så certifikatet kan inte kontrolleras "
        "(se adfs.dns)."),
    "served": t("{subject} valid until {end} ({days} days), {trust}, {version}.",
                "{subject} giltigt till {end} ({days} dagar), {trust}, {version}."),
    "trusted": t("trusted chain", "betrodd kedja"),
    "not_verified": t("chain not verified", "kedjan ej verifierad"),
    "no_tls": t("No TLS connection: {why}.", "Ingen TLS-anslutning: {why}."),
    "no_binding": t("The server reset the TLS handshake even with SNI: {why}.",
                    "Servern återställde TLS-handskakningen trots SNI: {why}."),
    "old_tls_alert": t(
        "The server does not offer TLS 1.2 or newer: it answers a TLS 1.2/1.3 handshake "
        "with a protocol-version alert.",
        "Servern erbjuder inte TLS 1.2 eller senare: den svarar på en TLS 1.2/1.3-"
        "handskakning med ett larm om protokollversion."),
    "handshake": t("The TLS handshake failed: {why}.",
                   "TLS-handskakningen misslyckades: {why}."),
    "sni_refused": t(
        "Without SNI the server refuses TLS, as AD FS and WAP do by default (information).",
        "Utan SNI vägrar servern TLS, som AD FS och WAP gör som standard (information)."),
    "sni_answered": t("It also answers without SNI (a fallback binding exists).",
                      "Den svarar även utan SNI (det finns en reservbindning)."),
    "verify_off": t("Certificate verification is OFF in the profile (verify = false).",
                    "Certifikatkontrollen är AVSTÄNGD i profilen (verify = false)."),
    "no_certificate": t("The server sent no readable certificate.",
                        "Servern skickade inget läsbart certifikat."),
    "name_mismatch": t("The certificate does not cover {fs} (it names {names}).",
                       "Certifikatet gäller inte {fs} (det anger {names})."),
    "weak_tls": t(
        "A current TLS client refuses the handshake ({error}): weak ciphers, keys or "
        "signatures; trust was not checked.",
        "En aktuell TLS-klient vägrar handskakningen ({error}): svaga chiffer, nycklar eller "
        "signaturer; tilliten kontrollerades inte."),
    "self_signed": t("The certificate is self-signed.", "Certifikatet är självsignerat."),
    "untrusted": t("This machine does not trust its issuer ({issuer}): {error}.",
                   "Den här datorn litar inte på utfärdaren ({issuer}): {error}."),
    "old_tls": t("Only {version} was negotiated; TLS 1.2 or newer is needed.",
                 "Endast {version} förhandlades; TLS 1.2 eller senare krävs."),
}


DNS_SAID: dict[str, Text] = {
    "answers": t("{fs}: inside → {inside}, outside → {outside}.",
                 "{fs}: internt → {inside}, externt → {outside}."),
    "outside_only": t("{fs} → {outside} (no internal resolvers configured).",
                      "{fs} → {outside} (inga interna DNS-servrar angivna)."),
    "missing_external": t(
        "It does not resolve outside: users on the Internet cannot reach the sign-in page.",
        "Namnet går inte att slå upp externt: användare på internet når inte "
        "inloggningssidan."),
    "external_silent": t("The external resolvers did not answer.",
                         "De externa DNS-servrarna svarade inte."),
    "missing_internal": t(
        "It does not resolve inside: the WAP and internal clients cannot find AD FS.",
        "Namnet går inte att slå upp internt: WAP och interna klienter hittar inte AD FS."),
    "internal_silent": t("The internal resolvers did not answer.",
                         "De interna DNS-servrarna svarade inte."),
    "cname": t("Inside it is a CNAME (→ {target}).", "Internt är det en CNAME (→ {target})."),
    "outside_to_adfs": t("The outside answer is an AD FS server itself, not the WAP.",
                         "Det externa svaret är en AD FS-server, inte WAP."),
    "inside_to_wap": t("The inside answer is the WAP, not the AD FS farm.",
                       "Det interna svaret är WAP, inte AD FS-servrarna."),
    "no_split": t("Inside and outside get the same answer: no split-brain DNS.",
                  "Internt och externt ges samma svar: ingen delad DNS (split-brain)."),
    "inside_unlisted": t(
        "The inside address is not a listed AD FS server (a load balancer?).",
        "Den interna adressen är ingen angiven AD FS-server (en lastbalanserare?)."),
    "outside_unlisted": t(
        "The outside address is not a listed WAP (public NAT or a load balancer?).",
        "Den externa adressen är ingen angiven WAP (publik NAT eller lastbalanserare?)."),
}


UNRESOLVED = t("The federation service name does not resolve here (see adfs.dns).",
               "Federationstjänstens namn går inte att slå upp härifrån (se adfs.dns).")

PROBE_SAID: dict[str, Text] = {
    "unresolved": UNRESOLVED,
    "unknown": t("{name}: /adfs/probe could not be reached from here ({shown}).",
                 "{name}: /adfs/probe gick inte att nå härifrån ({shown})."),
    "down": t("{name}: /adfs/probe failed ({shown}); no {name} node answers: sign-in is down.",
              "{name}: /adfs/probe misslyckades ({shown}); ingen {name}-server svarar: "
              "inloggningen fungerar inte."),
    "down_other_up": t(
        "{name}: /adfs/probe failed ({shown}); another node of the same role still answers.",
        "{name}: /adfs/probe misslyckades ({shown}); en annan server med samma roll svarar "
        "fortfarande."),
    "backend_down": t(
        "{name}: /adfs/probe answers 200, but AD FS behind it does not answer through it "
        "(mex: {shown}). {note}",
        "{name}: /adfs/probe svarar 200, men AD FS bakom den svarar inte genom den "
        "(mex: {shown}). {note}"),
    "backend_unknown": t(
        "{name}: /adfs/probe answers 200, but the back end could not be checked "
        "(mex: {shown}). {note}",
        "{name}: /adfs/probe svarar 200, men AD FS bakom den kunde inte kontrolleras "
        "(mex: {shown}). {note}"),
    "proven_by_metadata": t(
        "{name}: /adfs/probe answers 200; /adfs/services/trust/mex is not published through "
        "it (mex: {shown}; proxies often turn it off), but signed federation metadata "
        "through it proves that AD FS behind it answers.",
        "{name}: /adfs/probe svarar 200; /adfs/services/trust/mex publiceras inte genom den "
        "(mex: {shown}; proxyer stänger ofta av den), men signerad federationsmetadata "
        "genom den visar att AD FS bakom den svarar."),
    "proven": t(
        "{name}: /adfs/probe answers 200, and /adfs/services/trust/mex through it proves "
        "that AD FS behind it answers. {note}",
        "{name}: /adfs/probe svarar 200, och /adfs/services/trust/mex genom den visar att "
        "AD FS bakom den svarar. {note}"),
    "up": t("{name}: /adfs/probe answers 200 (served by the AD FS service itself).",
            "{name}: /adfs/probe svarar 200 (levereras av AD FS-tjänsten själv)."),
    "wap_note": t(
        "(/adfs/probe on a WAP answers even when AD FS behind it is down; only the mex fetch "
        "proves the back end.)",
        "(/adfs/probe på en WAP svarar även när AD FS bakom den är nere; först hämtningen "
        "av mex visar att AD FS svarar.)"),
}


CLOCK_SKEW_SAID: dict[str, Text] = {
    "unresolved": UNRESOLVED,
    "no_date": t("No Date header could be read from this node.",
                 "Inget Date-huvud kunde läsas från servern."),
    "in_step_with_us": t("in step with this machine", "i takt med den här datorn"),
    "ahead": t("{amount} ahead of this machine", "{amount} före den här datorn"),
    "behind": t("{amount} behind this machine", "{amount} efter den här datorn"),
    "local": t("Clock {offset}; the servers agree with each other, so this machine's clock "
               "is probably wrong.",
               "Klockan går {offset}; servrarna stämmer med varandra, så den här datorns "
               "klocka går troligen fel."),
    "over_5": t("Clock {offset} (over 5 minutes).", "Klockan går {offset} (över 5 minuter)."),
    "over_2": t("Clock {offset} (over 2 minutes).", "Klockan går {offset} (över 2 minuter)."),
    "in_step": t("Clock {offset} (±{uncertainty} s).",
                 "Klockan går {offset} (±{uncertainty} s)."),
    "between": t("{fastest} and {slowest} differ by {spread} s.",
                  "{fastest} och {slowest} skiljer sig åt med {spread} s."),
    "between_over_2": t("{fastest} and {slowest} differ by {spread} s (over 2 minutes).",
                        "{fastest} och {slowest} skiljer sig åt med {spread} s "
                        "(över 2 minuter)."),
    "between_over_5": t(
        "{fastest} and {slowest} differ by {spread} s (over 5 minutes: proxy trust and "
        "Kerberos fail).",
        "{fastest} och {slowest} skiljer sig åt med {spread} s (över 5 minuter: "
        "proxyförtroende och Kerberos slutar fungera)."),
}


METADATA_SAID: dict[str, Text] = {
    "unresolved": t("{fs} does not resolve here (see adfs.dns).",
                    "{fs} går inte att slå upp härifrån (se adfs.dns)."),
    "not_fetched": t("Metadata not fetched: {why}", "Metadata kunde inte hämtas: {why}"),
    "wap_http": t("The WAP answered HTTP {status}: it does not get the metadata from AD FS "
                  "behind it.",
                  "WAP svarade HTTP {status}: den får inte metadata från AD FS bakom sig."),
    "http": t("HTTP {status} instead of the metadata.",
              "HTTP {status} i stället för metadata."),
    "refused": t("The answer was refused as metadata: {error}.",
                 "Svaret godtogs inte som metadata: {error}."),
    # how each path is named inside the sentences below
    "via_wap": t(" through the WAP (AD FS behind it answers)",
                 " via WAP (AD FS bakom den svarar)"),
    "via_direct": t(" directly from AD FS", " direkt från AD FS"),
    "via_service": t("", ""),
    "unsigned": t("Metadata{via} for {entity} carries no signature.",
                  "Metadata{via} för {entity} saknar signatur."),
    "signed": t("Signed metadata{via}: entityID {entity}, {signing} signing and {encryption} "
                "encryption certificate(s).",
                "Signerad metadata{via}: entityID {entity}, {signing} signerings- och "
                "{encryption} krypteringscertifikat."),
    "signing": t("token-signing", "tokensignering"),
    "encryption": t("token-decrypting", "tokendekryptering"),
    "cert_unreadable": t("A {use} certificate in the metadata cannot be read.",
                         "Ett certifikat för {use} i metadatan går inte att läsa."),
    "cert_what": t("{use} certificate {name}", "certifikatet för {use} {name}"),
    "cert_valid": t("The {use} certificate {name} is valid until {end} ({days} days).",
                    "Certifikatet för {use} {name} gäller till {end} ({days} dagar)."),
    "rollover": t("{count} token-signing certificates are published (valid until {ends}): "
                  "a rollover is under way.",
                  "{count} certifikat för tokensignering publiceras (giltiga till {ends}): "
                  "ett certifikatbyte pågår."),
    "same_both": t("Both paths serve the same metadata.",
                   "Båda vägarna levererar samma metadata."),
    "same_all": t("All {count} paths serve the same metadata.",
                  "Alla {count} vägar levererar samma metadata."),
    "different": t("The paths serve different metadata ({split}).",
                   "Vägarna levererar olika metadata ({split})."),
}
