"""A patient's contact for appointment reminders: a phone number or an e-mail address.

Checked for form only (a reminder service delivers; nothing here sends): a phone number is
written as dialled internationally or locally (digits, spaces, ``-``, ``/``, ``.``, brackets,
an optional leading ``+``) with 6 to 15 digits (ITU-T E.164 allows at most 15); an e-mail
address has one ``@``, a local part and a dotted domain, at most 254 characters (RFC 5321).
"""

from __future__ import annotations

import re

from msinfusion.errors import InvalidCommand

MAX_LENGTH = 254
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_FIELD = "reminder_contact"


def checked_reminder_contact(text: str | None) -> str | None:
    """The contact, trimmed, or None when empty; ``InvalidCommand`` naming the field otherwise.

    >>> checked_reminder_contact(" +41 79 123 45 67 "), checked_reminder_contact("a@b.ch")
    ('+41 79 123 45 67', 'a@b.ch')
    >>> try:
    ...     checked_reminder_contact("call me")
    ... except InvalidCommand as error:
    ...     print(error.field)
    reminder_contact
    """
    value = " ".join((text or "").split())
    if not value:
        return None
    if len(value) > MAX_LENGTH:
        raise InvalidCommand(f"{_FIELD} must be at most {MAX_LENGTH} characters", field=_FIELD)
    if "@" in value:
        if not _EMAIL.fullmatch(value):
            raise InvalidCommand(
                f"{_FIELD}: {value!r} is not an e-mail address (name@example.org)", field=_FIELD
            )
        return value
    digits = sum(c.isdigit() for c in value)
    if not _PHONE.fullmatch(value) or not 6 <= digits <= 15:  # see above
        raise InvalidCommand(
            f"{_FIELD} must be a phone number (6 to 15 digits) or an e-mail address", field=_FIELD
        )
    return value
