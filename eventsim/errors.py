"""User-facing errors.

Every mistake a user can make (a bad file, a wrong shape, an unknown option)
raises :class:`EventsimError` with one sentence that says what is wrong, where,
and how to fix it. The command line prints it as ``eventsim: error: ...`` and
exits with status 2; it never shows a traceback for a user mistake.
"""


class EventsimError(ValueError):
    """A user mistake: bad input file, inconsistent model, invalid option."""
