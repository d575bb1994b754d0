"""One HTTP client for the GitHub REST API: retries, rate limits, pagination, no leaks.

* One ``requests.Session`` (connection reuse) with a timeout on every request.
* 5xx answers and connection errors are retried with exponential backoff and full
  jitter; 429 and 403 secondary rate limits wait for ``retry-after``, else for
  ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, else at least a minute.
  The total time spent (requests + waits) is bounded by ``max_elapsed``; then
  :class:`~ci_mlops.errors.ServiceError` (exit 3) with one line.
* Other 4xx answers raise :class:`ApiError` (a ``UserError``, exit 2 when uncaught).
* A write that is not idempotent (``POST`` creating something) must not be replayed
  blindly when its answer is lost: pass ``idempotent=False`` and the client raises
  :class:`AnswerLost` instead of retrying, so the caller can look before it posts
  again (see :meth:`GitHubClient.create_once`).
* The token never appears in output: it is sent only in the ``Authorization``
  header, and every message the client builds is passed through :meth:`redact`.
* The token goes only to the API's own origin (and to its uploads host for release
  assets): a ``Link: next`` naming another host is refused, any other URL gets no token.
* Every exchange (headers and body) has a wall-clock ``deadline``, and bodies are read up
  to a size bound, so a server that trickles bytes or streams forever cannot hold a run.
* Answers are decoded by :meth:`GitHubClient.json` within :mod:`ci_mlops.safeload`'s bounds
  and must have the expected shape: an HTML page, ``null``, ``[]`` for an object or ``{}``
  missing a field is one line (exit 2 for a wrong API address, else 3), never a crash.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ci_mlops import __version__
from ci_mlops.errors import ServiceError, UserError
from ci_mlops.safeload import MAX_JSON_BYTES, DocumentError, load_json

if TYPE_CHECKING:
    import requests

API_VERSION = "2022-11-28"
BACKOFF_BASE = 1.0  # seconds; doubled per attempt
BACKOFF_CAP = 60.0
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: "wait at least one minute" when it gives no hint
default_sleep = time.sleep  # looked up at call time, so in-process tests can replace it
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
DEADLINE = 120.0  # seconds for one exchange, headers and body, however the bytes trickle in
MAX_DOWNLOAD_BYTES = 1 << 30  # a release asset read into memory (audit verify hashes them)


class ApiError(UserError):
    """GitHub refused a request with a 4xx status (after retries for rate limits)."""

    def __init__(self, status: int, message: str, response: requests.Response | None = None):
        super().__init__(message)
        self.status = status
        self.response = response

    @property
    def error_codes(self) -> list[str]:
        """The ``code`` of each entry of a 422's ``errors`` list (e.g. ``already_exists``)."""
        payload = _payload(self.response) if self.response is not None else None
        errors = (payload.get("errors") or []) if isinstance(payload, dict) else []
        if not isinstance(errors, list):
            return []
        return [e.get("code", "") for e in errors if isinstance(e, dict)]


class AnswerLost(ServiceError):
    """A non-idempotent request may or may not have taken effect (connection lost or 5xx)."""


class BadAnswer(ServiceError):
    """A 2xx answer that is not the JSON the endpoint documents."""


class MissingField(BadAnswer, KeyError):
    """An API object lacks a field the caller needs (``obj["id"]`` on ``{}``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class ApiObject(dict[str, Any]):
    """A JSON object from the API; a missing field is a :class:`MissingField` naming the request."""

    where = "GitHub API"
    service = "GitHub's API"

    def __missing__(self, key: str) -> Any:
        raise MissingField(f"{self.where} answered without the field {key!r} "
                           f"(not {self.service}? check the API URL)")


class DeadlineExceeded(Exception):
    """An exchange ran past its wall-clock deadline."""


class _TooLarge(Exception):
    """A body exceeded its size bound."""


class GitHubClient:
    """A small, careful client for ``api_url`` (``https://api.github.com`` or ``https://HOST/api/v3``).

    Another forge's client (:class:`ci_mlops.gitlab.client.GitLabClient`) subclasses it and
    overrides the class attributes and hooks below, keeping the retry and no-duplicate rules.
    """

    service = "GitHub API"  # names the API in every message
    owner = "GitHub's API"
    api_hint = "GitHub Enterprise Server's is https://HOST/api/v3"

    def __init__(self, api_url: str, token: str | None, *, timeout: float = 30, max_elapsed: float = 300,
                 sleep: Callable[[float], None] | None = None, log: Callable[[str], None] | None = None,
                 jitter: Callable[[], float] = random.random, deadline: float = DEADLINE):
        self.api_url = api_url.rstrip("/")
        self.token = token or None
        self.timeout = timeout
        self.max_elapsed = max_elapsed
        self.deadline = deadline
        self._sleep = sleep or (lambda seconds: default_sleep(seconds))
        self._log = log
        self._jitter = jitter
        self._session = self._new_session()
        # (method, path, status or "lost"/"error") per HTTP exchange, for reporting API usage.
        self.calls: list[tuple[str, str, int | str]] = []
        self.waited = 0.0  # seconds asked of ``sleep`` so far

    @staticmethod
    def _new_session() -> requests.Session:
        import requests  # lazy: requests is slow to import

        session = requests.Session()
        session.headers.update({
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"ci-mlops/{__version__}",
        })
        return session

    def trusted(self, url: str, *, upload: bool = False) -> bool:
        """Whether ``url`` may receive the token: the API's own origin (scheme, host, port).

        ``upload`` also admits the uploads host of release assets: the API's own host on
        GitHub Enterprise Server (``/api/uploads``), ``uploads.github.com`` for github.com.
        """
        api, other = urlsplit(self.api_url), urlsplit(url)
        if other.scheme != api.scheme or not other.hostname:
            return False
        try:
            default = {"https": 443, "http": 80}.get(api.scheme)
            same_port = (other.port or default) == (api.port or default)
        except ValueError:  # a malformed port
            return False
        if other.hostname == api.hostname and same_port:
            return True
        if upload:
            return other.hostname == api.hostname or (
                api.hostname == "api.github.com" and other.hostname == "uploads.github.com")
        return False

    def auth_headers(self) -> dict[str, str]:
        """The header that carries the token (sent only to :meth:`trusted` URLs)."""
        return {"Authorization": f"Bearer {self.token}"}

    def __repr__(self) -> str:
        return f"GitHubClient({self.api_url!r}, token={'***' if self.token else None})"

    def redact(self, text: str) -> str:
        """``text`` with the token (and any ``Bearer``/``token`` credential) replaced by ``***``."""
        if self.token and len(self.token) >= 4:  # shorter "tokens" are test stand-ins, not secrets
            text = text.replace(self.token, "***")
        return re.sub(r"(?i)\b(bearer|token)\s+[A-Za-z0-9_\-.]{8,}", r"\1 ***", text)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.api_url + "/" + path_or_url.lstrip("/")

    def _short(self, url: str) -> str:
        """The path of a URL relative to the API root (for messages and the call log)."""
        if url.startswith(self.api_url):
            url = url[len(self.api_url):] or "/"
        else:
            url = urlsplit(url).path
        return self.redact(url.split("?", 1)[0])

    def _debug(self, message: str) -> None:
        if self._log:
            self._log(self.redact(message))

    # -- requests ----------------------------------------------------------------------------

    def request(self, method: str, path_or_url: str, *, json: Any = None, params: dict[str, Any] | None = None,
                data: bytes | None = None, headers: dict[str, Any] | None = None,
                idempotent: bool | None = None, upload: bool = False,
                max_bytes: int = MAX_JSON_BYTES, deadline: float | None = None) -> requests.Response:
        """Send one request, retrying what is safe to retry; return the 2xx/3xx response.

        ``idempotent`` defaults to True for every method but ``POST``. With
        ``idempotent=False`` a lost answer or a 5xx raises :class:`AnswerLost` at
        once, because the server may already have done the work. The token is sent
        only to a :meth:`trusted` URL (``upload`` admits the release uploads host).
        The body is read whole, up to ``max_bytes``, within ``deadline`` seconds.
        """
        import requests  # lazy: requests is slow to import

        method = method.upper()
        url = self.url(path_or_url)
        short = self._short(url)
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        headers = dict(headers or {})
        if self.token and self.trusted(url, upload=upload):
            headers.update(self.auth_headers())
        started = time.monotonic()
        attempt = 0
        last = ""
        while True:
            attempt += 1
            self._debug(f"-> {method} {short}")
            try:
                response = self._exchange(method, url, max_bytes, deadline or self.deadline, json=json,
                                          params=params, data=data, headers=headers)
            except _TooLarge:
                raise BadAnswer(f"{self.service}: {method} {short}: the answer is larger than {max_bytes} bytes; "
                                "not reading it") from None
            except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                    requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema) as exc:
                # Nothing was sent and retrying cannot help: a bad header value or URL.
                raise UserError(f"{self.service}: {method} {short}: cannot send the request: "
                                f"{self.redact(str(exc))}") from None
            except (requests.RequestException, DeadlineExceeded) as exc:
                sent = not isinstance(exc, (requests.ConnectTimeout,)) and not _refused(exc)
                self.calls.append((method, short, "lost" if sent else "error"))
                last = f"{type(exc).__name__}: {self.redact(str(exc))}"
                self._debug(f"<- {method} {short}: {last}")
                if sent and not safe:
                    raise AnswerLost(f"{self.service}: {method} {short}: the connection was lost before the answer "
                                     f"arrived ({type(exc).__name__})") from None
                delay = self._backoff(attempt)
            else:
                status = response.status_code
                self.calls.append((method, short, status))
                self._debug(f"<- {method} {short}: {status}")
                if status < 400:
                    return response
                message = _message(response)
                last = f"{status} {message}"
                wait = _rate_limit_wait(response, message, attempt)
                if wait is not None:
                    delay = wait
                elif status >= 500:
                    if not safe:
                        raise AnswerLost(f"{self.service}: {method} {short} answered {status}; it may have taken effect")
                    delay = self._backoff(attempt)
                else:
                    raise ApiError(status, self.redact(_describe(method, short, response, message, self.service)),
                                   response)
            spent = time.monotonic() - started + self.waited
            if spent + delay > self.max_elapsed:
                raise ServiceError(self.redact(
                    f"{self.service}: {method} {short} kept failing ({last}); gave up after {attempt} attempt(s), "
                    f"next wait {delay:.0f}s would exceed the {self.max_elapsed:g}s budget"))
            self._debug(f"   waiting {delay:.1f}s before retrying")
            self.waited += delay
            self._sleep(delay)

    def _exchange(self, method: str, url: str, max_bytes: int, deadline: float, **kwargs: Any) -> requests.Response:
        """One HTTP exchange, body included, finished within ``deadline`` seconds of wall-clock time.

        Socket timeouts bound each wait, not the whole: a server sending a byte every few
        seconds never trips them. The exchange runs in a worker thread; past the deadline
        the session (and its connection) is abandoned to it and :class:`DeadlineExceeded` raised.
        """
        outcome: dict[str, Any] = {}
        session = self._session

        def work() -> None:
            try:
                response = session.request(method, url, stream=True, timeout=(min(10.0, self.timeout), self.timeout),
                                           **kwargs)
                try:
                    body = bytearray()
                    for chunk in response.iter_content(1 << 16):
                        body += chunk
                        if len(body) > max_bytes:
                            raise _TooLarge()
                    response._content = bytes(body)
                finally:
                    response.close()
                outcome["response"] = response
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="ci-mlops-http", daemon=True)
        worker.start()
        worker.join(deadline)
        if worker.is_alive():
            self._session = self._new_session()  # the stuck one stays with the worker
            raise DeadlineExceeded(f"no complete answer within {deadline:g}s")
        if "error" in outcome:
            raise outcome["error"]
        response: requests.Response = outcome["response"]
        return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of ``base * 2**(attempt-1)``, capped."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return float(ceiling * (0.5 + 0.5 * self._jitter()))

    def json(self, response: requests.Response, expect: type[Any] | tuple[type[Any], ...] = dict) -> Any:
        """The answer's JSON, which must be an ``expect`` (``dict`` or ``list`` of objects).

        Objects come back as :class:`ApiObject`, so a missing field is one line too.
        """
        where = f"{self.service}: {response.request.method} {self._short(response.url)}"
        body = response.content or b""
        if body.lstrip()[:1] == b"<":
            raise UserError(f"{where} answered {response.status_code} with an HTML page, not JSON: is the API URL "
                            f"{self.api_url} right? ({self.api_hint})")
        try:
            data = load_json(body)
        except DocumentError as exc:
            raise BadAnswer(f"{where} answered {response.status_code} with {exc}") from None
        if not isinstance(data, expect) or (expect is list and not all(isinstance(i, dict) for i in data)):
            wanted = "an object" if expect is dict else "a list of objects"
            raise BadAnswer(f"{where} answered {response.status_code} with {_shape(data)} where {wanted} was "
                            "expected (not {self.owner}? check the API URL)")
        return _api_objects(data, where, self.owner)

    def request_json(self, method: str, path_or_url: str, *, expect: type = dict, **kwargs: Any) -> Any:
        """:meth:`request` then :meth:`json`."""
        return self.json(self.request(method, path_or_url, **kwargs), expect)

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, expect: type = dict) -> Any:
        return self.request_json("GET", path, params=params, expect=expect)

    def next_link(self, response: requests.Response) -> str | None:
        """The ``Link: rel="next"`` URL of a page; one on another origin is refused (it would get the token)."""
        url = response.links.get("next", {}).get("url")
        if url and not self.trusted(url):
            raise BadAnswer(f"{self.service}: {response.request.method} {self._short(response.url)}: the next page "
                            f"is on another host ({urlsplit(url).netloc}); not following it")
        return url

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, 100 per page, following ``Link: rel="next"`` on the API's origin."""
        url: str | None = self.url(path)
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        while url:
            response = self.request("GET", url, params=query)
            payload = self.json(response, (list, dict))
            if isinstance(payload, dict):  # e.g. {"total_count": n, "check_runs": [...]}
                lists = [v for v in payload.values() if isinstance(v, list)]
                if len(lists) != 1 or not all(isinstance(i, dict) for i in lists[0]):
                    raise BadAnswer(f"{self.service}: GET {self._short(response.url)} answered {response.status_code} "
                                    "without a list of items (not {self.owner}? check the API URL)")
                payload = lists[0]
            elif not all(isinstance(i, dict) for i in payload):
                raise BadAnswer(f"{self.service}: GET {self._short(response.url)} answered {response.status_code} "
                                "with a list of non-objects (not {self.owner}? check the API URL)")
            yield from payload
            url = self.next_link(response)
            query = None  # the next link carries the query

    def create_once(self, path: str, json: Any, find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """POST ``json`` to ``path`` exactly once, even when an answer is lost.

        After an ambiguous failure ``find()`` looks for what the POST would have
        created; when it finds it, that is the result, else the POST is sent again.
        """
        return self._once(lambda: self.request("POST", path, json=json, idempotent=False), find)

    def upload_asset(self, upload_url_template: str, name: str, data: bytes, content_type: str,
                     label: str | None = None) -> dict[str, Any]:
        """Upload a release asset to the release's ``upload_url`` (a ``{?name,label}`` template).

        A lost answer is reconciled by listing the release's assets; a name that
        already exists is an :class:`ApiError` with error code ``already_exists``.
        """
        base = re.sub(r"\{[^}]*\}$", "", upload_url_template)
        params = {"name": name, **({"label": label} if label else {})}
        m = re.search(r"/repos/([^/]+/[^/]+)/releases/(\d+)/assets$", urlsplit(base).path)

        def find() -> dict[str, Any] | None:
            if not m:
                return None
            for asset in self.paginate(f"repos/{m[1]}/releases/{m[2]}/assets"):
                if asset.get("name") == name and asset.get("size") == len(data):
                    return asset
            return None

        return self._once(lambda: self.request("POST", base, params=params, data=data, upload=True,
                                               headers={"Content-Type": content_type}, idempotent=False), find)

    def _once(self, send: Callable[[], requests.Response], find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                created: dict[str, Any] = self.json(send(), dict)
                return created
            except AnswerLost as lost:
                found = find()
                if found is not None:
                    self._debug("   found what the lost request created; not sending it again")
                    return found
                delay = self._backoff(attempt)
                if time.monotonic() - started + self.waited + delay > self.max_elapsed:
                    raise ServiceError(lost.message + "; gave up retrying") from None
                self.waited += delay
                self._sleep(delay)

    def download(self, url: str) -> bytes:
        """Raw bytes of a release asset (its API ``url``) or any file URL."""
        return self.request("GET", url, headers={"Accept": "application/octet-stream"},
                            max_bytes=MAX_DOWNLOAD_BYTES, deadline=max(self.deadline, self.max_elapsed)).content

    @staticmethod
    def repo_path(repo: str, *parts: str | int) -> str:
        """``repos/OWNER/NAME/part/...`` with each part URL-quoted."""
        return "/".join(["repos", repo, *(quote(str(p), safe="") for p in parts)])

    def close(self) -> None:
        self._session.close()


def _api_objects(value: Any, where: str, owner: str = ApiObject.service) -> Any:
    """Dicts -> :class:`ApiObject` throughout (depth is bounded by the loader)."""
    if isinstance(value, dict):
        obj = ApiObject((k, _api_objects(v, where, owner)) for k, v in value.items())
        obj.where = where
        obj.service = owner
        return obj
    if isinstance(value, list):
        return [_api_objects(v, where, owner) for v in value]
    return value


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _refused(exc: Exception) -> bool:
    """True when the connection was never made (so the request was certainly not sent)."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


def _payload(response: requests.Response) -> Any:
    """An error answer's JSON within the loader's bounds, or None when it is not JSON."""
    try:
        return load_json(response.content or b"")
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    payload = _payload(response)
    if payload is None:
        text = (response.text or response.reason or "").strip()
        return text.splitlines()[0][:200] if text else ""
    if isinstance(payload, dict):
        message = payload.get("message") or payload.get("error") or ""  # GitLab also answers {"error": ...}
        if isinstance(message, dict):  # GitLab's validation errors: {"message": {"field": ["problem"]}}
            message = "; ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items())
        return str(message)[:1000]
    return ""


def _describe(method: str, short: str, response: requests.Response, message: str,
              service: str = "GitHub API") -> str:
    detail = message or response.reason or ""
    codes = []
    payload = _payload(response)
    for err in (payload.get("errors") or []) if isinstance(payload, dict) else []:
        if isinstance(err, dict):
            codes.append(str(err.get("message") or err.get("code") or ""))
    if codes:
        detail += " (" + "; ".join(c for c in codes if c) + ")"
    hint = {401: " - the token is missing, expired or wrong",
            404: " - not found, or the token cannot see it"}.get(response.status_code, "")
    return f"{service}: {method} {short} answered {response.status_code}: {detail}{hint}"


def _rate_limit_wait(response: requests.Response, message: str, attempt: int) -> float | None:
    """Seconds to wait when ``response`` is a (secondary) rate limit, else None."""
    status = response.status_code
    headers = response.headers
    # GitHub sends x-ratelimit-*, GitLab RateLimit-* (both: remaining count, reset as Unix time)
    remaining = headers.get("x-ratelimit-remaining", headers.get("ratelimit-remaining"))
    limited = status == 429 or (status == 403 and (
        "retry-after" in headers or remaining == "0" or "rate limit" in message.lower()))
    if not limited:
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(1.0, float(retry_after))
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset", headers.get("ratelimit-reset"))
    if remaining == "0" and reset:
        try:
            return max(1.0, float(reset) - time.time() + 1)
        except ValueError:
            pass
    return SECONDARY_LIMIT_WAIT * 2 ** (attempt - 1) if attempt > 1 else SECONDARY_LIMIT_WAIT
