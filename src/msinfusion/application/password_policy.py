"""Password rules after NIST SP 800-63B section 5.1.1.2 (memorized secrets).

https://pages.nist.gov/800-63-3/sp800-63b.html#memsecretver — what we take from it:

* at least 8 characters are required there; we require ``MIN_PASSWORD_LENGTH`` (12), and
  accept up to ``MAX_PASSWORD_LENGTH`` (256; NIST: "at least 64") of any Unicode, spaces too;
* no composition rules (no "one digit, one symbol") and no periodic expiry;
* a new password is compared with a list of "passwords obtained from previous breach corpuses",
  "dictionary words", "repetitive or sequential characters (e.g. 'aaaaaa', '1234abcd')" and
  "context-specific words, such as the name of the service, the username": the shipped list
  ``data/common_passwords.txt`` (zxcvbn's breach-derived list, MIT; see its header), a check for
  one repeated character or one ascending/descending run, and the user name and service name.

Messages say why a password is refused, as NIST asks, without echoing it.
"""

from __future__ import annotations

import functools
import itertools
from importlib.resources import files

from msinfusion.errors import InvalidCommand

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
SERVICE_WORDS = ("msinfusion",)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped blocklist, case-folded."""
    text = files("msinfusion.application").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("# "))


def _is_run(text: str) -> bool:
    """One repeated character, or one run of consecutive code points up or down."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def check_password(password: str, *, username: str | None = None) -> None:
    """Raise ``InvalidCommand`` (field ``password``) unless ``password`` may be used.

    >>> check_password("correct horse battery staple")
    >>> check_password("password1234")
    Traceback (most recent call last):
    msinfusion.errors.InvalidCommand: password is on the list of commonly used or breached passwords
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidCommand(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            field="password",
        )
    folded = password.casefold()
    if folded in common_passwords() or folded.strip() in common_passwords():
        raise InvalidCommand(
            "password is on the list of commonly used or breached passwords", field="password"
        )
    if _is_run(folded):
        raise InvalidCommand(
            "password must not be one repeated character or a sequence", field="password"
        )
    context = [w for w in (*SERVICE_WORDS, (username or "").casefold()) if len(w) >= 3]
    if any(word in folded for word in context):
        raise InvalidCommand(
            "password must not contain the user name or the service's name", field="password"
        )
