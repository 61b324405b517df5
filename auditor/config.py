"""Configuration: `[tool.upsert-audit]` in pyproject.toml, overridden by flags.

The file is found by walking up from the audited path, as Ruff does. Unknown keys
and bad values are errors that name the key: a typo must not silently turn a
check off.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from auditor.dialects import canonical_dialect

SECTION = "upsert-audit"


class ConfigError(Exception):
    """Bad configuration or usage; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class Config:
    root: Path  # the project root: paths in output are relative to it
    dialect: str | None = None
    schema: tuple[Path, ...] = ()  # absolute; empty = discover under root
    source: Path | None = None  # the pyproject.toml read, if any


def find_pyproject(start: Path) -> tuple[Path, dict] | None:
    """The nearest pyproject.toml at or above `start` that has our section."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise ConfigError(f"{candidate}: not valid TOML: {error}") from None
            section = data.get("tool", {}).get(SECTION)
            if section is not None:
                return candidate, section
    return None


def _dialect(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: `dialect` must be a string, got {value!r}")
    try:
        return canonical_dialect(value)
    except ValueError as error:
        raise ConfigError(f"{where}: `dialect`: {error}") from None


def _schema_paths(value: object, base: Path, where: str) -> tuple[Path, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{where}: `schema` must be a path or a list of paths, got {value!r}")
    paths = tuple((base / v).resolve() for v in items)
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{where}: `schema`: {path} does not exist")
    return paths


KNOWN_KEYS = {"dialect", "schema"}


def load_config(target: Path, dialect: str | None = None, schema: list[str] | None = None) -> Config:
    """Effective configuration for auditing `target`; flags win over the file."""
    target = target.resolve()
    if not target.exists():
        raise ConfigError(f"{target}: no such file or directory")
    found = find_pyproject(target)
    if found:
        source, section = found
        where = f"{source} [tool.{SECTION}]"
        unknown = sorted(set(section) - KNOWN_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)} (known: {', '.join(sorted(KNOWN_KEYS))})")
        root = source.parent
        file_dialect = _dialect(section["dialect"], where) if "dialect" in section else None
        file_schema = _schema_paths(section["schema"], root, where) if "schema" in section else ()
    else:
        source, root, file_dialect, file_schema = None, (target if target.is_dir() else target.parent), None, ()

    flag_dialect = _dialect(dialect, "--dialect") if dialect else None
    flag_schema = _schema_paths(schema, Path.cwd(), "--schema") if schema else ()
    return Config(
        root=root,
        dialect=flag_dialect or file_dialect,
        schema=flag_schema or file_schema,
        source=source,
    )
