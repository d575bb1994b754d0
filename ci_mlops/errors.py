"""The exit-code convention, as exception types.

Every command raises one of these instead of calling ``sys.exit`` itself; the
CLI entry point turns them into one line on stderr and the documented code:

* 0  success
* 1  :class:`CheckFailed` - the thing checked is bad (a gate failed, drift found)
* 2  :class:`UserError`   - bad config, unknown revision, missing file, bad input
* 3  :class:`ServiceError` - an outside service kept failing after retries
* 70 an internal error (a bug); ``--debug`` shows the traceback
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_SERVICE_ERROR = 3
EXIT_INTERNAL_ERROR = 70  # a bug in ci-mlops (EX_SOFTWARE); the traceback is behind --debug


class CiMlopsError(Exception):
    """Base class: an expected failure with a one-line message for the user."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(CiMlopsError):
    """Bad configuration or input; the user can fix it. Exit 2."""

    exit_code = EXIT_USER_ERROR


class CheckFailed(CiMlopsError):
    """The checked thing is bad (gate failed, drift detected). Exit 1."""

    exit_code = EXIT_CHECK_FAILED


class ServiceError(CiMlopsError):
    """An outside service (GitHub, a DVC remote) kept failing. Exit 3."""

    exit_code = EXIT_SERVICE_ERROR


# How libraries say "out of memory or threads" when they do not raise MemoryError.
_EXHAUSTED = ("Resource temporarily unavailable", "Cannot allocate memory", "std::bad_alloc",
              "Failed to launch worker thread", "can't start new thread", "realloc of size", "malloc of size",
              "out of memory")


def exhausted(exc: BaseException) -> bool:
    """Whether ``exc`` means the machine ran out of memory (or of threads, which need memory)."""
    text = str(exc)
    return isinstance(exc, MemoryError) or any(sign in text for sign in _EXHAUSTED)
