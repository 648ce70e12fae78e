"""What the portal says for each refusal ``code``: English msgids, translated by the catalogue.

Services raise ``DomainError``s with stable codes; this table is the one place that turns a code
into words for drivers (the API says the same refusals as problem documents).
"""

from __future__ import annotations

from typing import Any

from platebind.portal.templating import translate


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a msgid for the catalogue; translated where it is shown."""
    return message


MESSAGES = {
    "email_invalid": N_("Enter a valid e-mail address."),
    "email_taken": N_("An account with this e-mail address already exists."),
    "password_too_short": N_("Use a password of at least 10 characters."),
    "password_too_long": N_("Use a password of at most 256 characters."),
    "password_is_email": N_("Do not use your e-mail address as your password."),
    "national_id_invalid": N_(
        "This is not a valid national ID or resident certificate number; check the letters "
        "and the last digit."
    ),
    "national_id_taken": N_("An account with this national ID already exists."),
    "login_failed": N_("The e-mail address or password is incorrect."),
    "rate_limited": N_("Too many attempts. Try again in %(seconds)s seconds."),
    "invalid_plate": N_("This is not a valid plate for the chosen vehicle type."),
    "plate_not_on_list": N_("This plate is not on your list. Add it first."),
    "not_plate_owner": N_(
        "Only the plate's registered owner can do this. The vehicle registry does not list "
        "you as its owner."
    ),
    "plate_list_full": N_("Your list is full. Remove a plate first."),
    "no_pending_change": N_("No change is scheduled for this plate in this scope."),
    "scope_not_found": N_("Unknown scope."),
    "csrf_failed": N_(
        "The form has expired or did not come from this site. Reload the page and try again."
    ),
    "service_unavailable": N_("The portal cannot be used right now. Please try again later."),
}


def message_for(locale: str, code: str, **values: Any) -> str:
    """The sentence for a refusal ``code`` in ``locale``; unknown codes get a generic one."""
    text = MESSAGES.get(code, N_("The request could not be completed (%(code)s)."))
    return translate(locale, text, code=code, **values)
