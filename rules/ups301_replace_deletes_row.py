"""UPS301: REPLACE / INSERT OR REPLACE used as an upsert deletes the old row."""

from auditor.arbiter import hittable_keys
from auditor.evidence import sql_table_name, table_keys_evidence
from auditor.findings import FixSafety
from auditor.model import Severity
from auditor.rulebook import Invalid, Rule, Valid, Violation
from auditor.sites import WriteKind
from auditor.sql.holes import COLUMNS, TABLE

SCHEMA = "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, login_count int NOT NULL DEFAULT 0);"
SETUP = "INSERT INTO users (id, email, login_count) VALUES (1, 'a@example.com', 42)"
LOGINS = "SELECT login_count FROM users WHERE id = 1"
WITH_CHILDREN = SCHEMA + """
CREATE TABLE sessions (id int PRIMARY KEY, user_id int NOT NULL, FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
"""
CHILD = SETUP + "; INSERT INTO sessions (id, user_id) VALUES (10, 1)"
SESSIONS = "SELECT count(*) FROM sessions"
SETTINGS = "CREATE TABLE settings (name varchar(50) PRIMARY KEY, value varchar(100) NOT NULL);"
MAPSETS = "CREATE TABLE mapsets (server varchar(10) NOT NULL, id int NOT NULL, checked int NOT NULL, PRIMARY KEY (server, id), UNIQUE (id));"
EVENTS = "CREATE TABLE events (id integer PRIMARY KEY AUTO_INCREMENT, name varchar(50) NOT NULL, hits int NOT NULL DEFAULT 0);"
EVENTS_SQLITE = "CREATE TABLE events (id integer PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL, hits int NOT NULL DEFAULT 0);"


class ReplaceDeletesRow(Rule):
    id = "UPS301"
    name = "replace-deletes-row"
    severity = Severity.WARNING
    fix_safety = FixSafety.UNSAFE
    dialects = ("sqlite", "mysql")
    needs = frozenset({TABLE, COLUMNS})
    claim = "overwrites"
    fails_at_planning = False

    what = """
Checks for MySQL/MariaDB `REPLACE INTO`, SQLite `INSERT OR REPLACE` / `REPLACE INTO`, and the
ORM calls that emit them (peewee `replace()`, `on_conflict_replace()`, SQLAlchemy
`prefix_with("OR REPLACE")`), where the delete loses something: columns the statement does
not set, child rows of a foreign key that references the table, a second row it clashes with
on another unique key; or where the row can hit no unique key at all, so every call adds a row.

A REPLACE that writes every column of a table no foreign key references (a settings row
rewritten whole) loses nothing and is not reported.
"""
    why = """
REPLACE is not an update: it deletes every row the new one clashes with, on any unique key,
and inserts a new row. Columns the statement does not list go back to their defaults (a login
count of 42 becomes 0), an auto-generated id changes, one statement can delete several rows,
and `ON DELETE CASCADE` deletes the children of the replaced row even when its primary key
stays the same. None of it raises an error.

It warns where the statement loses something: columns it does not list, children through a
foreign key. It says `info` where nothing of that is at stake: a REPLACE that writes every
column and only the other unique keys of the row could pick a second row to delete (an id and
a hash of one thing), or a REPLACE that can hit no key at all (a plain insert: every call adds
a row).
"""
    example = """
```sql
REPLACE INTO users (id, email) VALUES (%s, %s);  -- login_count reset, sessions deleted
```
"""
    use_instead = """
An upsert that updates the listed columns in place:

```sql
INSERT INTO users (id, email) VALUES (%s, %s)
ON DUPLICATE KEY UPDATE email = VALUES(email);              -- MySQL / MariaDB
INSERT INTO users (id, email) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET email = excluded.email;      -- SQLite
```
"""

    examples = (
        Invalid(SCHEMA, "INSERT OR REPLACE INTO users (id, email) VALUES (1, 'a@example.com')", setup=SETUP, observe=LOGINS,
                dialects=("sqlite",), note="the unlisted login_count is reset to its default"),
        Invalid(SCHEMA, "REPLACE INTO users (id, email) VALUES (1, 'a@example.com')", setup=SETUP, observe=LOGINS,
                dialects=("mysql", "sqlite")),
        Invalid(WITH_CHILDREN, "REPLACE INTO users (id, email, login_count) VALUES (1, 'a@example.com', 42)", setup=CHILD,
                observe=SESSIONS, dialects=("mysql", "sqlite"), note="same primary key, yet the child rows cascade away"),
        Invalid(EVENTS, "REPLACE INTO events (name) VALUES ('deploy')", claim="duplicates", dialects=("mysql",),
                note="the only key is the generated id: every call adds a row"),
        Invalid(EVENTS_SQLITE, "INSERT OR REPLACE INTO events (name) VALUES ('deploy')", claim="duplicates", dialects=("sqlite",)),
        Valid(SCHEMA, "INSERT INTO users (id, email) VALUES (1, 'a@example.com') ON CONFLICT (id) DO UPDATE SET email = excluded.email",
              setup=SETUP, observe=LOGINS, dialects=("sqlite",)),
        Valid(SETTINGS, "REPLACE INTO settings (name, value) VALUES ('theme', 'dark')", setup="INSERT INTO settings VALUES ('theme', 'light')",
              observe="SELECT count(*) FROM settings", dialects=("mysql", "sqlite"),
              note="every column written, one key, nothing references the table: the row is rewritten whole"),
        Valid(MAPSETS, "REPLACE INTO mapsets (server, id, checked) VALUES ('a', 5, 2)", setup="INSERT INTO mapsets VALUES ('a', 5, 1)",
              observe="SELECT count(*) FROM mapsets", dialects=("mysql", "sqlite"),
              note="the primary key holds the unique id: both keys can only ever pick the same row"),
        Valid(WITH_CHILDREN, "INSERT INTO users (id, email) VALUES (1, 'a@example.com') ON DUPLICATE KEY UPDATE email = VALUES(email)",
              setup=CHILD, observe=SESSIONS, dialects=("mysql",)),
    )

    def check(self, site, table):
        statement = site.statement
        if statement.kind is not WriteKind.REPLACE:
            return
        name = sql_table_name(table, site.dialect)
        keys = hittable_keys(statement, table)
        if not keys:
            yield Violation(
                message=(f"REPLACE into {name} can hit no unique key with the columns it writes "
                         f"({', '.join(statement.columns)}): every call adds a row, none is replaced"),
                fix="Write the columns of the unique key that identifies the row, or add the key it is meant to replace by.",
                evidence=table_keys_evidence(table),
                severity=Severity.INFO,  # a plain insert: nothing is deleted, so nothing is lost
            )
            return
        unlisted = [c for c in table.columns if statement.columns and c not in statement.columns]
        children = sorted({str(child) for child, _fk in table.referenced_by})
        losses = []
        if unlisted:
            losses.append(f"columns it does not list ({', '.join(unlisted)}) go back to their defaults")
        if children:
            losses.append(f"rows of {', '.join(children)} that reference the deleted row are deleted with it (ON DELETE "
                          f"CASCADE) or make the statement fail")
        # A key that holds another key's columns never clashes with a row that one does not:
        # only keys without such a sub-key can each pick a different row to delete.
        minimal = [k for k in keys if not any(o.column_set < k.column_set for o in keys)]
        # A row clashing on another key is deleted too: data lost only where the keys can
        # name different rows, which the code usually rules out (an id and a hash of one
        # thing): info unless the statement loses something else as well.
        other_keys = len(minimal) > 1
        if other_keys:
            losses.append(f"a row clashing on another of its unique keys ({'; '.join(k.describe() for k in minimal[1:])}) is deleted too")
        if not losses:
            return  # the whole row is rewritten, and nothing hangs off it
        key = ", ".join(e.text for e in keys[0].elements) if len(keys) == 1 else "<key>"
        listed = [c for c in statement.columns if c not in keys[0].element_set]
        if site.dialect == "mysql":
            upsert = "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in listed)
        else:
            upsert = f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in listed)
        yield Violation(
            message=f"REPLACE into {name} deletes the row it clashes with and inserts a new one: " + "; ".join(losses),
            fix=f"Use an upsert that updates in place: INSERT ... {upsert}.",
            evidence=table_keys_evidence(table),
            severity=Severity.INFO if other_keys and len(losses) == 1 else None,
        )
