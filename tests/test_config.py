"""[tool.upsert-audit] is found by walking up; flags win; bad keys are errors that name the key."""

from pathlib import Path

import pytest

from auditor.config import ConfigError, load_config


def _project(tmp_path: Path, section: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.upsert-audit]\n{section}\n")
    (tmp_path / "db").mkdir()
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    return tmp_path


def test_config_found_by_walking_up_and_root_is_its_folder(tmp_path):
    root = _project(tmp_path, 'dialect = "postgresql"\nschema = ["db"]')
    config = load_config(root / "pkg" / "sub")
    assert config.root == root.resolve()
    assert config.dialect == "postgres"
    assert config.schema == ((root / "db").resolve(),)


def test_flags_override_the_file(tmp_path):
    root = _project(tmp_path, 'dialect = "postgres"')
    config = load_config(root, dialect="sqlite")
    assert config.dialect == "sqlite"


def test_without_a_section_the_target_is_the_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    config = load_config(tmp_path)
    assert config.root == tmp_path.resolve()
    assert config.dialect is None and config.schema == ()


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ('dialekt = "postgres"', "dialekt"),
        ('dialect = "oracle"', "dialect"),
        ("dialect = 3", "dialect"),
        ('schema = ["missing"]', "schema"),
        ("schema = 5", "schema"),
        ('helper = "upsert_record"', "helper"),
        ('helper = "my app.upsert"', "helper"),
    ],
)
def test_bad_configuration_names_the_key(tmp_path, section, named):
    root = _project(tmp_path, section)
    with pytest.raises(ConfigError, match=named):
        load_config(root)


def test_helper_is_read_and_printed(tmp_path):
    from auditor.config import describe

    config = load_config(_project(tmp_path, 'helper = "myapp.db.save_row"'))
    assert config.helper == "myapp.db.save_row"
    assert 'helper = "myapp.db.save_row"' in describe(config)
    assert load_config(tmp_path, helper="other.mod.upsert").helper == "other.mod.upsert"  # the flag wins


def test_invalid_toml_is_a_config_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.upsert-audit\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path)


def test_missing_target_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope")
