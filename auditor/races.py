"""What a racy idiom does on a table, and the fix, worded once for every idiom rule.

Whether a unique key pins the idiom's lookup decides the outcome of two writers
running it at once (catalog section F, reproduced by tests/runtime/test_race_idioms.py):
without one both insert and the table holds duplicates; with one the second insert
fails with the database's unique violation.
"""

from __future__ import annotations

from auditor.arbiter import covering_key
from auditor.evidence import key_evidence, sql_table_name, table_keys_evidence
from auditor.findings import Evidence
from auditor.model import Severity, Table, UniqueKey
from auditor.sites import IdiomKind, IdiomSite

# The "Use instead" of every read-then-write idiom rule: one atomic call on the key.
USE_UPSERT_RECORD = """
One atomic statement on a unique key (add the key first if the table lacks it: `upsert-audit
migrate`); `upsert-audit fix` writes it for you where it can prove the same row is written:

```python
from auditor.upsert import upsert_record

upsert_record(conn, "avatars", {"user_id": user_id, "persona": persona}, conflict=["user_id"])
```
"""

UNIQUE_VIOLATION = {
    "postgres": "23505 unique_violation",
    "sqlite": "UNIQUE constraint failed",
    "mysql": "1062 Duplicate entry",
}


def unique_violation(dialect: str) -> str:
    return UNIQUE_VIOLATION.get(dialect, "a unique violation")


def key_list(columns: tuple[str, ...]) -> str:
    return "(" + ", ".join(columns) + ")"


# Where a unique key on a text column compares it with case, though the lookup ignores case
# (tests/runtime/test_case_folded_lookup_race.py): PostgreSQL's deterministic collations and
# SQLite's BINARY do; MariaDB's and MySQL's default collations compare without case. The audit
# reads no collation, so each claim names the declaration that would change it.
CASE_SENSITIVE_KEYS = {
    "postgres": "only a citext column or a nondeterministic collation would compare without case",
    "sqlite": "unless the column is declared COLLATE NOCASE, which the audit does not read",
}


def case_gap(site: IdiomSite, key: UniqueKey | None, table: Table) -> tuple[str, ...]:
    """The key's columns that the lookup compares ignoring case and the key compares with case:
    two values differing only in case pass the key, though the lookup takes them for one."""
    if key is None or site.dialect not in CASE_SENSITIVE_KEYS:
        return ()
    plain = {e.text for e in key.elements if not e.is_expression}
    return tuple(
        c for c in site.case_folded
        if c in plain and "citext" not in (table.columns[c].type.lower() if c in table.columns else "")
    )


def case_gap_outcome(site: IdiomSite, key: UniqueKey, gap: tuple[str, ...], write: str = "insert") -> str:
    return (
        f"the lookup compares {key_list(gap)} ignoring case, but the {key.describe()} compares it with case "
        f"({CASE_SENSITIVE_KEYS[site.dialect]}): two writers at once with values differing only in case both "
        f"{write}, and the table keeps rows the lookup takes for one; with the same value, the second fails "
        f"with {unique_violation(site.dialect)}"
    )


def race_outcome(site: IdiomSite, table: Table) -> tuple[UniqueKey | None, str]:
    """(the key that pins the lookup or None, what two concurrent writers get)."""
    key = covering_key(table, site.key_columns, site.case_folded)
    if key is None:
        return None, (
            f"no unique key of {sql_table_name(table, site.dialect)} covers {key_list(site.key_columns)}, "
            f"so two writers at once both insert and the table keeps duplicate rows"
        )
    gap = case_gap(site, key, table)
    if gap:
        return key, case_gap_outcome(site, key, gap)
    ending = "which the code catches" if site.call.violation_handled else "which the code does not catch"
    return key, (
        f"the {key.describe()} stops a duplicate, so two writers at once end with the second failing "
        f"with {unique_violation(site.dialect)}, {ending}"
    )


def race_severity(site: IdiomSite, key: UniqueKey | None, table: Table) -> Severity | None:
    """A key that pins the lookup leaves no duplicate, only the loser's unique violation. Where
    the code catches that violation around the insert, the race is handled: info. Where it does
    not, the loser's request fails with an error nobody expected: a warning, as the labelled
    corpus has it (CTFd's registration, healthchecks' membership: BUG). A key that compares
    with case under a lookup that does not (case_gap) lets duplicates through, handled or not."""
    handled = key is not None and site.call.violation_handled and not case_gap(site, key, table)
    return Severity.INFO if handled else None


def race_evidence(key: UniqueKey | None, table: Table) -> tuple[Evidence, ...]:
    return (key_evidence(key),) if key is not None else table_keys_evidence(table)


def upsert_fix(site: IdiomSite, table: Table, key: UniqueKey | None) -> str:
    """The fix in words: one atomic upsert on the key (after the migration that adds it)."""
    gap = case_gap(site, key, table)
    if gap:
        add, target = case_gap_key(site, table, gap)
        return f"{add}, then replace the idiom with one atomic INSERT ... ON CONFLICT ({target}) on it."
    conflict = [e.text for e in key.elements] if key is not None else list(site.key_columns)
    call = f'upsert_record(conn, "{sql_table_name(table, site.dialect)}", {{...}}, conflict={conflict!r})'
    if key is None and site.kind is IdiomKind.DELETE_THEN_INSERT:
        reason = set_replacement_reason(site.key_columns)
        return f"{reason[0].upper()}{reason[1:]}; then use {call}."
    if key is None:
        return (
            f"Add a unique key on {key_list(site.key_columns)} (`upsert-audit migrate` writes the migration that "
            f"removes duplicates first), then replace the idiom with one atomic upsert: {call}."
        )
    return f"Replace the idiom with one atomic upsert on the key: {call} (from auditor.upsert), or INSERT ... ON CONFLICT."


def case_gap_key(site: IdiomSite, table: Table, gap: tuple[str, ...]) -> tuple[str, str]:
    """(the key to add, in words; its ON CONFLICT target): a unique index on the comparison the
    lookup makes, `lower(c)`, which PostgreSQL and SQLite take as a conflict target."""
    elements = [f"lower({c})" if c in gap else c for c in site.key_columns]
    target = ", ".join(f"({e})" if e.startswith("lower(") else e for e in elements)
    name = sql_table_name(table, site.dialect)
    return f"Add a unique index on ({', '.join(elements)}) to {name} (merge the rows that differ only in case first)", target


def set_replacement_reason(columns: tuple[str, ...]) -> str:
    """Why a delete-then-insert gets no key: unlike a lookup that expects one row, a DELETE by
    these columns may clear a set of rows that the inserts then rebuild (a group's
    permissions), and a unique key on them would archive all but one of each set."""
    listed = ", ".join(columns)
    return f"the DELETE by {listed} may remove several rows that the code rebuilds: if one row per {listed} is meant, add that unique key by hand"
