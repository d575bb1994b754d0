"""The GitLab REST API (v4) client: the GitHub client's rules, GitLab's headers.

Everything that makes :class:`~ci_mlops.github.client.GitHubClient` careful is kept
by subclassing it: the per-exchange deadline and size bounds, retries of 5xx and
dropped connections with backoff, waits for 429 (``Retry-After``, else
``RateLimit-Reset`` when ``RateLimit-Remaining`` is 0), the time budget,
:class:`~ci_mlops.github.client.AnswerLost` for a non-idempotent ``POST`` whose answer
was lost and ``create_once`` to look before posting again, redaction of the token.

What differs from GitHub:

* the token goes in ``PRIVATE-TOKEN`` (personal, project and group access tokens),
  and only to the API's own origin;
* pages are followed by ``Link: rel="next"`` when GitLab sends it on the API's origin,
  else by ``X-Next-Page`` (some proxies drop or rewrite ``Link``); ``X-Total-Pages`` and the
  ``last`` link are never needed (GitLab leaves them out above 10,000 records);
* a project is addressed by its numeric id or its URL-encoded ``group/sub/name`` path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ci_mlops import __version__
from ci_mlops.github.client import BadAnswer, GitHubClient

if TYPE_CHECKING:
    import requests


class GitLabClient(GitHubClient):
    """A client for ``api_url``: ``https://gitlab.com/api/v4`` or ``https://HOST[/PATH]/api/v4``."""

    service = "GitLab API"
    owner = "GitLab's API"
    api_hint = "GitLab's is https://HOST/api/v4, or $CI_API_V4_URL in a job"

    @staticmethod
    def _new_session() -> requests.Session:
        import requests

        session = requests.Session()
        session.headers.update({"Accept": "application/json", "User-Agent": f"ci-mlops/{__version__}"})
        return session

    def auth_headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": str(self.token)}

    def trusted(self, url: str, *, upload: bool = False) -> bool:
        return super().trusted(url, upload=False)  # GitLab has no separate uploads host

    def __repr__(self) -> str:
        return f"GitLabClient({self.api_url!r}, token={'***' if self.token else None})"

    def next_link(self, response: requests.Response) -> str | None:
        """The next page: ``Link: rel="next"`` on the API's origin, else ``X-Next-Page`` on this URL."""
        link = response.links.get("next", {}).get("url")
        if link and self.trusted(link):
            return link
        page = (response.headers.get("x-next-page") or "").strip()
        if not page:
            if link:  # a Link elsewhere and no X-Next-Page: never send the token there
                raise BadAnswer(f"{self.service}: GET {self._short(response.url)}: the next page is on another "
                                f"host ({urlsplit(link).netloc}); not following it")
            return None
        if not page.isdigit():
            raise BadAnswer(f"{self.service}: GET {self._short(response.url)}: X-Next-Page {page[:20]!r} is not "
                            "a page number")
        parts = urlsplit(response.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
        query.append(("page", page))
        return urlunsplit(parts._replace(query=urlencode(query)))

    @staticmethod
    def project_path(project: str | int, *parts: str | int) -> str:
        """``projects/ID/part/...``: the id or ``group/name`` path URL-encoded as GitLab wants, parts quoted."""
        return "/".join(["projects", quote(str(project), safe=""), *(quote(str(p), safe="") for p in parts)])
