"""Tag grammar: SemVer version tags and GTO registry tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_mlops.deploy.tags import (
    CREATE,
    DEPRECATE,
    DEREGISTER,
    KINDS,
    REGISTER,
    STAGE,
    UNASSIGN,
    VERSION,
    docker_tag,
    meant_as_release,
    parse_all,
    parse_tag,
    previous_tag,
    stage_version,
    version_key,
)
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
    # GTO's counters, single-character names, counter-less assignments, @created
    ("mag-tiles-segmentation@v2.0.0#11", REGISTER, "mag-tiles-segmentation", "2.0.0", None, 11),
    ("churn#prod!#3", UNASSIGN, "churn", None, "prod", 3),
    ("churn@v1.0.0!#4", DEREGISTER, "churn", "1.0.0", None, 4),
    ("churn@deprecated#5", DEPRECATE, "churn", None, None, 5),
    ("churn@created", CREATE, "churn", None, None, None),
    ("churn@created#2", CREATE, "churn", None, None, 2),
    ("churn#prod", STAGE, "churn", None, "prod", None),
    ("churn#prod#0", STAGE, "churn", None, "prod", 0),
    ("a@v1.0.0", REGISTER, "a", "1.0.0", None, None),
    ("m#p#1", STAGE, "m", None, "p", 1),
])
def test_parse_known_forms(raw, kind, name, version, stage, number):
    tag = parse_tag(raw)
    assert (tag.kind, tag.name, tag.version, tag.stage, tag.number) == (kind, name, version, stage, number)
    assert tag.releases == (kind in (VERSION, REGISTER, STAGE))


def test_monorepo_artifact_path():
    tag = parse_tag("pipelines/churn=churn@v1.0.0")
    assert (tag.path, tag.name, tag.artifact) == ("pipelines/churn", "churn", "pipelines/churn:churn")
    tag = parse_tag("pipelines/churn=churn#prod#7")
    assert (tag.path, tag.name, tag.stage, tag.number) == ("pipelines/churn", "churn", "prod", 7)


def test_stage_version_is_the_artifacts_registration_at_the_commit():
    at_commit = parse_all(["churn@v1.0.0#1", "churn@v0.9.0", "other@v9.0.0", "sub=churn@v5.0.0", "v3.0.0"])
    assert stage_version(parse_tag("churn#prod#2"), at_commit) == "1.0.0"
    assert stage_version(parse_tag("sub=churn#prod#2"), at_commit) == "5.0.0"  # dirname is part of the identity
    assert stage_version(parse_tag("lone#prod"), at_commit) == "3.0.0"  # the plain version tag
    assert stage_version(parse_tag("lone#prod"), parse_all(["other@v1.0.0"])) is None


def test_previous_stage_assignment_by_counter_else_by_creation_order():
    counted = parse_all(["m#prod#3", "m#dev#5", "m#prod#9", "m#prod#13", "sub=m#prod#10"])
    assert previous_tag(parse_tag("m#prod#13"), counted).raw == "m#prod#9"
    assert previous_tag(parse_tag("m#prod#3"), counted) is None
    simple = parse_all(["m#prod", "m#dev", "m#prod#2"])  # creation order; one has no counter
    assert previous_tag(parse_tag("m#prod#2"), simple).raw == "m#prod"
    assert previous_tag(parse_tag("m#prod"), simple) is None
    registered = parse_all(["m@v1.0.0#1", "m@v2.0.0#11", "m@v0.0.1#10", "m@v1.0.3#8"])
    assert previous_tag(parse_tag("m@v2.0.0#11"), registered).raw == "m@v1.0.3#8"
    assert previous_tag(parse_tag("m@v0.0.1#10"), registered) is None


@pytest.mark.parametrize("raw, meant", [("1.2.3", True), ("v1.2", True), ("m@1.0", True), ("m#", True),
                                        ("0-git-init", False), ("baseline-experiment", False), ("latest", False)])
def test_tags_with_another_purpose_are_told_apart_from_typos(raw, meant):
    assert meant_as_release(raw) is meant


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
    ("-churn@v1.0.0", "not a valid artifact name"),
    ("churn@1.0.0", "not a SemVer version"),
    ("churn#prod#", "not a stage assignment"),
    ("churn#prod#-1", "not a stage assignment"),
    ("churn##1", "not a stage assignment"),
    ("churn@v1.0.0#", "not a SemVer version"),
    ("churn@v1.0.0!!", "not a SemVer version"),
    ("churn@deprecated!", "not a SemVer version"),
    ("../x=churn@v1.0.0#1x", "not a SemVer version"),
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
        assert tag.kind in KINDS


# GTO's own parser (installed with DVC) is the reference: the same tags are accepted, with the same parts.
@pytest.fixture(scope="module")
def gto_tag():
    return pytest.importorskip("gto.tag")  # here, not at import: GTO costs ~0.3 CPU-s to import


gto_parts = st.one_of(
    st.from_regex(r"\A([a-z0-9._/-]{1,6}=)?[a-zA-Z0-9][a-z0-9_/-]{0,5}\Z"),
    st.text(alphabet="abz09-_./=@#!v", max_size=12),
)
suffixes = st.one_of(
    st.sampled_from(["@v1.0.0", "@v2.0.0-rc.1+b.2", "@v1.0.0!", "#prod", "#prod!", "#p", "@deprecated", "@created",
                     "@latest", "#", "@v1.0", "!"]),
    st.text(alphabet="@#!v0123.-prod", max_size=8),
)
counters = st.sampled_from(["", "#1", "#0", "#11", "#007", "#", "#x", "#1#2"])


@given(artifact=gto_parts, suffix=suffixes, counter=counters)
def test_accepts_exactly_what_gto_accepts(gto_tag, artifact, suffix, counter):
    raw = artifact + suffix + counter
    reference = gto_tag.parse_name(raw, raise_on_fail=False)
    try:
        tag = parse_tag(raw)
    except UserError:
        assert not reference, raw
        return
    if tag.kind == VERSION:  # ours alone: plain SemVer tags
        assert raw.startswith("v")
        return
    assert reference, raw
    assert reference["name"] == tag.artifact
    assert reference.get("version") == (f"v{tag.version}" if tag.version else None)
    assert reference.get("stage") == tag.stage
    assert reference.get("counter") == tag.number
    action = reference.get("action")
    assert (action.value if action else CREATE) == {REGISTER: "register", STAGE: "assign"}.get(tag.kind, tag.kind)


@given(st.text(max_size=200))
def test_docker_tags_are_always_valid(text):
    out = docker_tag(text)
    assert 1 <= len(out) <= 128
    assert out[0] not in ".-"
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in out)
