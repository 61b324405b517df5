"""UPS017: the upserted row also fills another unique key than the conflict target (PostgreSQL, SQLite)."""

from auditor.arbiter import arbiter_keys, hittable_keys
from auditor.evidence import key_evidence, sql_table_name
from auditor.findings import FixSafety
from auditor.model import KeyKind, Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import ConflictAction
from auditor.sql.holes import COLUMNS, TABLE, TARGET

SCHEMA = "CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE, name text);"
SETUP = "INSERT INTO accounts (id, email, name) VALUES (1, 'a@example.com', 'Ann')"
BY_ID = "INSERT INTO accounts (id, email, name) VALUES (2, 'a@example.com', 'Bob') ON CONFLICT (id) {}"
# (tenant, slug) contains the target (tenant): a row that clashes on it has the target's values too.
SUPERSET = "CREATE TABLE spaces (tenant int NOT NULL UNIQUE, slug text NOT NULL, note text, UNIQUE (tenant, slug));"
SUPERSET_SETUP = "INSERT INTO spaces (tenant, slug) VALUES (1, 'a')"
SCOPED = "CREATE TABLE settings (id text PRIMARY KEY, tag text NOT NULL, value text, UNIQUE (id, tag));"
SCOPED_SETUP = "INSERT INTO settings (id, tag, value) VALUES ('a', 'core', 'old')"
BOTH = ("postgres", "sqlite")
CLASH = {
    "sqlstate": "23505", "postgres_message": 'duplicate key value violates unique constraint "accounts_email_key"',
    "sqlite_code": "SQLITE_CONSTRAINT_UNIQUE", "sqlite_error": "UNIQUE constraint failed: accounts.email",
}


class OtherUniqueKeyClash(Rule):
    id = "UPS017"
    name = "other-unique-key-clash"
    # Info: whether another row can hold the other key's values is a fact of the data the code
    # cannot show, and in real tables the other key often follows from the target (the two places
    # it fired on the corpus, lnbits and mautrix, are both labelled correct). Reported for review,
    # it fails no check.
    severity = Severity.INFO
    fix_safety = FixSafety.UNSAFE
    dialects = ("postgres", "sqlite")
    needs = frozenset({TABLE, TARGET, COLUMNS})
    fails_at_planning = False  # it plans fine; the clash comes with the data

    what = """
Checks `INSERT ... ON CONFLICT (target) DO UPDATE / DO NOTHING` (PostgreSQL and SQLite, the
counterpart of MySQL's UPS302) whose inserted row also fills every column of another unique
key than its conflict target. Not reported: a key over columns the statement leaves to their
defaults (a serial id); a key that shares a column with the target: one containing the target
clashes only where the target does (which updates), and one inside it or beside it in the same
scope (`PRIMARY KEY (id)` under a target `(id, tag)`, an event id unique per room under a target
`(message, room, sender)`) is a second identity the code writes consistently, so a clash there
is possible but not what real code meets (precision first); the primary key, which a row
written by another key usually carries as a fresh id the application generated (`uuid4()`); and
a partial unique index (whether the row falls under its predicate is not known).
"""
    why = """
Only the conflict target arbitrates: a clash on any other unique key is an ordinary unique
violation. When the row's other key is already taken by a different row, the statement fails
with `23505` on PostgreSQL (`UNIQUE constraint failed` on SQLite) instead of updating or
skipping, though the code treats it as an upsert that cannot fail on duplicates.
"""
    example = """
```sql
-- accounts: id PRIMARY KEY, email UNIQUE
INSERT INTO accounts (id, email, name) VALUES (%s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;  -- 23505 when another id has this email
```
"""
    use_instead = """
Decide which key identifies the row and make it the conflict target; leave the other unique
columns out of the upsert (or change them with a separate, checked UPDATE), or handle the
unique violation of the other key explicitly:

```sql
INSERT INTO accounts (email, name) VALUES (%s, %s)
ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name;
```
"""

    examples = (
        Invalid(SCHEMA, BY_ID.format("DO UPDATE SET name = EXCLUDED.name"), setup=SETUP, dialects=BOTH,
                note="a new id whose email another account has", **CLASH),
        Invalid(SCHEMA, BY_ID.format("DO NOTHING"), setup=SETUP, dialects=BOTH,
                note="DO NOTHING with a target skips only clashes on that target", **CLASH),
        Valid(SCHEMA, "INSERT INTO accounts (id, name) VALUES (2, 'Bob') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
              setup=SETUP, dialects=BOTH, note="email is not written: no other key to clash on"),
        Valid(SCHEMA, "INSERT INTO accounts (id, email) VALUES (1, 'a@example.com') ON CONFLICT DO NOTHING",
              setup=SETUP, dialects=BOTH, note="no target: every key arbitrates (UPS012's concern)"),
        Valid(SCHEMA, "INSERT INTO accounts (id, email, name) VALUES (3, 'c@example.com', 'Cy') ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name",
              setup=SETUP, dialects=BOTH, note="the primary key beside another target: a fresh id, not reported"),
        Valid(SCOPED, "INSERT INTO settings (id, tag, value) VALUES ('a', 'core', 'v') ON CONFLICT (id, tag) DO UPDATE SET value = EXCLUDED.value",
              setup=SCOPED_SETUP, dialects=BOTH, note="the primary key is inside the target: not reported (see What it does)"),
        Valid(SUPERSET, "INSERT INTO spaces (tenant, slug, note) VALUES (1, 'a', 'n') ON CONFLICT (tenant) DO UPDATE SET note = EXCLUDED.note",
              setup=SUPERSET_SETUP, dialects=BOTH, note="the other key contains the target: its clash is the target's"),
    )

    def check(self, site, table):
        statement = site.statement
        conflict = statement.conflict
        if conflict is None or conflict.action is ConflictAction.DUPLICATE_KEY_UPDATE or not statement.columns:
            return
        if not (conflict.target or conflict.constraint):
            return  # targetless DO NOTHING: every key is an arbiter
        arbiters = arbiter_keys(statement, table, site.dialect)
        if not arbiters or any(k.deferrable for k in arbiters):
            return  # no usable arbiter: UPS001-UPS005 (UPS004: a deferrable one fails with 55000 first)
        target_columns = frozenset().union(*(k.column_set for k in arbiters))
        others = [
            k for k in hittable_keys(statement, table)
            if k not in arbiters and k.kind is not KeyKind.PRIMARY and not k.predicate and not k.column_set & target_columns
        ]
        if not others:
            return
        name = sql_table_name(table, site.dialect)
        action = "skipping" if conflict.action is ConflictAction.NOTHING else "updating"
        error = "23505 unique_violation" if site.dialect == "postgres" else "UNIQUE constraint failed"
        described = "; ".join(k.describe() for k in others)
        yield Violation(
            message=(
                f"the row inserted into {name} also fills {described}, which is not the conflict target "
                f"{conflict.describe_target()}: when another row already has those values the statement fails with "
                f"{error} instead of {action}"
            ),
            fix="Make the key that identifies the row the conflict target and leave the other unique columns out of "
            "the upsert, or handle that key's unique violation explicitly.",
            evidence=tuple(key_evidence(k) for k in (*arbiters, *others)),
        )
