"""The monitor's GitHub issue: one open issue per repository, updated in place.

While drift (or a performance degradation) persists, every run rewrites the body of
the one open issue carrying the label (``drift.issue.label``, default
``ci-mlops:drift``); the first problem run opens it. The first clean run closes it
with a comment. Creating the issue and the closing comment survive a lost answer
without duplicates: before posting again we look for what the lost request made.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from ci_mlops.config.records import DriftIssue
from ci_mlops.github.comments import Authors
from ci_mlops.github.shrink import shrink

if TYPE_CHECKING:
    from ci_mlops.github.client import GitHubClient

DEFAULT_LABEL = DriftIssue.label
DEFAULT_TITLE = DriftIssue.title
MARKER = "<!-- ci-mlops:drift -->"


class IssueOutcome(TypedDict):
    """What the monitor's flow did to its issue, on any forge."""

    action: str  # opened, updated, closed or none
    number: int | None  # the issue's number on the forge (GitLab's iid); None when there is no issue
    url: str | None  # its web address


def issue_outcome(action: str, number: object, url: object) -> IssueOutcome:
    """The outcome from the forge's answer: a number and an address the answer does not give as
    such are None, never passed on as whatever the answer held."""
    return {"action": action, "number": number if isinstance(number, int) and not isinstance(number, bool) else None,
            "url": url if isinstance(url, str) else None}


def find_open_issue(client: GitHubClient, repo: str, label: str) -> dict[str, Any] | None:
    """The monitor's open issue: the oldest open issue with the label that ci-mlops wrote.

    Nobody else's issue is taken over (rewritten, then closed), even with our label and
    marker, be it a person's or another app's: only issues carrying the marker and written
    by the token's own account count (the same rule as for the sticky PR comment).
    """
    authors = Authors(client)
    ours = [i for i in client.paginate(client.repo_path(repo, "issues"), {"labels": label, "state": "open"})
            if "pull_request" not in i and MARKER in (i.get("body") or "") and authors.trusted(i)]
    return min(ours, key=lambda i: i["number"]) if ours else None


def upsert_issue(
    client: GitHubClient,
    repo: str,
    *,
    problem: bool,
    body: str,
    label: str = DEFAULT_LABEL,
    title: str = DEFAULT_TITLE,
    closing_note: str = "No drift in the latest run; closing.",
    run_id: str | None = None,
    run_url: str | None = None,
) -> IssueOutcome:
    """Open, update or close the monitor's issue.

    Returns ``{"action": "opened"|"updated"|"closed"|"none", "number", "url"}``
    (``url`` is the issue's web address, None when there is no issue).
    """
    # GitHub refuses issue and comment bodies over 65,536 characters: shorten, never fail.
    body = shrink(f"{MARKER}\n{body.rstrip()}\n", run_url=run_url)
    return sync(_Issues(client, repo, label, run_url), problem=problem, title=title, body=body, quoted=body,
                closing_note=closing_note, run_id=run_id)


class IssueSite(Protocol):
    """A forge's issues as :func:`sync` drives them (GitHub's below, GitLab's in :mod:`ci_mlops.gitlab.issues`)."""

    def find_open(self) -> dict[str, Any] | None:
        """The monitor's open issue: labelled, marked and opened by the token's own account."""

    def create(self, title: str, body: str) -> dict[str, Any]:
        """Open the issue with the label, once even when the answer is lost."""

    def update(self, issue: dict[str, Any], title: str, body: str) -> dict[str, Any]: ...

    def note_once(self, issue: dict[str, Any], stamp: str, text: str) -> None:
        """Post ``text``, shortened to the forge's limit, once: a note carrying ``stamp`` is already it."""

    def close(self, issue: dict[str, Any]) -> dict[str, Any]: ...

    def outcome(self, action: str, issue: dict[str, Any]) -> IssueOutcome:
        """The outcome from the forge's own fields for an issue's number and address (:func:`issue_outcome`)."""


def sync(site: IssueSite, *, problem: bool, title: str, body: str, quoted: str, closing_note: str,
         run_id: str | None) -> IssueOutcome:
    """The monitor's one flow on any forge: update the open issue or open one while ``problem``; once
    the problem is gone, post the closing note (quoting ``quoted``) and close the issue."""
    existing = site.find_open()
    if problem:
        if existing is not None:
            return site.outcome("updated", site.update(existing, title, body))
        return site.outcome("opened", site.create(title, body))
    if existing is None:
        return {"action": "none", "number": None, "url": None}
    # Unique per run, so an old note on a reopened issue never stands for this one.
    stamp = f"<!-- ci-mlops:drift-closed {run_id or uuid.uuid4().hex} -->"
    site.note_once(existing, stamp, f"{stamp}\n{closing_note}\n\n{quoted}")
    return site.outcome("closed", site.close(existing))


@dataclass(frozen=True)
class _Issues:
    client: GitHubClient
    repo: str
    label: str
    run_url: str | None

    def find_open(self) -> dict[str, Any] | None:
        return find_open_issue(self.client, self.repo, self.label)

    def create(self, title: str, body: str) -> dict[str, Any]:
        return self.client.create_once(self.client.repo_path(self.repo, "issues"),
                                       {"title": title, "body": body, "labels": [self.label]}, find=self.find_open)

    def update(self, issue: dict[str, Any], title: str, body: str) -> dict[str, Any]:
        return self._edit(issue, {"title": title, "body": body})

    def note_once(self, issue: dict[str, Any], stamp: str, text: str) -> None:
        comments = self.client.repo_path(self.repo, "issues", issue["number"], "comments")

        def find() -> dict[str, Any] | None:
            return next((c for c in self.client.paginate(comments) if stamp in (c.get("body") or "")), None)

        self.client.create_once(comments, {"body": shrink(text, run_url=self.run_url)}, find=find)

    def close(self, issue: dict[str, Any]) -> dict[str, Any]:
        return self._edit(issue, {"state": "closed", "state_reason": "completed"})

    def _edit(self, issue: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        edited: dict[str, Any] = self.client.request_json(
            "PATCH", self.client.repo_path(self.repo, "issues", issue["number"]), json=change)
        return edited

    def outcome(self, action: str, issue: dict[str, Any]) -> IssueOutcome:
        return issue_outcome(action, issue.get("number"), issue.get("html_url"))
