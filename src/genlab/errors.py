"""The one exception type the command line turns into a one-line message."""


class GenlabError(Exception):
    """A problem the user can fix; its message says what to do.

    The command line prints ``genlab: error: <message>`` and exits with status 2,
    without a traceback.
    """
