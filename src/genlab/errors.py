"""The one exception type the command line turns into a one-line message, and the OS errors it treats alike."""

import errno


class GenlabError(Exception):
    """A problem the user can fix; its message says what to do.

    The command line prints ``genlab: error: <message>`` and exits with status 2,
    without a traceback.
    """


class GenlabWarning(UserWarning):
    """Something the user should know that does not stop the command (the command line prints it on one line)."""


# Operating-system errors a user fixes outside genlab, and what to tell them.
_OS_ERROR_ADVICE = {
    errno.EACCES: "permission denied: {where}; change the permissions or choose another path",
    errno.EPERM: "operation not permitted: {where}; change the permissions or choose another path",
    errno.EROFS: "{where} is on a read-only file system; choose a writable folder",
    errno.ENOSPC: "no space left on the device while writing {where}; free some space, then run the command again",
    errno.EDQUOT: "disk quota exceeded while writing {where}; free some space, then run the command again",
    errno.ELOOP: "{where} is a symbolic link loop; remove the link or give the real path",
    errno.ENAMETOOLONG: "the path {where} is too long; choose a shorter one",
    errno.ENOENT: "{where} does not exist; check the path",
    errno.ENOTDIR: "a part of {where} is not a folder; check the path",
    errno.EEXIST: "{where} exists as a file where a folder is needed; choose another path",
    errno.EISDIR: "{where} is a folder where a file was expected; give a file path",
}


def os_error_message(error: OSError) -> str | None:
    """The one-line advice for an operating-system error a user can fix, or None for any other."""
    advice = _OS_ERROR_ADVICE.get(error.errno)
    if advice is None:
        return None
    where = error.filename if error.filename is not None else "a file"
    return advice.format(where=where)
