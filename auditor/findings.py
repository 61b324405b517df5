"""What a rule reports, and how fixes are classed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from auditor.model import Location, Severity


class FixSafety(enum.Enum):
    SAFE = "safe"  # behaviour-preserving rewrite
    UNSAFE = "unsafe"  # needs review; applied only when asked
    MIGRATION = "migration"  # the fix is a schema change
    NONE = "none"  # report only


@dataclass(frozen=True)
class Evidence:
    """A schema fact that backs the finding, with where it was defined."""

    description: str
    origin: Location | None = None


@dataclass(frozen=True)
class Finding:
    rule: str  # stable id, e.g. UPS001
    name: str  # e.g. conflict-target-not-unique
    severity: Severity
    location: Location  # the execute call
    message: str
    fix: str  # the recommended fix, in words (and SQL where it helps)
    fix_safety: FixSafety
    fix_code: str | None = None  # paste-ready SQL (or code) that applies the fix
    table: str | None = None
    sql: str | None = None
    sql_origin: Location | None = None  # related location: where the SQL was written
    through: tuple[Location, ...] = ()  # related locations: the calls inside the project's helpers that run the SQL
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
