"""A shifted clock for one ``ci-mlops`` process: tests put this folder first on PYTHONPATH and set
``CI_MLOPS_TEST_CLOCK_SHIFT`` (seconds) to run a command as if minutes or days had passed.

Everything Python reads the time through is shifted: ``time.time``/``time_ns``, ``gmtime``,
``localtime``, ``strftime``, ``ctime`` without an argument, and ``datetime.now``/``utcnow``/``today``.
"""

from __future__ import annotations

import datetime as _datetime
import os
import time as _time

_SHIFT = float(os.environ.get("CI_MLOPS_TEST_CLOCK_SHIFT") or 0)

if _SHIFT:
    _real_time, _real_time_ns = _time.time, _time.time_ns
    _real_gmtime, _real_localtime, _real_strftime = _time.gmtime, _time.localtime, _time.strftime

    def _now() -> float:
        return _real_time() + _SHIFT

    _time.time = _now
    _time.time_ns = lambda: _real_time_ns() + int(_SHIFT * 1_000_000_000)
    _time.gmtime = lambda secs=None: _real_gmtime(_now() if secs is None else secs)
    _time.localtime = lambda secs=None: _real_localtime(_now() if secs is None else secs)
    _time.strftime = lambda fmt, t=None: _real_strftime(fmt, _time.localtime() if t is None else t)
    _time.ctime = lambda secs=None: _time.asctime(_time.localtime(secs))

    class _ShiftedDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return cls.fromtimestamp(_now(), tz)

        @classmethod
        def utcnow(cls):  # type: ignore[override]
            return cls.fromtimestamp(_now(), _datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls):  # type: ignore[override]
            return cls.fromtimestamp(_now())

    class _ShiftedDate(_datetime.date):
        @classmethod
        def today(cls):  # type: ignore[override]
            return cls.fromtimestamp(_now())

    _datetime.datetime = _ShiftedDatetime  # type: ignore[misc]
    _datetime.date = _ShiftedDate  # type: ignore[misc]
