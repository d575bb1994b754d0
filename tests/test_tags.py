"""Tag grammar: SemVer version tags and GTO registry tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_mlops.deploy.tags import (DEPRECATE, DEREGISTER, REGISTER, STAGE, UNASSIGN, VERSION, docker_tag,
                                  parse_tag, version_key)
from ci_mlops.errors import UserError


@pytest.mark.parametrize("raw, kind, name, version, stage, number", [
    ("v1.2.3", VERSION, None, "1.2.3", None, None),
    ("refs/tags/v0.1.0", VERSION, None, "0.1.0", None, None),
    ("v1.0.0-rc.1+build.5", VERSION, None, "1.0.0-rc.1+build.5", None, None),
    ("churn@v2.0.1", REGISTER, "churn", "2.0.1", None, None),
    ("team/churn-model@v1.0.0-beta", REGISTER, "team/churn-model", "1.0.0-beta", None, None),
    ("churn#prod#3", STAGE, "churn", None, "prod", 3),
    ("churn@v1.0.0!", DEREGISTER, "churn", "1.0.0", None, None),
    ("churn#prod!#4", UNASSIGN, "churn", None, "prod", 4),
    ("churn@deprecated", DEPRECATE, "churn", None, None, None),
])
def test_parse_known_forms(raw, kind, name, version, stage, number):
    tag = parse_tag(raw)
    assert (tag.kind, tag.name, tag.version, tag.stage, tag.number) == (kind, name, version, stage, number)
    assert tag.releases == (kind in (VERSION, REGISTER, STAGE))


def test_monorepo_artifact_path():
    tag = parse_tag("pipelines/churn=churn@v1.0.0")
    assert (tag.path, tag.name, tag.artifact) == ("pipelines/churn", "churn", "pipelines/churn:churn")


def test_prerelease_flag():
    assert parse_tag("v1.0.0-rc.1").prerelease
    assert not parse_tag("v1.0.0+meta").prerelease
    assert not parse_tag("churn#prod#1").prerelease


@pytest.mark.parametrize("raw, fragment", [
    ("1.2.3", "needs a leading v"),
    ("v1.2", "neither a version"),
    ("v01.2.3", "neither a version"),
    ("latest", "neither a version"),
    ("", "no tag given"),
    ("a@v1.0.0", "not a valid artifact name"),
    ("-churn@v1.0.0", "not a valid artifact name"),
    ("churn@1.0.0", "not a SemVer version"),
    ("churn#prod#0", "not a stage assignment"),
    ("churn#prod", "not a stage assignment"),
    ("refs/heads/main", "not a tag ref"),
])
def test_refused_tags_are_one_line(raw, fragment):
    with pytest.raises(UserError) as info:
        parse_tag(raw)
    assert fragment in info.value.message
    assert "\n" not in info.value.message


def test_semver_precedence_matches_the_spec_example():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
               "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


numbers = st.integers(min_value=0, max_value=10**6)
names = st.from_regex(r"\A[a-z0-9][a-z0-9_/-]{0,10}[a-z0-9]\Z")


@given(numbers, numbers, numbers)
def test_every_semver_core_round_trips(major, minor, patch):
    tag = parse_tag(f"v{major}.{minor}.{patch}")
    assert tag.version == f"{major}.{minor}.{patch}"
    assert version_key(tag.version)[:3] == (major, minor, patch)


@given(names, numbers, numbers, numbers)
def test_every_registration_round_trips(name, major, minor, patch):
    tag = parse_tag(f"{name}@v{major}.{minor}.{patch}")
    assert (tag.kind, tag.name, tag.version) == (REGISTER, name, f"{major}.{minor}.{patch}")


@given(names, st.from_regex(r"\A[a-z](?:[a-z0-9-]{0,8}[a-z0-9])?\Z"), st.integers(min_value=1, max_value=10**6))
def test_every_stage_assignment_round_trips(name, stage, number):
    tag = parse_tag(f"{name}#{stage}#{number}")
    assert (tag.kind, tag.name, tag.stage, tag.number) == (STAGE, name, stage, number)


@given(st.text(max_size=30))
def test_arbitrary_text_parses_or_is_refused_cleanly(text):
    try:
        tag = parse_tag(text)
    except UserError as exc:
        assert "\n" not in exc.message
    else:
        assert tag.kind in (VERSION, REGISTER, STAGE, DEREGISTER, UNASSIGN, DEPRECATE)


@given(st.text(max_size=200))
def test_docker_tags_are_always_valid(text):
    out = docker_tag(text)
    assert 1 <= len(out) <= 128
    assert out[0] not in ".-"
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in out)
