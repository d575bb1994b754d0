"""The configuration reference in docs/config.md and README.md is generated from the schema and up to date."""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("gen_config_docs", ROOT / "tools" / "gen_config_docs.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def test_generated_reference_is_up_to_date():
    # Only the schema-derived parts: a colleague's new docs/*.md must not break the suite
    # (`python tools/gen_config_docs.py` also refreshes README's docs index).
    schema = json.loads(gen.SCHEMA.read_text())
    hint = "stale; run: python tools/gen_config_docs.py"
    assert gen.DOC.read_text() == gen.render_doc(schema), f"docs/config.md is {hint}"
    readme = gen.README.read_text()
    assert readme == gen.embed(readme, gen.reference(schema, heading="###")), f"README.md's configuration section is {hint}"


def test_docs_index_lists_the_docs(tmp_path):
    (tmp_path / "b.md").write_text("intro\n# Bee docs\n")
    (tmp_path / "a.md").write_text("no heading\n")
    assert gen.docs_index(tmp_path) == "- [a](docs/a.md)\n- [Bee docs](docs/b.md)\n"


def test_every_schema_key_is_documented():
    schema = json.loads(gen.SCHEMA.read_text())
    doc = gen.DOC.read_text()
    for name, node in schema["properties"].items():
        assert f"`{name}`" in doc
        for child in node.get("properties", {}):
            assert f"`{name}.{child}`" in doc


def test_a_schema_change_makes_the_docs_stale():
    schema = json.loads(gen.SCHEMA.read_text())
    changed = copy.deepcopy(schema)
    changed["properties"]["drift"]["properties"]["schedule"]["default"] = "0 7 * * 2"
    assert gen.render_doc(changed) != gen.render_doc(schema)
    assert "`\"0 7 * * 2\"`" in gen.render_doc(changed)


def test_embed_needs_both_markers():
    with pytest.raises(SystemExit, match="markers"):
        gen.embed("# no markers here\n", "body")
    assert gen.embed(f"a\n{gen.BEGIN}\nold\n{gen.END}\nz", "new\n") == f"a\n{gen.BEGIN}\nnew\n{gen.END}\nz"


def test_readme_links_and_setup_commands():
    import re

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README links to missing {target}"
    assert "bash .ci/demo" in readme and "bash .ci/run" in readme
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")
