"""Checks of the ``PLATEBIND_*`` settings; none needs the database."""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import urlsplit

from platebind.config import Settings
from platebind.doctor.findings import Finding
from platebind.vehicles.service import IdHashKeyInvalid, id_hash_key

SMTP_TIMEOUT = 5.0
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def check_id_hash_key(settings: Settings) -> Finding:
    """The same rule the portal and the vehicle import apply when they use the key."""
    try:
        id_hash_key(settings.id_hash_key)
    except IdHashKeyInvalid as exc:
        return Finding(
            "id_hash_key",
            "fail",
            exc.detail,
            "set PLATEBIND_ID_HASH_KEY to the output of `openssl rand -base64 48`, once; "
            "it cannot be changed later (docs/deploy.md, key rotation)",
        )
    return Finding("id_hash_key", "ok", "PLATEBIND_ID_HASH_KEY is set and not a placeholder")


def check_portal(settings: Settings) -> list[Finding]:
    findings = []
    if settings.portal_secure_cookies:
        findings.append(Finding("portal_cookies", "ok", "portal session cookies are Secure"))
    else:
        findings.append(
            Finding(
                "portal_cookies",
                "fail",
                "PLATEBIND_PORTAL_SECURE_COOKIES is false: session cookies also travel over "
                "plain HTTP",
                "remove PLATEBIND_PORTAL_SECURE_COOKIES (it defaults to true) and serve the "
                "portal over HTTPS",
            )
        )
    url = urlsplit(settings.portal_base_url)
    if url.scheme == "https" and url.hostname not in LOOPBACK_HOSTS:
        findings.append(Finding("portal_base_url", "ok", f"{settings.portal_base_url}"))
    else:
        findings.append(
            Finding(
                "portal_base_url",
                "fail",
                f"PLATEBIND_PORTAL_BASE_URL is {settings.portal_base_url}: links in e-mails "
                "must reach the public portal over HTTPS (Secure cookies need it too)",
                "set PLATEBIND_PORTAL_BASE_URL=https://<the portal's public host>",
            )
        )
    return findings


def check_smtp(settings: Settings) -> Finding:
    if not settings.smtp_host:
        return Finding(
            "smtp",
            "warn",
            "no SMTP server: notices are shown in the portal, their e-mails stay in the outbox",
            "set PLATEBIND_SMTP_HOST (and _PORT, _FROM, _USERNAME, _PASSWORD, _STARTTLS)",
        )
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            lacks_tls = settings.smtp_starttls and not smtp.has_extn("starttls")
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        return Finding(
            "smtp",
            "fail",
            f"the SMTP server {where} does not answer: {exc}",
            "check PLATEBIND_SMTP_HOST and PLATEBIND_SMTP_PORT, and the firewall",
        )
    if lacks_tls:
        return Finding(
            "smtp",
            "fail",
            f"PLATEBIND_SMTP_STARTTLS is on but {where} does not offer STARTTLS",
            "use the server's submission port (587) or turn PLATEBIND_SMTP_STARTTLS off",
        )
    if settings.smtp_from.rstrip(">").endswith(".invalid"):
        return Finding(
            "smtp",
            "warn",
            f"{where} answers, but e-mails would come from {settings.smtp_from}",
            "set PLATEBIND_SMTP_FROM to the city's sender address",
        )
    return Finding("smtp", "ok", f"{where} answers; e-mails come from {settings.smtp_from}")
