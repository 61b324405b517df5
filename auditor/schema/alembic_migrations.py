"""Alembic revisions as a schema source, replayed statically in their own order.

A revision is a module with module-level `revision` and `down_revision` that uses
`op`. Revisions are ordered by the `down_revision` graph (a tuple is a merge;
independent branches go in path order), and each one's `upgrade()` is read
operation by operation, nested `with op.batch_alter_table(...)` and
`autocommit_block()` blocks included. Every operation becomes the DDL Alembic
emits for it, and `op.execute("...")` is its own SQL.

Names: `op.f("x")` is "x", wherever it stands (constraint, index, column arguments), and no
naming convention rewrites it; a `None` name takes the project's naming convention
(env.py's `target_metadata` is the models' MetaData), else the database's default.
Foreign keys (`sa.ForeignKey` on a column, `sa.ForeignKeyConstraint`, `op.create_foreign_key`)
are named like keys: by the code, the `fk` convention, or the database's default
(`<table>_<cols>_fkey`, `<table>_ibfk_<n>`), so `op.drop_constraint(..., type_="foreignkey")`
finds the one it drops (SQLite names none: there it is a diagnostic).
A revision graph with a missing parent, a cycle or several heads is a diagnostic
naming the files; every revision that can be ordered is still applied.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path

from auditor.dialects import MYSQL, SQLITE
from auditor.model import Diagnostic
from auditor.schema.alembic_flow import Scope, constant_test, dialect_test, existence_guard, function_locals, is_data_construct, is_ddl_text, literal_loop, schema_operations
from auditor.schema.pysource import PythonModule, with_constants, UnreadableSource, call_name, keyword, last_name, modules_mentioning, value
from auditor.schema.source import SchemaSource, quote, quote_table
from auditor.schema.sqlalchemy_constructs import (
    ForeignKeySpec,
    KeySpec,
    TableSpec,
    add_table_item,
    column_reference,
    column_spec,
    convention_name,
    create_index_sql,
    foreign_key_clause,
    index_element,
    index_key,
    is_column_call,
    key_clause,
    resolve_foreign_keys,
    table_ddl,
)
from auditor.schema.sqlalchemy_models import naming_convention

KIND = "alembic migrations"
NEEDLES = (b"down_revision",)


@dataclass
class Revision:
    module: PythonModule
    revision: str
    parents: tuple[str, ...]
    upgrade: ast.FunctionDef | None


@dataclass
class Graph:
    ordered: list[Revision] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_revision(module: PythonModule) -> Revision | None:
    constants = module.constants
    if "revision" not in constants or "down_revision" not in constants:
        return None
    try:
        revision = module.literal(constants["revision"])
        down = module.literal(constants["down_revision"])
    except Exception:  # noqa: BLE001 - a computed id is not a revision we can place
        return None
    if not isinstance(revision, str):
        return None
    parents = tuple(down) if isinstance(down, (tuple, list)) else (() if down is None else (down,))
    upgrade = next((n for n in module.tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    return Revision(module, revision, tuple(str(p) for p in parents), upgrade)


def order_revisions(revisions: list[Revision]) -> Graph:
    """Parents before children (Kahn's algorithm), ties by path; report what cannot be placed."""
    graph = Graph()
    by_id: dict[str, Revision] = {}
    for revision in revisions:
        if revision.revision in by_id:
            graph.diagnostics.append(Diagnostic(revision.module.relative, f"revision {revision.revision} is defined twice (also in {by_id[revision.revision].module.relative}); this file is skipped", None, "migration-graph"))
            continue
        by_id[revision.revision] = revision
    for revision in by_id.values():
        for parent in revision.parents:
            if parent not in by_id:
                graph.diagnostics.append(Diagnostic(revision.module.relative, f"revision {revision.revision}: parent {parent} not found; applied as if it were a root", None, "migration-graph"))
    pending = {r.revision: {p for p in r.parents if p in by_id} for r in by_id.values()}
    while pending:
        ready = sorted((by_id[r] for r, parents in pending.items() if not parents), key=lambda r: r.module.relative)
        if not ready:
            stuck = sorted(by_id[r].module.relative for r in pending)
            graph.diagnostics.append(Diagnostic(stuck[0], f"revisions form a cycle and are not applied: {', '.join(stuck)}", None, "migration-graph"))
            break
        for revision in ready:
            graph.ordered.append(revision)
            del pending[revision.revision]
            for parents in pending.values():
                parents.discard(revision.revision)
    children = {p for r in graph.ordered for p in r.parents}
    heads = [r for r in graph.ordered if r.revision not in children]
    if len(heads) > 1:
        graph.diagnostics.append(Diagnostic(
            heads[-1].module.relative,
            f"{len(heads)} heads ({', '.join(h.revision for h in heads)}): all are applied; `alembic merge` them so upgrade head is defined",
            None, "migration-graph",
        ))
    return graph


# --- operations ----------------------------------------------------------------------

# Positional parameters of each operation; in a batch block the table name is implied.
PARAMETERS = {
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_index": ("index_name", "table_name", "columns"),
    "create_foreign_key": ("constraint_name", "table_name", "referent_table", "local_cols", "remote_cols"),  # table_name: source_table
    "drop_constraint": ("constraint_name", "table_name"),
    "drop_index": ("index_name", "table_name"),
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "execute": ("sqltext",),
}


# Batch operations SQLite can do in place; any other makes Alembic rebuild the table.
IN_PLACE_ON_SQLITE = {"add_column", "create_index", "drop_index"}
# create_foreign_key's own names for what the other operations call table_name and schema
SOURCE_ALIASES = {"source_table": "table_name", "source_schema": "schema"}


class RevisionReader:
    def __init__(self, source: SchemaSource, dialect: str, convention: dict):
        self.source, self.dialect, self.convention = source, dialect, convention
        # Expression indexes created so far, per table: a SQLite batch rebuild loses them,
        # because SQLAlchemy cannot reflect an expression index to copy it.
        self.expression_indexes: dict[str, list[str]] = {}

    def rebuilt_on_sqlite(self, module: PythonModule, body: list[ast.stmt], table: str, line: int) -> None:
        operations = {
            # an added column's foreign key is a constraint Alembic can only add by rebuilding
            "create_foreign_key" if s.value.func.attr == "add_column" and _has_foreign_key(s.value) else s.value.func.attr
            for s in body
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute)
        }
        if self.dialect != SQLITE or operations <= IN_PLACE_ON_SQLITE:
            return
        for index in self.expression_indexes.pop(table, []):
            self.emit(module, f"DROP INDEX IF EXISTS {quote(index, SQLITE)}", line)
            self.diagnose(
                module, line,
                f"batch_alter_table({table!r}) rebuilds the table on SQLite and drops expression index {index} "
                f"(SQLAlchemy cannot reflect it to copy it); re-create it after the batch block",
                "migration-hazard",
            )

    def diagnose(self, module: PythonModule, line: int, message: str, kind: str = "schema-source-error") -> None:
        self.source.diagnostics.append(Diagnostic(module.relative, message, line, kind))

    def name(self, module: PythonModule, node: ast.expr | None) -> str | None:
        """A literal name, or op.f("name") (a FinalName: no naming convention rewrites it), or None."""
        return value(module, node)

    def arguments(self, module: PythonModule, call: ast.Call, operation: str, batch_table: str | None) -> dict[str, ast.expr]:
        names = list(PARAMETERS[operation])
        if batch_table is not None and "table_name" in names:
            names.remove("table_name")
        found = dict(zip(names, call.args))
        for k in call.keywords:
            if k.arg:
                found[SOURCE_ALIASES.get(k.arg, k.arg)] = k.value
        return found

    def read_statements(self, module: PythonModule, body: list[ast.stmt], batch: tuple[str, str | None] | None = None) -> None:
        for statement in body:
            if isinstance(statement, ast.With):
                inner_batch = batch
                for item in statement.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and last_name(call_name(call)) == "batch_alter_table":
                        try:
                            inner_batch = (value(module, call.args[0] if call.args else keyword(call, "table_name")), value(module, keyword(call, "schema")))
                        except UnreadableSource as error:
                            self.diagnose(module, call.lineno, f"batch_alter_table not read ({error}); its operations are skipped")
                            inner_batch = None
                            break
                else:
                    self.read_statements(module, statement.body, inner_batch)
                    if inner_batch is not None and inner_batch is not batch:
                        self.rebuilt_on_sqlite(module, statement.body, inner_batch[0], statement.lineno)
                continue
            if isinstance(statement, (ast.If, ast.For, ast.While, ast.Try)):
                self.control_flow(module, statement, batch)
                continue
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                # `table_name = prefix + "instances"` inside a loop: later operations see it
                module = replace(module, constants=with_constants(module.constants, {statement.targets[0].id: statement.value}))
            # `t = op.create_table(...)` (kept for op.bulk_insert) is the operation too
            call = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
            if isinstance(call, ast.Await):
                call = call.value
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                continue
            operation = call.func.attr
            if operation not in PARAMETERS or operation == "execute" and isinstance(statement, ast.Assign):
                continue  # `rows = conn.execute(...)` reads data
            try:
                self.operation(module, call, operation, batch)
            except UnreadableSource as error:
                self.diagnose(module, call.lineno, f"op.{operation} not read ({error}); the keys it changes are not in the catalog")

    def control_flow(self, module: PythonModule, statement: ast.stmt, batch: tuple[str, str | None] | None) -> None:
        """Read the branch a replay would run (see auditor.schema.alembic_flow)."""
        scope = Scope(module.constants, module.constants)
        operations = schema_operations([statement], set(PARAMETERS), scope)
        if not operations:
            return  # a data migration: rows, not schema
        line = statement.lineno
        if isinstance(statement, ast.If):
            taken = dialect_test(statement.test, scope, self.dialect)
            if taken is None:
                taken = constant_test(statement.test, scope)
            if taken is not None:
                self.read_statements(module, statement.body if taken else statement.orelse, batch)
                return
            guard = existence_guard(statement.test)
            if guard is not None:
                self.diagnose(module, line, f"`if {guard}` read as if it lets its operations run (the earlier revisions decide what is there)", "schema-assumption")
                self.read_statements(module, statement.body, batch)
                return
        elif isinstance(statement, ast.Try):
            self.diagnose(module, line, "a try block is read as if it succeeds; its except handlers are not read", "schema-assumption")
            self.read_statements(module, statement.body + statement.orelse + statement.finalbody, batch)
            return
        elif isinstance(statement, ast.For) and not statement.orelse and (bindings := literal_loop(statement, scope)) is not None:
            for binding in bindings:
                self.read_statements(replace(module, constants=with_constants(module.constants, binding)), statement.body, batch)
            return
        what = "a condition" if isinstance(statement, ast.If) else "a loop"
        self.diagnose(module, line, f"{', '.join(sorted(set(operations)))} inside {what} that depends on run-time data: not read")

    def emit(self, module: PythonModule, sql: str, line: int) -> None:
        self.source.emit(sql, module.relative, line)

    def resolved(self, module: PythonModule, table: str, foreign_keys: list[ForeignKeySpec], line: int) -> list[ForeignKeySpec]:
        """The foreign keys whose targets were read ("table.column" strings: revisions import no models)."""
        for problem in resolve_foreign_keys(foreign_keys, {}):
            self.diagnose(module, line, f"table {table}: {problem}")
        return [fk for fk in foreign_keys if fk.references]

    def operation(self, module: PythonModule, call: ast.Call, operation: str, batch: tuple[str, str | None] | None) -> None:
        args = self.arguments(module, call, operation, batch[0] if batch else None)
        d = self.dialect
        schema = value(module, args.get("schema")) if "schema" in args else (batch[1] if batch else None)
        table = batch[0] if batch else value(module, args.get("table_name")) if "table_name" in args else None
        qualified = quote_table(table, schema, d) if table else None
        line = call.lineno
        if operation == "execute":
            sql = args.get("sqltext")
            if isinstance(sql, ast.Call) and last_name(call_name(sql)) == "text":
                sql = sql.args[0]
            if isinstance(sql, ast.Name) and isinstance(module.constants.get(sql.id), ast.Call):
                sql = module.constants[sql.id]  # stmt = text("..."), or a construct
            if isinstance(sql, ast.Call) and last_name(call_name(sql)) == "text":
                sql = sql.args[0]
            if is_data_construct(sql) or _data_text_everywhere(module, sql):
                return  # table.update().values(...), or a name only ever bound to data statements: rows, not schema
            text = value(module, sql)
            if not isinstance(text, str):
                raise UnreadableSource("op.execute of something other than SQL text")
            self.emit(module, text, line)
        elif operation == "create_table":
            spec = TableSpec(table, schema, line)
            for item in call.args[1:]:
                if is_column_call(item):
                    spec.columns.append(column_spec(item, module))
                elif isinstance(item, ast.Call):
                    add_table_item(spec, item, module, d)
            self.resolved(module, table, spec.all_foreign_keys(), line)
            for sql, sql_line in table_ddl(spec, d, self.convention):
                self.emit(module, sql, sql_line)
        elif operation == "drop_table":
            self.emit(module, f"DROP TABLE {qualified}", line)
        elif operation == "rename_table":
            old = value(module, args["old_table_name"])
            new = value(module, args["new_table_name"])
            self.emit(module, f"ALTER TABLE {quote_table(old, schema, d)} RENAME TO {quote(new, d)}", line)
            if old in self.expression_indexes:
                self.expression_indexes[new] = self.expression_indexes.pop(old)
        elif operation in ("create_unique_constraint", "create_primary_key"):
            columns = [column_reference(c, module) for c in _elements(args["columns"])]
            kind = "unique" if operation == "create_unique_constraint" else "primary"
            deferrable = bool(value(module, args.get("deferrable"), False))
            initially = str(value(module, args.get("initially"), "") or "").upper()
            key = KeySpec(kind, self.name(module, args.get("constraint_name")), [quote(c, d) for c in columns], columns, line,
                          deferrable=deferrable, initially_deferred=deferrable and initially == "DEFERRED")
            key.name = convention_name(self.convention, kind, table, columns, key.name)
            self.emit(module, f"ALTER TABLE {qualified} ADD {key_clause(key, d)}", line)
        elif operation == "create_index":
            if not value(module, args.get("unique"), False):
                return
            elements = [index_element(e, module, d) for e in _elements(args["columns"])]
            key = index_key(self.name(module, args.get("index_name")), elements, call, module, d)
            self.emit(module, create_index_sql(key, table, schema, d), line)
            if key.name and any(column is None for _, column in elements):
                self.expression_indexes.setdefault(table, []).append(key.name)
        elif operation == "create_foreign_key":
            local = [column_reference(c, module) for c in _elements(args.get("local_cols"))]
            remote = [column_reference(c, module) for c in _elements(args.get("remote_cols"))]
            referent = value(module, args.get("referent_table"))
            if not isinstance(referent, str) or not qualified:
                raise UnreadableSource("create_foreign_key without its tables")
            name = self.name(module, args.get("constraint_name"))
            fk = ForeignKeySpec(local, [], name=name, references=(value(module, args.get("referent_schema")), referent, remote))
            self.emit(module, f"ALTER TABLE {qualified} ADD {foreign_key_clause(fk, table, d, self.convention)}", line)
        elif operation == "drop_constraint":
            name = self.name(module, args.get("constraint_name"))
            type_ = value(module, args.get("type_"))
            if d == SQLITE:
                what = "foreign key" if type_ == "foreignkey" else "key"
                self.diagnose(module, line, f"drop_constraint {name}: SQLite keeps no constraint names, so the {what} stays in the catalog")
            elif d == MYSQL and type_ == "foreignkey":
                self.emit(module, f"ALTER TABLE {qualified} DROP FOREIGN KEY {quote(name, d)}", line)
            elif d == MYSQL and type_ in ("unique", None):
                self.emit(module, f"ALTER TABLE {qualified} DROP INDEX {quote(name, d)}", line)
            elif d == MYSQL and type_ == "primary":
                self.emit(module, f"ALTER TABLE {qualified} DROP PRIMARY KEY", line)
            else:
                self.emit(module, f"ALTER TABLE {qualified} DROP CONSTRAINT {quote(name, d)}", line)
        elif operation == "drop_index":
            name = self.name(module, args.get("index_name"))
            for names in self.expression_indexes.values():
                if name in names:
                    names.remove(name)
            index = quote_table(name, schema, d) if d != MYSQL else quote(name, d)
            self.emit(module, f"DROP INDEX {index}" + (f" ON {qualified}" if d == MYSQL and qualified else ""), line)
        elif operation == "add_column":
            column = column_spec(args["column"], module)
            self.emit(module, f"ALTER TABLE {qualified} ADD COLUMN {quote(column.name, d)} {column.type}{'' if column.nullable else ' NOT NULL'}", line)
            for fk in self.resolved(module, table, column.foreign_keys, line):
                self.emit(module, f"ALTER TABLE {qualified} ADD {foreign_key_clause(fk, table, d, self.convention)}", line)
            if column.unique and not column.index:
                key = KeySpec("unique", None, [quote(column.name, d)], [column.name], line)
                key.name = convention_name(self.convention, "unique", table, [column.name], None)
                self.emit(module, f"ALTER TABLE {qualified} ADD {key_clause(key, d)}", line)
            elif column.unique:
                key = KeySpec("index", convention_name(self.convention, "index", table, [column.name], None), [quote(column.name, d)], [column.name], line)
                self.emit(module, create_index_sql(key, table, schema, d), line)
        elif operation == "drop_column":
            self.emit(module, f"ALTER TABLE {qualified} DROP COLUMN {quote(value(module, args['column_name']), d)}", line)
        elif operation == "alter_column":
            column = value(module, args["column_name"])
            if "nullable" in args:
                # (on SQLite a batch block rebuilds the table; the effect on the catalog is the same)
                change = "DROP NOT NULL" if value(module, args["nullable"]) else "SET NOT NULL"
                self.emit(module, f"ALTER TABLE {qualified} ALTER COLUMN {quote(column, d)} {change}", line)
            if "new_column_name" in args:
                new = value(module, args["new_column_name"])
                self.emit(module, f"ALTER TABLE {qualified} RENAME COLUMN {quote(column, d)} TO {quote(new, d)}", line)


def _data_text_everywhere(module: PythonModule, node: ast.expr | None) -> bool:
    """A name the revision binds only to SQL text that changes no schema (`stmt = "UPDATE ..."` in each branch)."""
    if not isinstance(node, ast.Name):
        return False
    values = [a.value for a in ast.walk(module.tree) if isinstance(a, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in a.targets)]
    scope = Scope(module.constants, {})
    return bool(values) and all(isinstance(v, ast.Constant) and isinstance(v.value, str) and not is_ddl_text(v, scope) for v in values)


def _has_foreign_key(call: ast.Call) -> bool:
    return any(isinstance(n, ast.Call) and last_name(call_name(n)) == "ForeignKey" for n in ast.walk(call))


def _elements(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return list(node.elts)
    raise UnreadableSource("columns are not a list literal")


def read_alembic_migrations(root: Path, files: list[Path], dialect: str) -> SchemaSource:
    source = SchemaSource(KIND, is_migration=True)
    modules, diagnostics = modules_mentioning(root, files, NEEDLES)
    source.diagnostics.extend(diagnostics)
    revisions = [r for r in map(read_revision, modules) if r is not None]
    if not revisions:
        return source
    graph = order_revisions(revisions)
    source.diagnostics.extend(graph.diagnostics)
    # env.py's target_metadata is the models' MetaData. Problems reading its naming
    # convention are the models reader's to report: reported here too, they would show twice.
    model_modules, _ = modules_mentioning(root, files, (b"naming_convention",))
    reader = RevisionReader(source, dialect, naming_convention(model_modules, SchemaSource(KIND, is_migration=True)))
    for revision in graph.ordered:
        source.files.append(revision.module.relative)
        if revision.upgrade is not None:
            # the function's own assignments (`bind = op.get_bind()`, `table = "t"`) are its constants too
            local = function_locals(revision.upgrade.body)
            reader.read_statements(replace(revision.module, constants=with_constants(revision.module.constants, local)), revision.upgrade.body)
    return source
