"""GitLab Releases whose files live in the project's generic package registry.

GitLab releases hold links, not uploads: each file (the model, ``model-card.md``,
``lineage.json``) is uploaded to the generic package registry as
``packages/generic/PACKAGE/VERSION/FILE`` and the release links it (with a
``direct_asset_path``, so ``/-/releases/TAG/downloads/FILE`` is a stable address).

Order makes a half-done release impossible: every file is uploaded and checked first,
then the release is created with all its links in one request. A re-run of the same tag
is idempotent: a package file with the same name and sha256 is kept (GitLab accepts
duplicates, so a lost upload answer is reconciled by listing the files before sending
again), a missing one is uploaded, and one with other content stops the run with a
clear message, never overwritten. A release ci-mlops did not create (no marker in its
description, no lineage.json link) is refused unless adopted. GitLab has no draft
releases: ``deploy.draft`` is reported and ignored. This is GitLab's
:class:`~ci_mlops.deploy.host.ReleaseHost`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ci_mlops.deploy.host import MARKER, Asset, AssetConflict, ForeignRelease, ReleaseOutcome, RunFacts, release_body
from ci_mlops.github.client import ApiError

if TYPE_CHECKING:
    from ci_mlops.gitlab.client import GitLabClient

_PACKAGE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def package_coordinates(model: str, tag: str) -> tuple[str, str]:
    """(package name, version) for a tag's files: GitLab allows letters, digits, ``.``, ``_``, ``-``.

    ``model``: the tag's model (``NAME`` of ``NAME@vX.Y.Z``), else the project's name.
    """
    name = _PACKAGE_CHARS.sub("-", model).strip("-.") or "model"
    version = _PACKAGE_CHARS.sub("-", tag).strip("-.") or "0"
    return name, version


class GitLabReleases:
    """The releases of one project (id or ``group/name``)."""

    kind = "GitLab release"

    def __init__(self, client: GitLabClient, project: str, *, path: str | None = None,
                 log: Callable[[str], None] = lambda _m: None):
        self.client = client
        self.project = project  # what the API is addressed by: the numeric id or the path
        self.repo = path or project  # ``group/name``, as job URLs and messages show it
        self.log = log

    def _path(self, *parts: str | int) -> str:
        return self.client.project_path(self.project, *parts)

    def file_url(self, package: str, version: str, name: str) -> str:
        return self.client.url(self._path("packages", "generic", package, version, name))

    # -- reading (deploy re-runs and audit verify) -------------------------------------------

    def find(self, tag: str) -> dict[str, Any] | None:
        try:
            release: dict[str, Any] = self.client.request_json("GET", self._path("releases", tag))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        release.setdefault("body", release.get("description") or "")  # the field audit reads on both forges
        return release

    def assets(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        """The release's links (every page), each with ``name`` and ``url``."""
        return list(self.client.paginate(self._path("releases", release["tag_name"], "assets", "links")))

    def read_asset(self, release: dict[str, Any], name: str) -> bytes | None:
        """The bytes behind the link called ``name`` (from this GitLab's package registry only)."""
        for link in self.assets(release):
            if link.get("name") == name:
                url = str(link.get("url") or "")
                if not self.client.trusted(url):
                    raise AssetConflict(f"release {release.get('tag_name')}: asset '{name}' links outside this "
                                        f"GitLab ({url[:80]}); not reading it")
                return self.client.download(url)
        return None

    def workflow_run(self, run_id: str) -> RunFacts:
        """The CI job ``run_id`` (a release's ``run_url`` is its job): its commit and the user who started it."""
        job = self.client.request_json("GET", self._path("jobs", run_id))
        commit = job.get("commit") if isinstance(job.get("commit"), dict) else {}
        user = job.get("user") if isinstance(job.get("user"), dict) else {}
        return RunFacts.of(commit.get("id"), user.get("username"))

    def package_files(self, package: str, version: str) -> list[dict[str, Any]]:
        for pkg in self.client.paginate(self._path("packages"), {"package_type": "generic", "package_name": package,
                                                                 "package_version": version}):
            if pkg.get("name") == package and pkg.get("version") == version:
                return list(self.client.paginate(self._path("packages", pkg["id"], "package_files")))
        return []

    # -- publishing ------------------------------------------------------------------------------

    def publish(self, tag: str, *, title: str, body: str, prerelease: bool, draft: bool, assets: list[Asset],
                release: dict[str, Any] | None = None, adopt: bool = False) -> ReleaseOutcome:
        """Upload the files, then create (or finish) the release linking them; see the module docstring."""
        del prerelease  # GitLab releases have no pre-release flag; the lineage records it
        if draft:
            self.log("deploy.draft: GitLab has no draft releases; the release is published")
        package, version = package_coordinates(tag.split("@")[0].split("#")[0] if ("@" in tag or "#" in tag)
                                               else str(self.repo).split("/")[-1], tag)
        outcome = ReleaseOutcome(published=True)
        self._publish(outcome, tag, title=title, body=body, assets=assets, package=package, version=version,
                      existing=release if release is not None else self.find(tag), adopt=adopt)
        outcome.release["id"] = f"{package}/{version}"
        return outcome

    def _publish(self, outcome: ReleaseOutcome, tag: str, *, title: str, body: str, assets: list[Asset],
                 package: str, version: str, existing: dict[str, Any] | None, adopt: bool) -> None:
        description = release_body(body)  # exactly what the lineage records the SHA-256 of
        if existing is not None:
            names = {link.get("name") for link in self.assets(existing)}
            if MARKER not in (existing.get("description") or "") and "lineage.json" not in names and not adopt:
                raise ForeignRelease(
                    f"release {tag} already exists and was not made by ci-mlops (no lineage.json link, no ci-mlops "
                    "marker in its description); nothing was changed: delete it in GitLab and re-run, or re-run "
                    "with --adopt-release")
        files = self._upload(assets, package, version, tag, outcome)
        links = [{"name": a.name, "url": files[a.name], "direct_asset_path": f"/{a.name}",
                  "link_type": "other" if a.name in ("model-card.md", "lineage.json") else "package"}
                 for a in assets]
        if existing is None:
            payload = {"tag_name": tag, "name": title, "description": description, "assets": {"links": links}}
            try:
                release = self.client.create_once(self._path("releases"), payload, lambda: self.find(tag))
                outcome.created = True
            except ApiError as exc:  # 409: a parallel run created it meanwhile
                if exc.status != 409 or (release := self.find(tag)) is None:  # type: ignore[assignment]
                    raise
            self.log(f"created release {tag}")
        else:
            release = existing
        current = {link.get("name"): link for link in self.assets(release)}
        for link in links:
            have = current.get(link["name"])
            if have is None:
                self.client.create_once(self._path("releases", tag, "assets", "links"), link,
                                        self._link_finder(release, link["name"]))
            elif have.get("url") != link["url"]:
                raise AssetConflict(f"release {tag} already links '{link['name']}' to {have.get('url')}, not to the "
                                    f"package file {link['url']}; it was not changed: delete that link and re-run")
        changes = {k: v for k, v in (("name", title), ("description", description)) if release.get(k) != v}
        if changes:
            release = self.client.request_json("PUT", self._path("releases", tag), json=changes)
        # the release's page, where ReleaseOutcome.url (GitHub's html_url) looks for it
        outcome.release = {**release, "html_url": str((release.get("_links") or {}).get("self") or "")}

    def _upload(self, assets: list[Asset], package: str, version: str, tag: str,
                outcome: ReleaseOutcome) -> dict[str, str]:
        """Each asset in the package registry exactly once; ``name -> download URL``."""
        present = self.package_files(package, version)
        plan = []
        for asset in assets:  # check everything before uploading anything
            same = [f for f in present if f.get("file_name") == asset.name]
            if any(f.get("file_sha256") == asset.sha256 for f in same):
                outcome.kept.append(asset.name)
            elif same:
                theirs = str(same[-1].get("file_sha256") or "")
                raise AssetConflict(
                    f"release {tag}: the package {package}/{version} already has '{asset.name}' with different "
                    f"content (sha256 {theirs[:12]}... there, {asset.sha256[:12]}... here); it was not overwritten: "
                    "delete that package file and re-run, or release a new tag")
            else:
                plan.append(asset)
        for asset in plan:
            data = asset.file.read_bytes()
            if hashlib.sha256(data).hexdigest() != asset.sha256:
                raise AssetConflict(f"{asset.file}: changed while releasing (sha256 differs from the lineage)")
            path = self._path("packages", "generic", package, version, asset.name)

            def find(name: str = asset.name, digest: str = asset.sha256) -> dict[str, Any] | None:
                return next((f for f in self.package_files(package, version)
                             if f.get("file_name") == name and f.get("file_sha256") == digest), None)

            self.client._once(self._sender(path, data), find)
            outcome.uploaded.append(asset.name)
            self.log(f"uploaded {asset.name} ({asset.size} bytes) to the package registry")
        return {a.name: self.file_url(package, version, a.name) for a in assets}

    def _sender(self, path: str, data: bytes) -> Callable[[], Any]:
        """One upload; not replayed blindly (GitLab keeps duplicates): a lost answer is looked up first."""
        def send() -> Any:
            return self.client.request("PUT", path, data=data, params={"select": "package_file"}, idempotent=False,
                                       headers={"Content-Type": "application/octet-stream"},
                                       deadline=max(self.client.deadline, 600))
        return send

    def _link_finder(self, release: dict[str, Any], name: str) -> Callable[[], dict[str, Any] | None]:
        def find() -> dict[str, Any] | None:
            return next((link for link in self.assets(release) if link.get("name") == name), None)
        return find
