"""Django migrations as a schema source, replayed statically like MigrationLoader.

Migration files are `<app>/migrations/<name>.py` holding `class Migration`. They are
ordered by `dependencies` across apps (`__first__` is an app's root; a swappable
`settings.AUTH_USER_MODEL` dependency is skipped: the user model's app is not known
statically), `run_before`, and `replaces` (a squashed migration stands in for the ones
it replaces, as on a fresh database, whether or not their files are still there). Each operation updates a model state and
emits the DDL Django's schema editor would emit for it (see django_state). Only the
`database_operations` of SeparateDatabaseAndState reach the database; its
`state_operations` change the state alone. RunSQL is parsed; RunPython is ignored.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from auditor.dialects import MYSQL, POSTGRES, SQLITE
from auditor.key_names import postgres_object_name
from auditor.model import Diagnostic
from auditor.schema.django_apps import AppLabels
from auditor.schema.django_state import (
    field_columns,
    FieldState,
    ModelState,
    constraint_sql,
    constraint_state,
    create_model_sql,
    default_table,
    field_state,
    index_name,
    MAX_NAME_LENGTH,
    column_definition,
    foreign_key_clause,
    link_relation,
    through_table,
    unique_together_sql,
    with_field,
)
from auditor.schema.django_bases import ProjectClasses
from auditor.schema.pysource import PythonModule, UnreadableSource, call_name, last_name, modules_mentioning, value
from auditor.schema.source import SchemaSource, quote

KIND = "django migrations"
# Operations that change no table's unique keys: Django's own, and django.contrib.postgres'
# extensions, collations and NOT VALID checks.
NO_KEY_OPERATIONS = frozenset({
    "AlterModelOptions", "AlterModelManagers", "AddIndex", "AddIndexConcurrently", "RemoveIndex", "RemoveIndexConcurrently",
    "RenameIndex", "RunPython", "AlterIndexTogether", "AlterOrderWithRespectTo",
    "CreateExtension", "BloomExtension", "BtreeGinExtension", "BtreeGistExtension", "CITextExtension", "CryptoExtension",
    "HStoreExtension", "TrigramExtension", "UnaccentExtension", "CreateCollation", "RemoveCollation",
    "AddConstraintNotValid", "ValidateConstraint",
})
NEEDLES = (b"migrations.Migration", b"(Migration)")


@dataclass
class Migration:
    module: PythonModule
    app: str
    name: str
    dependencies: list[tuple[str, str]] = field(default_factory=list)
    run_before: list[tuple[str, str]] = field(default_factory=list)
    replaces: list[tuple[str, str]] = field(default_factory=list)
    operations: list[ast.expr] = field(default_factory=list)
    unread: str | None = None  # why (some of) its operations were not read
    # Lists assigned in the Migration class or at module level, by name: `operations =
    # FIELDS + INDEXES`, `SeparateDatabaseAndState(state_operations=state_operations)`.
    lists: dict[str, ast.expr] = field(default_factory=dict)

    def operation_list(self, node: ast.expr | None, depth: int = 0) -> list[ast.expr] | None:
        """The operations a list expression holds: a literal, a name of one, or `a + b`;
        None when it is anything else (decided at run time)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return list(node.elts)
        if isinstance(node, ast.Name) and node.id in self.lists and depth < 8:
            return self.operation_list(self.lists[node.id], depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.operation_list(node.left, depth + 1), self.operation_list(node.right, depth + 1)
            return None if left is None or right is None else left + right
        return None

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.name)


def read_migration(module: PythonModule, labels: AppLabels) -> Migration | None:
    path = PurePosixPath(module.relative)
    if len(path.parts) < 3 or path.parts[-2] != "migrations" or path.name == "__init__.py":
        return None
    node = next((n for n in module.tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None)
    if node is None:
        return None
    migration = Migration(module, labels.label(module.path.parent.parent), path.stem)
    for statement in (*module.tree.body, *node.body):  # the class's own names shadow the module's
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            migration.lists[statement.targets[0].id] = statement.value
    for statement in node.body:
        if isinstance(statement, (ast.If, ast.AugAssign, ast.For)) and any(isinstance(n, ast.Name) and n.id == "operations" for n in ast.walk(statement)):
            what = {ast.If: "an if", ast.For: "a for", ast.AugAssign: "an augmented assignment"}[type(statement)]
            migration.unread = f"operations changed in {what} at line {statement.lineno}, decided at run time"
            continue
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
            continue
        name, node_value = statement.targets[0].id, statement.value
        if name == "operations" and (operations := migration.operation_list(node_value)) is not None:
            migration.operations = operations
        elif name == "operations":  # `[...] if settings.X else []`: decided by the project's settings
            migration.unread = f"operations = {ast.unparse(node_value)[:60]} is not a list literal"
        elif name in ("dependencies", "run_before", "replaces") and isinstance(node_value, (ast.List, ast.Tuple)):
            pairs = []
            for item in node_value.elts:
                if isinstance(item, ast.Tuple) and len(item.elts) == 2:
                    try:
                        pairs.append((str(value(module, item.elts[0])), str(value(module, item.elts[1]))))
                    except UnreadableSource:
                        continue
            setattr(migration, name, pairs)
    return migration


def order_migrations(migrations: list[Migration]) -> tuple[list[Migration], list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    nodes = {m.key: m for m in migrations}
    # On a fresh database (none of the replaced migrations applied) Django's loader always uses
    # the squashed migration, whether the files it replaces are all there, some, or none
    # (projects delete them once everyone has migrated past them).
    for squashed in [m for m in migrations if m.replaces]:
        for replaced in squashed.replaces:
            nodes.pop(replaced, None)
    replaced_by = {r: m.key for m in nodes.values() for r in m.replaces}
    first = {}
    for app in {k[0] for k in nodes}:
        roots = sorted(k for k in nodes if k[0] == app and not any(d[0] == app for d in nodes[k].dependencies))
        if roots:
            first[app] = roots[0]
    parents: dict[tuple[str, str], set[tuple[str, str]]] = {k: set() for k in nodes}
    for key, migration in nodes.items():
        for dependency in migration.dependencies:
            if dependency[1] == "__first__":
                dependency = first.get(dependency[0], dependency)
            dependency = replaced_by.get(dependency, dependency)
            if dependency in nodes:
                parents[key].add(dependency)
            elif dependency[0] not in ("auth", "contenttypes", "sessions", "admin", "__setting__"):
                diagnostics.append(Diagnostic(migration.module.relative, f"dependency {dependency[0]}.{dependency[1]} not found; applied without it", None, "migration-graph"))
        for before in migration.run_before:
            if before in parents:
                parents[before].add(key)
    has_children = {p for found in parents.values() for p in found}
    ordered: list[Migration] = []
    while parents:
        ready = sorted(k for k, p in parents.items() if not p)
        if not ready:
            stuck = sorted(nodes[k].module.relative for k in parents)
            diagnostics.append(Diagnostic(stuck[0], f"migrations form a cycle and are not applied: {', '.join(stuck)}", None, "migration-graph"))
            break
        for key in ready:
            ordered.append(nodes[key])
            del parents[key]
            for remaining in parents.values():
                remaining.discard(key)
    for app in sorted({m.app for m in ordered}):
        leaves = [m for m in ordered if m.app == app and m.key not in has_children]
        if len(leaves) > 1:
            diagnostics.append(Diagnostic(leaves[-1].module.relative, f"app {app} has {len(leaves)} leaf migrations ({', '.join(m.name for m in leaves)}): all are applied; run makemigrations --merge", None, "migration-graph"))
    return ordered, diagnostics


class Replayer:
    """Applies operations to the model state and emits their DDL."""

    def __init__(self, source: SchemaSource, dialect: str, root: Path | None = None):
        self.source, self.dialect = source, dialect
        self.models: dict[tuple[str, str], ModelState] = {}
        self.classes = ProjectClasses(root) if root is not None else None  # the project's own operations
        self.deleted: dict[tuple[str, str], ModelState] = {}  # models a later migration dropped

    def model(self, app: str, name: str) -> ModelState:
        key = (app, name.lower())
        if key not in self.models:
            raise UnreadableSource(f"model {app}.{name} is not in the migration state")
        return self.models[key]

    def find(self, target: str, app: str) -> ModelState | None:
        target_app, _, target_name = target.rpartition(".")
        return self.models.get((target_app or app, target_name.lower()))

    def link(self, model: ModelState, f: FieldState, app: str) -> None:
        """Point a relation at its target's table in the state replayed so far."""
        link_relation(model, f, lambda target: self.find(target, app))

    def touches_no_table(self, migration: Migration, call: ast.Call) -> bool:
        """A project's own Operation subclass (pulpcore's RequireVersion) whose state_forwards
        does nothing and whose database_forwards never uses the schema editor or runs SQL."""
        name = call.func.id if isinstance(call.func, ast.Name) else None
        found = self.classes.find(migration.module, name) if self.classes is not None and name else None
        if found is None or not any(ast.unparse(b).endswith("Operation") for b in found[1].bases):
            return False
        methods = {n.name: n for n in found[1].body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        state, database = methods.get("state_forwards"), methods.get("database_forwards")
        if state is None or database is None or not all(isinstance(s, ast.Pass) or _is_docstring(s) for s in state.body):
            return False
        editor = database.args.args[2].arg if len(database.args.args) > 2 else "schema_editor"
        return not any(
            (isinstance(n, ast.Name) and n.id == editor) or (isinstance(n, ast.Attribute) and n.attr in ("execute", "executemany", "cursor"))
            for n in ast.walk(database)
        )

    def emit(self, migration: Migration, sql: str, line: int) -> None:
        self.source.emit(sql, migration.module.relative, line)

    def replay(self, migration: Migration) -> None:
        if migration.unread:
            message = f"{migration.unread}: those operations are not read, and the keys they change are not in the catalog"
            self.source.diagnostics.append(Diagnostic(migration.module.relative, message, None, "schema-source-error"))
        for operation in migration.operations:
            self.isolated(migration, operation, database=True, state=True)

    def isolated(self, migration: Migration, operation: ast.expr, database: bool, state: bool) -> None:
        """Apply one operation; one it cannot read is a diagnostic, and the rest goes on."""
        try:
            self.operation(migration, operation, database=database, state=state)
        except UnreadableSource as error:
            name = last_name(call_name(operation)) or "operation"
            self.source.diagnostics.append(Diagnostic(migration.module.relative, f"{name} not read ({error}); the keys it changes are not in the catalog", operation.lineno, "schema-source-error"))
        except Exception as error:  # noqa: BLE001 - one operation the replay cannot apply must not cost the whole history
            name = last_name(call_name(operation)) if isinstance(operation, ast.Call) else "operation"
            message = f"{name or 'operation'} not applied: internal error {type(error).__name__}: {error}; the rest of the history is applied; please report this"
            self.source.diagnostics.append(Diagnostic(migration.module.relative, message, getattr(operation, "lineno", None), "internal-error"))

    def operation(self, migration: Migration, call: ast.expr, database: bool, state: bool) -> None:
        if not isinstance(call, ast.Call):
            raise UnreadableSource("not an operation call")
        name = last_name(call_name(call))
        module, app, d, line = migration.module, migration.app, self.dialect, call.lineno
        args = {k.arg: k.value for k in call.keywords if k.arg}
        emit = (lambda sql: self.emit(migration, sql, line)) if database else (lambda sql: None)

        def arg(position: int, keyword_name: str):
            return call.args[position] if len(call.args) > position else args.get(keyword_name)

        if name == "SeparateDatabaseAndState":  # each inner operation on its own: one unread loses no other
            for keyword_name, runs, changes in (("database_operations", database, False), ("state_operations", False, state)):
                inner = migration.operation_list(args.get(keyword_name)) if keyword_name in args else []
                if inner is None:
                    raise UnreadableSource(f"{keyword_name} = {ast.unparse(args[keyword_name])[:60]} is not a list literal")
                for operation in inner:
                    self.isolated(migration, operation, database=runs, state=changes)
        elif name == "RunSQL":
            sql = arg(0, "sql")
            if isinstance(sql, ast.Attribute) and sql.attr == "noop":
                return  # migrations.RunSQL.noop: nothing runs forwards
            statements = value(module, sql)
            for statement in statements if isinstance(statement := statements, (list, tuple)) else [statements]:
                text = statement[0] if isinstance(statement, (list, tuple)) else statement
                if isinstance(text, str):
                    emit(text)
        elif name == "CreateModel":
            self.create_model(migration, call, arg(0, "name"), arg(1, "fields"), args.get("options"), emit, state)
        elif name == "DeleteModel":
            model = self.model(app, value(module, arg(0, "name")))
            emit(f"DROP TABLE {quote(model.table, d)}")
            if state:
                del self.models[(app, model.name.lower())]
                self.deleted[(app, model.name.lower())] = model  # data migrations before this still write it
        elif name == "RenameModel":
            model = self.model(app, value(module, arg(0, "old_name")))
            new_name = value(module, arg(1, "new_name"))
            renamed = replace(model, name=new_name)
            if not model.explicit_table:
                renamed.table = default_table(app, new_name)
                emit(f"ALTER TABLE {quote(model.table, d)} RENAME TO {quote(renamed.table, d)}")
            for f in model.fields.values():  # auto-created many-to-many tables follow the model
                if f.auto_table:
                    old_through, new_through = f.auto_table_name(model.table), f.auto_table_name(renamed.table)
                    if old_through != new_through:
                        emit(f"ALTER TABLE {quote(old_through, d)} RENAME TO {quote(new_through, d)}")
                    old_column, new_column = f"{model.name.lower()}_id", f"{new_name.lower()}_id"
                    emit(f"ALTER TABLE {quote(new_through, d)} RENAME COLUMN {quote(old_column, d)} TO {quote(new_column, d)}")
                    # Django re-creates the pair's unique key under the name of the new table and column.
                    target = (f.target or "").split(".")[-1].lower()
                    old_pair = [old_column, f"{target}_id"]
                    old_key = index_name(old_through, old_pair, "_uniq", MAX_NAME_LENGTH[d])
                    through_state = ModelState(app, "through", new_through, True)
                    for column in (new_column, f"{target}_id"):
                        through_state.fields[column] = FieldState(column, "ForeignKey", column, "bigint", False, False, False)
                    emit(drop_unique_sql(through_state, old_key, d, index=False))
                    emit(unique_together_sql(through_state, (new_column, f"{target}_id"), d))
            if state:
                del self.models[(app, model.name.lower())]
                self.models[(app, new_name.lower())] = renamed
        elif name == "AlterModelTable":
            model = self.model(app, value(module, arg(0, "name")))
            table = value(module, arg(1, "table")) or default_table(app, model.name)
            emit(f"ALTER TABLE {quote(model.table, d)} RENAME TO {quote(table, d)}")
            if state:
                model.table, model.explicit_table = table, True
        elif name == "AddField":
            model = self.model(app, value(module, arg(0, "model_name")))
            new = field_state(module, value(module, arg(1, "name")), arg(2, "field"))
            self.link(model, new, app)
            if new.auto_table:
                target = self.find(new.target, app)
                through, statements = through_table(model, new, target, d)
                for sql in statements:
                    emit(sql)
            elif new.column is not None:  # a many-to-many field with its own through model, a TaggableManager: no column
                if new.unique and d == POSTGRES:
                    new.unique_name = postgres_object_name(model.table, [new.column], "key")
                emit(f"ALTER TABLE {quote(model.table, d)} ADD COLUMN {column_definition(new, d)}")
                if new.references:
                    emit(f"ALTER TABLE {quote(model.table, d)} ADD {foreign_key_clause(model.table, new, d)}")
            if state:
                model.fields[new.name] = new
        elif name == "RemoveField":
            model = self.model(app, value(module, arg(0, "model_name")))
            old = model.fields.get(value(module, arg(1, "name")))
            if old is not None and old.column is not None:
                emit(f"ALTER TABLE {quote(model.table, d)} DROP COLUMN {quote(old.column, d)}")
            elif old is not None and old.auto_table:
                emit(f"DROP TABLE {quote(old.auto_table_name(model.table), d)}")
            if state and old is not None:
                del model.fields[old.name]
        elif name == "AlterField":
            model = self.model(app, value(module, arg(0, "model_name")))
            field_name = value(module, arg(1, "name"))
            old = model.fields.get(field_name)
            new = field_state(module, field_name, arg(2, "field"))
            if old is None:
                raise UnreadableSource(f"field {field_name} is not in the state")
            self.link(model, new, app)
            if d == SQLITE:
                self.remake(with_field(model, new), emit)
            else:
                self.alter_field(model, old, new, emit)
            if state:
                model.fields[field_name] = new
        elif name == "RenameField":
            model = self.model(app, value(module, arg(0, "model_name")))
            old_name, new_name = value(module, arg(1, "old_name")), value(module, arg(2, "new_name"))
            old = model.fields[old_name]
            new = replace(old, name=new_name)
            if old.column == (f"{old_name}_id" if old.kind in ("ForeignKey", "OneToOneField") else old_name):
                new.column = f"{new_name}_id" if old.kind in ("ForeignKey", "OneToOneField") else new_name
                emit(f"ALTER TABLE {quote(model.table, d)} RENAME COLUMN {quote(old.column, d)} TO {quote(new.column, d)}")
            if state:
                model.fields = {(new_name if k == old_name else k): (new if k == old_name else f) for k, f in model.fields.items()}
                rename = lambda fields: tuple(new_name if f == old_name else f for f in fields)  # noqa: E731
                model.unique_together = [rename(t) for t in model.unique_together]
                model.together_names = {rename(t): n for t, n in model.together_names.items()}
        elif name == "AlterUniqueTogether":
            model = self.model(app, value(module, arg(0, "name")))
            together = value(module, arg(1, "unique_together")) or ()
            together = [tuple(together)] if together and isinstance(next(iter(together)), str) else [tuple(t) for t in together]
            for old in model.unique_together:
                if old not in together:
                    columns = [model.column(f) for f in old]
                    old_name = model.together_names.pop(old, None) or index_name(model.table, columns, "_uniq", MAX_NAME_LENGTH[d])
                    emit(drop_unique_sql(model, old_name, d, index=d == SQLITE))
            for new in together:
                if new not in model.unique_together:
                    emit(unique_together_sql(model, new, d))
            if state:
                model.unique_together = together
        elif name == "AddConstraint":
            model = self.model(app, value(module, arg(0, "model_name")))
            constraint = constraint_state(module, arg(1, "constraint"), model, d)
            if constraint is None:
                return
            if d == SQLITE and not constraint.as_index:
                self.remake(replace(model, constraints=[*model.constraints, constraint]), emit)
            else:
                _, separate = constraint_sql(model, constraint, d, inline=False)
                if separate:
                    emit(separate)
            if state:
                model.constraints.append(constraint)
        elif name == "RemoveConstraint":
            model = self.model(app, value(module, arg(0, "model_name")))
            constraint_name = value(module, arg(1, "name"))
            found = next((c for c in model.constraints if c.name == constraint_name), None)
            if found is not None:
                if d == SQLITE and not found.as_index:
                    self.remake(replace(model, constraints=[c for c in model.constraints if c is not found]), emit)
                else:
                    emit(drop_unique_sql(model, constraint_name, d, index=found.as_index))
                if state:
                    model.constraints.remove(found)
        elif name in NO_KEY_OPERATIONS:
            return  # no unique key changes (Django indexes are never unique; extensions and collations are not tables)
        elif not self.touches_no_table(migration, call):
            raise UnreadableSource(f"unknown operation {name}")

    def create_model(self, migration: Migration, call: ast.Call, name_node, fields_node, options_node, emit, state: bool) -> None:
        module, app, d = migration.module, migration.app, self.dialect
        name = value(module, name_node)
        options = {}
        if isinstance(options_node, ast.Dict):
            options = {value(module, k): v for k, v in zip(options_node.keys, options_node.values)}
        table = value(module, options.get("db_table")) if "db_table" in options else None
        model = ModelState(app, name, table or default_table(app, name), table is not None)
        through = []
        for item in _list(fields_node):
            if isinstance(item, ast.Tuple) and len(item.elts) == 2 and isinstance(item.elts[1], ast.Call):
                f = field_state(module, value(module, item.elts[0]), item.elts[1])
                model.fields[f.name] = f
                if f.auto_table:
                    through.append(f)
        if not any(f.primary_key for f in model.fields.values()):
            model.fields = {"id": FieldState("id", "BigAutoField", "id", "bigint", False, False, True), **model.fields}
        together = value(module, options.get("unique_together")) if "unique_together" in options else ()
        if together:
            model.unique_together = [tuple(together)] if isinstance(next(iter(together)), str) else [tuple(t) for t in together]
        for constraint in _list(options.get("constraints")):
            parsed = constraint_state(module, constraint, model, d) if isinstance(constraint, ast.Call) else None
            if parsed is not None:
                model.constraints.append(parsed)
        for f in model.fields.values():
            self.link(model, f, app)
        for sql in create_model_sql(model, d):
            emit(sql)
        for f in through:
            _, statements = through_table(model, f, self.find(f.target, app), d)
            for sql in statements:
                emit(sql)
        if state:
            self.models[(app, name.lower())] = model

    def alter_field(self, model: ModelState, old, new, emit) -> None:
        """PostgreSQL: Django's ALTERs. (SQLite rebuilds the table instead: see remake.)"""
        d, table = self.dialect, quote(model.table, self.dialect)
        if old.column != new.column and old.column and new.column:
            emit(f"ALTER TABLE {table} RENAME COLUMN {quote(old.column, d)} TO {quote(new.column, d)}")
        if old.null != new.null and new.column:
            emit(f"ALTER TABLE {table} ALTER COLUMN {quote(new.column, d)} {'DROP NOT NULL' if new.null else 'SET NOT NULL'}")
        if old.unique and not new.unique and old.unique_name:
            emit(f"ALTER TABLE {table} DROP CONSTRAINT {quote(old.unique_name, d)}")
        if new.unique and not old.unique and new.column:
            new.unique_name = index_name(model.table, [new.column], "_uniq", MAX_NAME_LENGTH[d])
            emit(f"ALTER TABLE {table} ADD CONSTRAINT {quote(new.unique_name, d)} UNIQUE ({quote(new.column, d)})")
        elif new.unique:
            new.unique_name = old.unique_name

    def remake(self, model: ModelState, emit) -> None:
        """SQLite cannot alter keys: Django copies the table into a new one built from the state."""
        emit(f"DROP TABLE {quote(model.table, self.dialect)}")
        for sql in create_model_sql(model, self.dialect):
            emit(sql)


def drop_unique_sql(model: ModelState, name: str, dialect: str, index: bool) -> str:
    if index or dialect == SQLITE:
        return f"DROP INDEX {quote(name, dialect)}"
    if dialect == MYSQL:
        return f"ALTER TABLE {quote(model.table, dialect)} DROP INDEX {quote(name, dialect)}"
    return f"ALTER TABLE {quote(model.table, dialect)} DROP CONSTRAINT {quote(name, dialect)}"


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def _list(node: ast.expr | None) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, (ast.List, ast.Tuple)) else []


def read_django_migrations(root: Path, files: list[Path], dialect: str) -> SchemaSource:
    source = SchemaSource(KIND, is_migration=True)
    candidates = [f for f in files if f.parent.name == "migrations"]
    modules, diagnostics = modules_mentioning(root, candidates, NEEDLES)
    source.diagnostics.extend(diagnostics)
    labels = AppLabels()
    migrations = [m for m in (read_migration(module, labels) for module in modules) if m is not None]
    if not migrations:
        return source
    ordered, graph_diagnostics = order_migrations(migrations)
    source.diagnostics.extend(graph_diagnostics)
    replayer = Replayer(source, dialect, root)
    for migration in ordered:
        source.files.append(migration.module.relative)
        replayer.replay(migration)
    gone = [m for key, m in replayer.deleted.items() if key not in replayer.models]
    _model_names([*replayer.models.values(), *gone], source, dialect)
    return source


def _model_names(models, source: SchemaSource, dialect: str) -> None:
    """Which table (and columns) each model's name stands for in the final migration state, so
    that a model the models reader could not read still maps to the table its migrations made.
    A name two apps share is left out: which one a call means is not known here."""
    by_name: dict[str, list] = {}
    for model in models:
        by_name.setdefault(model.name, []).append(model)
    for name, found in by_name.items():
        if len(found) != 1:
            continue
        [model] = found
        source.table_names[name] = quote(model.table, dialect)
        source.column_names.update(field_columns(model, dialect))
        primary = next((f for f in model.fields.values() if f.primary_key and f.column), None)
        if primary is not None:
            source.column_names[f"{name}.pk"] = quote(primary.column, dialect)
