"""GitHub Releases, created and finished idempotently.

A release is created as a draft, its assets are uploaded through the
``upload_url`` the API returns (a different host on github.com; GitHub
Enterprise Server works unchanged), and only then is it published. Re-running
the same tag finds the release by its tag and finishes it (only a release ci-mlops
made: its notes start with :data:`~ci_mlops.deploy.host.MARKER` or it has a lineage.json; one a person
made is refused unless adopted explicitly): an asset already
there with the same name and content is kept, a missing or half-uploaded one is
uploaded, and one with different content stops the run with a clear message; it
is never overwritten. When a step fails, the error says what was done and how to
finish, so a half-done release is never left behind silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ci_mlops.deploy.host import (
    Asset,
    AssetConflict,
    ForeignRelease,
    ReleaseOutcome,
    RunFacts,
    made_by_ci_mlops,
    release_body,
)
from ci_mlops.errors import CiMlopsError
from ci_mlops.github.client import ApiError, GitHubClient


class Releases:
    """The releases of one repository, through a :class:`~ci_mlops.github.client.GitHubClient`:
    the GitHub :class:`~ci_mlops.deploy.host.ReleaseHost`."""

    kind = "GitHub release"

    def __init__(self, client: GitHubClient, repo: str, *, log: Callable[[str], None] = lambda _m: None):
        self.client = client
        self.repo = repo
        self.log = log

    def _path(self, *parts: str | int) -> str:
        return self.client.repo_path(self.repo, *parts)

    def find(self, tag: str) -> dict[str, Any] | None:
        """The release for ``tag``, drafts included (GitHub's by-tag lookup does not return drafts)."""
        try:
            found: dict[str, Any] = self.client.get_json(self._path("releases", "tags", tag))
            return found
        except ApiError as exc:
            if exc.status != 404:
                raise
        for release in self.client.paginate(self._path("releases")):
            if release.get("tag_name") == tag:
                return release
        return None

    def assets(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.client.paginate(self._path("releases", release["id"], "assets")))

    def read_asset(self, release: dict[str, Any], name: str) -> bytes | None:
        """The bytes of the asset called ``name``, or None when the release has none."""
        for asset in self.assets(release):
            if asset.get("name") == name and asset.get("state", "uploaded") == "uploaded":
                return self.client.download(asset["url"])
        return None

    def workflow_run(self, run_id: str) -> RunFacts:
        """The Actions workflow run ``run_id`` of this repository."""
        run: dict[str, Any] = self.client.request_json("GET", self._path("actions", "runs", run_id))
        actor = run.get("actor")
        return RunFacts.of(run.get("head_sha"), actor.get("login") if isinstance(actor, dict) else None)

    def publish(self, tag: str, *, title: str, body: str, prerelease: bool, draft: bool,
                assets: list[Asset], release: dict[str, Any] | None = None, adopt: bool = False) -> ReleaseOutcome:
        """Create or finish the release for ``tag`` with exactly ``assets``; see the module docstring.

        An existing release that ci-mlops did not create is refused (:class:`ForeignRelease`)
        unless ``adopt``: then its title and notes are replaced and the assets added.
        """
        outcome = ReleaseOutcome()
        try:
            self._publish(outcome, tag, title=title, body=release_body(body), prerelease=prerelease, draft=draft,
                          assets=assets, release=release, adopt=adopt)
        except ForeignRelease:
            raise  # nothing was done; the progress note would only mislead
        except CiMlopsError as exc:  # keep the type (and exit code), add what was done and how to finish
            exc.message = f"{exc.message} [{_progress(outcome, tag, draft)}]"
            exc.args = (exc.message,)
            raise
        return outcome

    def _publish(self, outcome: ReleaseOutcome, tag: str, *, title: str, body: str, prerelease: bool, draft: bool,
                 assets: list[Asset], release: dict[str, Any] | None, adopt: bool) -> None:
        release = release or self.find(tag)
        if release is None:
            payload = {"tag_name": tag, "name": title, "body": body, "draft": True, "prerelease": prerelease}
            try:
                release = self.client.create_once(self._path("releases"), payload, lambda: self.find(tag))
                outcome.created = True
                self.log(f"created draft release {tag}")
            except ApiError as exc:  # someone (a parallel run) created it meanwhile
                if "already_exists" not in exc.error_codes:
                    raise
                release = self.find(tag)
                if release is None:
                    raise
        existing = {a["name"]: a for a in self.assets(release)}
        if not outcome.created:
            uploaded = {n for n, a in existing.items() if a.get("state", "uploaded") == "uploaded"}
            state = "draft" if release.get("draft") else "published"
            if made_by_ci_mlops(release, uploaded):
                self.log(f"found release {tag} ({state}); finishing it")
            elif adopt:
                self.log(f"adopting release {tag} ({state}), which ci-mlops did not create (--adopt-release)")
            else:
                raise ForeignRelease(
                    f"release {tag} already exists and was not made by ci-mlops (no lineage.json asset, no "
                    "ci-mlops marker in its notes); nothing was changed: delete it on GitHub and re-run, or re-run "
                    "with --adopt-release to let ci-mlops replace its title and notes and attach the release files")
        outcome.release = release
        # Check every asset before uploading any, so a conflict changes nothing.
        plan: list[Asset] = []
        for asset in assets:
            current = existing.get(asset.name)
            if current is None:
                plan.append(asset)
            elif current.get("state", "uploaded") != "uploaded":  # an upload that died half-way
                self.client.request("DELETE", current["url"])
                outcome.replaced_broken.append(asset.name)
                plan.append(asset)
            elif self._same(current, asset):
                outcome.kept.append(asset.name)
            else:
                raise AssetConflict(
                    f"release {tag} already has an asset '{asset.name}' with different content "
                    f"(sha256 {self._digest(current)[:12]}... there, {asset.sha256[:12]}... here); it was not "
                    "overwritten: delete that asset (or the whole release) on GitHub and re-run, or release a new tag")
        for asset in plan:
            try:
                self.client.upload_asset(release["upload_url"], asset.name, asset.file.read_bytes(), asset.content_type)
            except ApiError as exc:  # a lost answer whose retry met the first upload
                if "already_exists" not in exc.error_codes:
                    raise
                again = {a["name"]: a for a in self.assets(release)}.get(asset.name)
                if again is None or not self._same(again, asset):
                    raise AssetConflict(f"release {tag}: asset '{asset.name}' appeared during the upload with "
                                        "different content; delete it on GitHub and re-run") from exc
            outcome.uploaded.append(asset.name)
            self.log(f"uploaded {asset.name} ({asset.size} bytes)")

        changes: dict[str, Any] = {}
        if release.get("body", "") != body:
            changes["body"] = body
        if release.get("name") != title:
            changes["name"] = title
        if bool(release.get("prerelease")) != prerelease:
            changes["prerelease"] = prerelease
        if release.get("draft") and not draft:
            changes["draft"] = False
        if changes:
            release = self.client.request_json("PATCH", self._path("releases", release["id"]), json=changes)
            outcome.release = release
        outcome.published = not release.get("draft", False)
        if outcome.published and "draft" in changes:
            self.log(f"published release {tag}")

    def _digest(self, current: dict[str, Any]) -> str:
        digest = current.get("digest") or ""
        if digest.startswith("sha256:"):
            return digest[len("sha256:"):]
        return hashlib.sha256(self.client.download(current["url"])).hexdigest()

    def _same(self, current: dict[str, Any], asset: Asset) -> bool:
        if current.get("size") != asset.size:
            return False
        return self._digest(current) == asset.sha256


def _progress(outcome: ReleaseOutcome, tag: str, draft: bool) -> str:
    done = []
    if outcome.created:
        done.append("created the draft release")
    elif outcome.release:
        done.append("found the existing release")
    if outcome.uploaded:
        done.append("uploaded " + ", ".join(outcome.uploaded))
    if outcome.kept:
        done.append("kept " + ", ".join(outcome.kept))
    state = "nothing was published"
    if outcome.release and not outcome.release.get("draft", True):
        state = "the release is public but incomplete"
    elif outcome.release and draft:
        state = "the release stays a draft"
    what = "; ".join(done) if done else "no release was created"
    return f"{what}; {state}; re-run `ci-mlops deploy --tag {tag}` to finish it"


def release_urls(client: GitHubClient, repo: str) -> dict[str, str]:
    """tag -> the URL of its release, for every release of ``repo``."""
    return {r["tag_name"]: r.get("html_url", "") for r in client.paginate(client.repo_path(repo, "releases"))}
