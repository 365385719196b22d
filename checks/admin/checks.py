"""``admin``: agreements and contacts — the paperwork support cannot start without.

These checks read only the profile and DNS. They prove that the agreement and the
data-processing agreement are recorded and current, that the contacts are complete and
plausible (email domains accept mail: MX, or A/AAAA as RFC 5321's implicit MX; phone
numbers are well-formed). They cannot prove that anyone answers that phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.plugin.checkapi import Check, CheckContext, Target

AGREEMENT_WARN_DAYS = 30
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")


NO_PROBLEM = Text("", "")


@dataclass(frozen=True)
class PhoneCheck:
    """A phone number's verdict: well-formed or not, its E.164 form, the problem."""

    ok: bool
    e164: str = ""
    problem: Text = NO_PROBLEM


def check_phone(text: str) -> PhoneCheck:
    """Accept E.164 (``+46 10 123 45 67``, also ``+46 (0)8 …``) or Swedish national format
    (``010-123 45 67``)."""
    text = text.strip().replace("(0)", "")  # "+46 (0)8": the 0 is only dialled at home
    if not re.fullmatch(r"[+0-9 ()\-./]+", text):
        return PhoneCheck(False, problem=t("contains characters a phone number cannot have",
                                           "innehåller tecken som ett telefonnummer inte har"))
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        if digits.startswith("460"):
            return PhoneCheck(False, problem=t("+46 must not be followed by the leading 0",
                                               "efter +46 ska den inledande nollan bort"))
        if not 8 <= len(digits) <= 15:
            return PhoneCheck(False, problem=t("an international number has 8 to 15 digits",
                                               "ett internationellt nummer har 8 till 15 siffror"))
        if digits.startswith("46") and not 9 <= len(digits) <= 11:
            return PhoneCheck(False, problem=t("a Swedish number has 7 to 9 digits after +46",
                                               "ett svenskt nummer har 7 till 9 siffror efter "
                                               "+46"))
        return PhoneCheck(True, "+" + digits)
    if digits.startswith("00"):
        return check_phone("+" + digits[2:])
    if digits.startswith("0") and 8 <= len(digits) <= 10:
        return PhoneCheck(True, "+46" + digits[1:])
    return PhoneCheck(False, problem=t("use +country code or a Swedish number starting with 0",
                                       "skriv +landskod eller ett svenskt nummer som börjar "
                                       "med 0"))


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def email_domain(text: str) -> str | None:
    """The domain of a plausible email address, else None."""
    match = _EMAIL.match(text.strip())
    return match.group(1).lower() if match else None


def mail_domain_evidence(ctx: CheckContext, domain: str) -> tuple[Status, Text, list[dict]]:
    """Does ``domain`` accept mail? (status, reason, DNS evidence).

    RFC 5321 §5.1: without MX, mail goes to the domain's A or AAAA record (implicit MX);
    a null MX (RFC 7505, ``0 .``) says the domain accepts no mail at all.
    """
    resolvers = ctx.service("dns")
    mx = resolvers.lookup(domain, "MX", view="external", timeout=ctx.timeout(3.0))
    evidence = [mx.to_json()]
    if mx.outcome == "ok":
        if any(r.split()[-1] == "." for r in mx.records):
            return Status.FAIL, t("null MX: the domain accepts no mail",
                                  "null-MX: domänen tar inte emot e-post"), evidence
        return Status.PASS, t("MX records found", "MX-poster finns"), evidence
    if mx.outcome == "nxdomain":
        return Status.FAIL, t("the domain does not exist", "domänen finns inte"), evidence
    if mx.outcome in ("timeout", "error"):
        return Status.ERROR, t(f"DNS did not answer: {mx.error}",
                               f"DNS svarade inte: {mx.error}"), evidence
    for rdtype in ("A", "AAAA"):
        answer = resolvers.lookup(domain, rdtype, view="external", timeout=ctx.timeout(3.0))
        evidence.append(answer.to_json())
        if answer.outcome == "ok":
            return Status.PASS, t(f"no MX, but an {rdtype} record (implicit MX)",
                                  f"ingen MX, men en {rdtype}-post (implicit MX)"), evidence
        if answer.outcome in ("timeout", "error"):
            return Status.ERROR, t(f"DNS did not answer: {answer.error}",
                                   f"DNS svarade inte: {answer.error}"), evidence
    return Status.FAIL, t("no MX and no address record: mail cannot be delivered",
                          "ingen MX och ingen adresspost: e-post kan inte levereras"), evidence


class AgreementCheck(Check):
    """A support agreement is recorded and valid beyond the coming weeks."""

    id = "admin.agreement"
    owners = {"missing": "supplier"}  # recording it in the profile is the supplier's
    requirement = Requirement.ADMIN
    title = t("Support agreement", "Supportavtal")
    description = t("A support agreement is recorded and still valid.",
                    "Ett förvaltnings-/supportavtal finns och gäller.")
    needs = ("profile",)
    remediation = {
        "missing": t("Record the support agreement's reference and end date in the profile "
                     "([customer] agreement, agreement_valid_until). Without an agreement "
                     "support cannot start: contact the supplier.",
                     "Ange supportavtalets referens och slutdatum i profilen ([customer] "
                     "agreement, agreement_valid_until). Utan avtal kan supporten inte "
                     "påbörjas: kontakta leverantören."),
        "expired": t("The agreement has ended. Renew it with the supplier before support "
                     "starts.", "Avtalet har löpt ut. Förnya det med leverantören innan "
                     "supporten påbörjas."),
        "expiring": t("The agreement ends soon. Start the renewal now.",
                      "Avtalet löper snart ut. Påbörja förnyelsen nu."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        c = ctx.profile.customer
        today = ctx.now().date()
        details = {"agreement": c.agreement,
                   "valid_until": c.agreement_valid_until.isoformat()
                   if c.agreement_valid_until else None, "today": today.isoformat()}
        if not c.agreement:
            return self.result(target, Status.FAIL, t("No support agreement is recorded.",
                               "Inget supportavtal är angivet."), details, "missing")
        if c.agreement_valid_until is None:
            return self.result(target, Status.WARN, t(
                f"Agreement {c.agreement} has no end date recorded.",
                f"Avtal {c.agreement} saknar angivet slutdatum."), details, "missing")
        days = (c.agreement_valid_until - today).days
        details["days_left"] = days
        if days < 0:
            return self.result(target, Status.FAIL, t(
                f"Agreement {c.agreement} ended on {c.agreement_valid_until}.",
                f"Avtal {c.agreement} upphörde {c.agreement_valid_until}."), details, "expired",
                due=c.agreement_valid_until)
        if days < AGREEMENT_WARN_DAYS:
            return self.result(target, Status.WARN, t(
                f"Agreement {c.agreement} ends in {days} days ({c.agreement_valid_until}).",
                f"Avtal {c.agreement} upphör om {days} dagar ({c.agreement_valid_until})."),
                details, "expiring", due=c.agreement_valid_until)
        return self.result(target, Status.PASS, t(
            f"Agreement {c.agreement} is valid until {c.agreement_valid_until}.",
            f"Avtal {c.agreement} gäller till {c.agreement_valid_until}."), details)


class DpaCheck(Check):
    """The data-processing agreement (personuppgiftsbiträdesavtal) is signed."""

    id = "admin.dpa"
    owners = {"future": "supplier"}  # a wrong date in the supplier's profile
    requirement = Requirement.ADMIN
    title = t("Data-processing agreement", "Personuppgiftsbiträdesavtal")
    description = t("A data-processing agreement with the supplier is signed.",
                    "Ett personuppgiftsbiträdesavtal med leverantören är undertecknat.")
    needs = ("profile",)
    remediation = {
        "missing": t("Sign a data-processing agreement with the supplier and record the date "
                     "in the profile ([customer] dpa_signed).",
                     "Teckna ett personuppgiftsbiträdesavtal med leverantören och ange datumet "
                     "i profilen ([customer] dpa_signed)."),
        "future": t("The signing date lies in the future: correct dpa_signed.",
                    "Datumet för undertecknandet ligger i framtiden: rätta dpa_signed."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        signed = ctx.profile.customer.dpa_signed
        today = ctx.now().date()
        details = {"dpa_signed": signed.isoformat() if signed else None}
        if signed is None:
            return self.result(target, Status.FAIL, t(
                "No data-processing agreement is recorded.",
                "Inget personuppgiftsbiträdesavtal är angivet."), details, "missing")
        if signed > today:
            return self.result(target, Status.WARN, t(
                f"The data-processing agreement is dated in the future ({signed}).",
                f"Personuppgiftsbiträdesavtalet är daterat i framtiden ({signed})."),
                details, "future")
        return self.result(target, Status.PASS, t(
            f"Data-processing agreement signed {signed}.",
            f"Personuppgiftsbiträdesavtal undertecknat {signed}."), details)


def _contact_findings(ctx: CheckContext, email: str | None,
                      phone: str | None) -> tuple[Status, list[str], list[str], dict]:
    """Worst status, problems (en, sv) and evidence for one email/phone pair."""
    problems_en: list[str] = []
    problems_sv: list[str] = []
    details: dict = {"email": email, "phone": phone}
    statuses = [Status.PASS]
    if email:
        domain = email_domain(email)
        if domain is None:
            statuses.append(Status.FAIL)
            problems_en.append(f"'{email}' is not an email address")
            problems_sv.append(f"'{email}' är ingen e-postadress")
        else:
            status, reason, evidence = mail_domain_evidence(ctx, domain)
            details["dns"] = evidence
            details["mail_domain"] = {"domain": domain, "verdict": reason.en}
            if status is not Status.PASS:
                statuses.append(status)
                problems_en.append(f"mail to {domain}: {reason.en}")
                problems_sv.append(f"e-post till {domain}: {reason.sv}")
    if phone:
        verdict = check_phone(phone)
        details["phone_e164"] = verdict.e164 or None
        if not verdict.ok:
            statuses.append(Status.WARN)
            problems_en.append(f"phone '{phone}': {verdict.problem.en}")
            problems_sv.append(f"telefon '{phone}': {verdict.problem.sv}")
    worst_status = max(statuses, key=lambda s: s.rank)
    return worst_status, problems_en, problems_sv, details


class ContactsCheck(Check):
    """The support address, the support phone and named contacts are complete and real."""

    id = "admin.contacts"
    owners = {"default": "supplier"}  # correcting the profile; naming them is the customer's
    requirement = Requirement.ADMIN
    title = t("Support contacts", "Supportkontakter")
    description = t("A dedicated support address and phone, and named contacts; email domains "
                    "accept mail, phone numbers are well-formed.",
                    "En dedikerad supportadress och telefon samt namngivna kontakter; "
                    "e-postdomäner tar emot e-post, telefonnummer är korrekt skrivna.")
    needs = ("profile", "dns")
    remediation = {
        "default": t("Correct the contact details in the profile ([customer] support_email, "
                     "support_phone, contacts): a working email domain and a phone number "
                     "written +46 … or 0….",
                     "Rätta kontaktuppgifterna i profilen ([customer] support_email, "
                     "support_phone, contacts): en fungerande e-postdomän och ett "
                     "telefonnummer skrivet +46 … eller 0…."),
        "missing": t("Name a dedicated support address and phone, and at least one contact "
                     "person with email or phone, in [customer].",
                     "Ange en dedikerad supportadress och telefon samt minst en kontaktperson "
                     "med e-post eller telefon i [customer]."),
    }

    def targets(self, profile) -> list[Target]:  # type: ignore[no-untyped-def]
        c = profile.customer
        out = [Target("support", (c.support_email, c.support_phone))]
        out += [Target(p.name, (p.email, p.phone)) for p in c.contacts]
        if not c.contacts:
            out.append(Target("contacts", None))
        return out

    def run(self, ctx: CheckContext, target: Target) -> Result:
        if target.data is None:
            return self.result(target, Status.WARN, t("No named contact person.",
                               "Ingen namngiven kontaktperson."), {}, "missing")
        email, phone = target.data
        if target.name == "support" and not (email and phone):
            missing = [n for n, v in (("support_email", email), ("support_phone", phone))
                       if not v]
            return self.result(target, Status.WARN, t(
                f"Missing: {', '.join(missing)}.", f"Saknas: {', '.join(missing)}."),
                {"missing": missing}, "missing")
        if not (email or phone):
            return self.result(target, Status.WARN, t(
                f"{target.name} has neither email nor phone.",
                f"{target.name} saknar både e-post och telefon."), {}, "missing")
        status, en, sv, details = _contact_findings(ctx, email, phone)
        if status is Status.PASS:
            shown = " / ".join(v for v in (email, phone) if v)
            return self.result(target, status, t(f"Complete: {shown}.", f"Komplett: {shown}."),
                               details)
        return self.result(target, status, t(_sentence(en), _sentence(sv)), details)


class MaintenanceContactCheck(Check):
    """Someone is named to announce maintenance and changes in the customer's environment."""

    id = "admin.maintenance_contact"
    requirement = Requirement.ADMIN
    title = t("Maintenance contact", "Kontakt för underhåll")
    description = t("The customer names who tells the supplier about maintenance and changes.",
                    "Kunden anger vem som informerar leverantören om underhåll och "
                    "förändringar.")
    needs = ("profile", "dns")
    remediation = {
        "default": t("Name the contact that announces maintenance and changes "
                     "([customer] maintenance_contact, an email address or a phone number).",
                     "Ange vem som aviserar underhåll och förändringar "
                     "([customer] maintenance_contact, en e-postadress eller ett "
                     "telefonnummer)."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        value = ctx.profile.customer.maintenance_contact
        if not value:
            return self.result(target, Status.WARN, t("No maintenance contact is named.",
                               "Ingen kontakt för underhåll är angiven."), {})
        is_email = "@" in value
        status, en, sv, details = _contact_findings(
            ctx, value if is_email else None, None if is_email else value)
        if status is Status.PASS:
            return self.result(target, status, t(f"Maintenance contact: {value}.",
                               f"Kontakt för underhåll: {value}."), details)
        return self.result(target, status, Text(_sentence(en), _sentence(sv)), details)


CHECKS = [AgreementCheck, DpaCheck, ContactsCheck, MaintenanceContactCheck]
