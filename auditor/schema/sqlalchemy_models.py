"""SQLAlchemy models as a schema source, read statically.

Reads declarative classes (`__tablename__`, `mapped_column` / `Column`, `Mapped[...]`
annotations, `__table_args__` as a tuple, a dict or a tuple ending in a dict, columns
inherited from mixins and abstract bases), Core `Table("name", metadata, ...)`, and
module-level `Index(..., unique=True)` on a model's or a table's columns. A project-wide
`MetaData(naming_convention=...)` names what the code leaves unnamed. Foreign keys
(`ForeignKey` on a column, `ForeignKeyConstraint`) may name their target as a string or as a
column of any model or Table the project defines (`User.id`, `users.c.id`).

A base's `@declared_attr def __tablename__(cls)` names each class that maps columns of its
own: its body is evaluated for that class (auditor.schema.name_functions: `cls.__name__.lower()`,
a snake_case helper, a prefix); one it cannot evaluate is a diagnostic naming the model. A
`@declared_attr` method returning `mapped_column(...)` / `Column(...)` is a column of that name.

A `relationship(Target, secondary=association)` is what `obj.tags.append(tag)` writes: a row
of the association table with one foreign key to each side; the model maps list it as the
model `~collection:<attribute>` with the fields `~fk` (the owner's side) and `~item` (the
item's), where one association answers to that attribute name in the project.

Not read (each skipped with a diagnostic, never guessed): tables built in loops or functions,
names that are not literals.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from auditor.model import Diagnostic
from auditor.python.neutral_sql import COLLECTION_ITEM, PARENT_FIELD, collection_model
from auditor.schema import read_log
from auditor.schema.name_functions import Functions, NotEvaluable, table_name_for
from auditor.schema.pysource import PythonModule, UnreadableSource, call_name, dotted_name, last_name, modules_mentioning, parse_module, short_name, value
from auditor.schema.source import SchemaSource, quote, quote_table
from auditor.schema.sqlalchemy_constructs import (
    ColumnSpec,
    TableSpec,
    add_table_item,
    annotation_type,
    mapped_inner,
    column_spec,
    is_column_call,
    resolve_foreign_keys,
    table_ddl,
)

KIND = "sqlalchemy models"
# A module defines tables only if it names one: `__tablename__ =` in a module-level class
# body, or `name = Table(...)` at module level. Anchoring on the indentation skips the many
# examples in docstrings (matching "sqlalchemy" alone parsed all of SQLAlchemy's own source).
TABLE_HINT = re.compile(rb"^(?:    |\t)__tablename__\s*=|^\w+\s*=\s*(?:\w+\.)?Table\(", re.M)
# A module-level class's `@declared_attr def __tablename__`: one indentation level, so the
# examples in docstrings (SQLAlchemy's own source) do not make every file a model candidate.
DECLARED_TABLENAME = re.compile(rb"^(?:    |\t)@declared_attr[^\n]*\n(?:(?:    |\t)@[^\n]*\n)*(?:    |\t)def __tablename__", re.M)
COLUMN_HINTS = (b"Column(", b"mapped_column(", b"Mapped[")


def naming_convention(modules: list[PythonModule], source: SchemaSource) -> dict:
    """The project's `MetaData(naming_convention=...)`; {} when there is none."""
    found: list[tuple[PythonModule, ast.Call, dict]] = []
    for module in modules:
        for node in _definitions(module):
            if isinstance(node, ast.Call) and last_name(call_name(node)) == "MetaData":
                convention = next((k.value for k in node.keywords if k.arg == "naming_convention"), None)
                if convention is None:
                    continue
                try:
                    found.append((module, node, value(module, convention)))
                except UnreadableSource as error:
                    source.diagnostics.append(Diagnostic(module.relative, f"naming convention not read ({error})", node.lineno, "schema-source-error"))
    conventions = [c for _, _, c in found if isinstance(c, dict)]
    if len({repr(sorted(c.items())) for c in conventions}) > 1:
        module, node, _ = found[1]
        source.diagnostics.append(Diagnostic(module.relative, "several naming conventions; the first one is used for every model", node.lineno, "schema-source-error"))
    return conventions[0] if conventions else {}


CLASS_LINE = re.compile(rb"^[ \t]*class[ \t]+(\w+)", re.M)  # where a base class may be defined

class ModelReader:
    """Collects TableSpecs from every module; classes are looked up by name across modules."""

    def __init__(self, modules: list[PythonModule], dialect: str, source: SchemaSource, root: Path, others: list[Path]):
        self.dialect = dialect
        self.source = source
        self.root, self.others = root, others  # files that may hold mixins and bases, parsed on demand
        self._class_files: dict[str, Path] | None = None
        self.classes: dict[str, tuple[PythonModule, ast.ClassDef]] = {}
        for module in modules:
            self.index(module)
        self.tables: list[tuple[PythonModule, TableSpec]] = []
        self.by_class: dict[str, TableSpec] = {}
        self.by_variable: dict[str, TableSpec] = {}

    def diagnose(self, module: PythonModule, line: int, message: str) -> None:
        self.source.diagnostics.append(Diagnostic(module.relative, message, line, "schema-source-error"))

    def index(self, module: PythonModule) -> None:
        for node in module.tree.body:  # models are module-level classes
            if isinstance(node, ast.ClassDef):
                self.classes.setdefault(node.name, (module, node))

    def find_class(self, name: str) -> tuple[PythonModule, ast.ClassDef] | None:
        """A base class by name: from the model modules, else the first other file defining it."""
        if name not in self.classes:
            path = self.class_files().get(name)
            module = parse_module(path, self.root)[0] if path is not None else None
            if module is not None:
                self.index(module)
            self.classes.setdefault(name, None)
        return self.classes[name]

    def class_files(self) -> dict[str, Path]:
        """Which other file first defines each class name: one read of each file, when first asked."""
        if self._class_files is None:
            self._class_files = {}
            for path in self.others:
                try:
                    data = read_log.read_bytes(path)
                except OSError:
                    continue
                for found in CLASS_LINE.findall(data):
                    self._class_files.setdefault(found.decode(), path)
        return self._class_files

    # -- declarative classes ----------------------------------------------------------

    def class_attribute(self, node: ast.ClassDef, name: str) -> ast.expr | None:
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                return statement.value
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
                return statement.value
        return None

    def own_columns(self, module: PythonModule, node: ast.ClassDef, quiet: bool = False) -> list[ColumnSpec]:
        """The columns a class body declares (`quiet`: only asking whether it declares any)."""
        columns = []
        for statement in node.body:
            target, annotation, call = None, None, None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                target, call = statement.targets[0].id, statement.value
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                target, annotation, call = statement.target.id, statement.annotation, statement.value
            elif isinstance(statement, ast.FunctionDef) and _is_declared_attr(statement):
                # @declared_attr def owner_id(cls): return mapped_column(ForeignKey("users.id"))
                returned = statement.body[-1] if statement.body and isinstance(statement.body[-1], ast.Return) else None
                target, annotation, call = statement.name, statement.returns, returned.value if returned else None
                if not is_column_call(call):
                    continue
            if target is None or target.startswith("__"):
                continue
            if quiet:
                if is_column_call(call) or call is None and annotation_type(annotation)[1] is not None:
                    return [ColumnSpec(target, "", True)]
                continue
            try:
                if is_column_call(call):
                    columns.append(column_spec(call, module, target, annotation))
                elif call is None and annotation is not None:
                    sql_type, nullable = annotation_type(annotation)
                    if sql_type and sql_type != "TEXT" or nullable is not None and sql_type:
                        columns.append(ColumnSpec(target, sql_type, bool(nullable), line=statement.lineno))
            except UnreadableSource as error:
                self.diagnose(module, statement.lineno, f"{node.name}.{target} not read ({error})")
        return columns

    def inherited(self, node: ast.ClassDef, seen: set[str]) -> list[tuple[PythonModule, ast.ClassDef]]:
        """Bases defined in the project (mixins, abstract models), nearest first."""
        chain = []
        for base in node.bases:
            name = short_name(base)
            if name and name not in seen and self.find_class(name):
                seen.add(name)
                module, base_node = self.classes[name]
                chain.append((module, base_node))
                chain.extend(self.inherited(base_node, seen))
        return chain

    def declared_tablename(self, node: ast.ClassDef) -> tuple[PythonModule, ast.ClassDef, ast.FunctionDef] | None:
        """The nearest base's `@declared_attr def __tablename__(cls)`, which names this class's table."""
        for base_module, base in self.inherited(node, {node.name}):
            for statement in base.body:
                if isinstance(statement, ast.FunctionDef) and statement.name == "__tablename__" and _is_declared_attr(statement):
                    return base_module, base, statement
        return None

    def find_function(self, module: PythonModule, dotted: str) -> ast.FunctionDef | None:
        """A plain function a name function calls: in its own module, else the one project file defining it."""
        name = dotted.rsplit(".", 1)[-1]
        modules = {id(entry[0]): entry[0] for entry in self.classes.values() if entry is not None}
        for candidate in [module] + [m for m in modules.values() if m is not module]:
            found = next((n for n in candidate.tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
            if found is not None:
                return found
        pattern = re.compile(rb"^def\s+" + re.escape(name.encode()) + rb"\s*\(", re.M)
        for path in self.others:
            try:
                if pattern.search(read_log.read_bytes(path)):
                    other, _ = parse_module(path, self.root)
                    return next((n for n in other.tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None) if other else None
            except OSError:
                continue
        return None

    def read_class(self, module: PythonModule, node: ast.ClassDef) -> None:
        tablename = self.class_attribute(node, "__tablename__")
        if self.class_attribute(node, "__abstract__") is not None:
            return
        if tablename is None:
            name = self.derived_tablename(module, node)
            if name is None:
                return
        else:
            try:
                name = value(module, tablename)
            except UnreadableSource:
                self.diagnose(module, node.lineno, f"model {node.name}: __tablename__ is not a literal; its keys are not in the catalog")
                return
        columns: dict[str, ColumnSpec] = {}
        for base_module, base in reversed(self.inherited(node, {node.name})):
            for column in self.own_columns(base_module, base):
                columns[column.name] = column
        for column in self.own_columns(module, node):
            columns[column.name] = column
        spec = TableSpec(name, None, node.lineno, list(columns.values()))
        self.table_args(module, node, spec)
        self.tables.append((module, spec))
        self.by_class[node.name] = spec

    def derived_tablename(self, module: PythonModule, node: ast.ClassDef) -> str | None:
        """The table a base's declared_attr `__tablename__` gives a class that maps columns of its own."""
        if not (self.own_columns(module, node, quiet=True) or self.class_attribute(node, "__table_args__")):
            return None  # not a mapped class: its bases are not looked up
        declared = self.declared_tablename(node)
        if declared is None:
            return None
        base_module, base, function = declared
        try:
            return table_name_for(function, node.name, Functions(lambda dotted: self.find_function(base_module, dotted)))
        except NotEvaluable as error:
            self.diagnose(module, node.lineno, f"model {node.name}: {base.name}.__tablename__ (a declared_attr) not evaluated ({error}); its keys are not in the catalog")
            return None

    def table_args(self, module: PythonModule, node: ast.ClassDef, spec: TableSpec) -> None:
        args = self.class_attribute(node, "__table_args__")
        if args is None:
            return
        items: list[ast.expr] = []
        options: ast.expr | None = None
        if isinstance(args, ast.Dict):
            options = args
        elif isinstance(args, ast.Tuple):
            items = list(args.elts)
            if items and isinstance(items[-1], ast.Dict):
                options = items.pop()
        else:
            self.diagnose(module, args.lineno, f"model {node.name}: __table_args__ not read (not a tuple or dict literal)")
            return
        if options is not None:
            try:
                spec.schema = (value(module, options) or {}).get("schema")
            except UnreadableSource as error:
                self.diagnose(module, options.lineno, f"model {node.name}: __table_args__ options not read ({error})")
        self.add_items(module, spec, items)

    def add_items(self, module: PythonModule, spec: TableSpec, items: list[ast.expr]) -> None:
        for item in items:
            if not isinstance(item, ast.Call):
                continue
            try:
                add_table_item(spec, item, module, self.dialect)
            except UnreadableSource as error:
                self.diagnose(module, item.lineno, f"table {spec.name}: {last_name(call_name(item))} not read ({error})")

    # -- Core tables and free-standing indexes ------------------------------------------------

    def read_core_table(self, module: PythonModule, call: ast.Call, variable: str | None) -> None:
        if len(call.args) < 2:
            return
        try:
            name = value(module, call.args[0])
            schema = value(module, next((k.value for k in call.keywords if k.arg == "schema"), None))
        except UnreadableSource:
            self.diagnose(module, call.lineno, "Table(...) whose name is not a literal; its keys are not in the catalog")
            return
        spec = TableSpec(name, schema, call.lineno)
        others = []
        for item in call.args[2:]:
            if is_column_call(item):
                try:
                    spec.columns.append(column_spec(item, module))
                except UnreadableSource as error:
                    self.diagnose(module, item.lineno, f"table {name}: column not read ({error})")
            else:
                others.append(item)
        self.add_items(module, spec, others)
        self.tables.append((module, spec))
        if variable:
            self.by_variable[variable] = spec

    def free_index(self, module: PythonModule, call: ast.Call) -> None:
        """Index("name", Model.col, ..., unique=True) outside any table definition."""
        if len(call.args) < 2:
            return
        owner = call.args[1]
        while isinstance(owner, ast.Attribute):  # Model.col, table.c.col
            owner = owner.value
        spec = None
        if isinstance(owner, ast.Name):
            spec = self.by_class.get(owner.id) or self.by_variable.get(owner.id)
        if spec is not None:
            self.add_items(module, spec, [call])

    def read_module(self, module: PythonModule) -> None:
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef):
                self.read_class(module, node)
        for statement in module.tree.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) and last_name(call_name(statement.value)) == "Table":
                target = statement.targets[0]
                self.read_core_table(module, statement.value, target.id if isinstance(target, ast.Name) else None)

    def read_free_indexes(self, module: PythonModule) -> None:
        for statement in module.tree.body:
            call = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
            if isinstance(call, ast.Call) and last_name(call_name(call)) == "Index":
                self.free_index(module, call)


def read_sqlalchemy_models(root: Path, files: list[Path], dialect: str) -> SchemaSource:
    source = SchemaSource(KIND, is_migration=False)
    model_files, others, declared = [], [], False
    contents: dict[Path, bytes] = {}
    for path in files:
        try:
            data = read_log.read_bytes(path)
        except OSError:
            continue
        (model_files if TABLE_HINT.search(data) else others).append(path)
        declared = declared or (b"__tablename__" in data and DECLARED_TABLENAME.search(data) is not None)
        contents[path] = data
    if declared:  # models named by a base's declared_attr write no `__tablename__ =` of their own
        mapped = [p for p in others if any(hint in contents[p] for hint in COLUMN_HINTS)]
        model_files += mapped
        others = [p for p in others if p not in set(mapped)]
    modules, diagnostics = modules_mentioning(root, model_files, (b"sqlalchemy",))
    source.diagnostics.extend(diagnostics)
    modules = [m for m in modules if _defines_models(m)]
    if not modules:
        return source
    convention_modules, _ = modules_mentioning(root, others, (b"naming_convention",))
    convention = naming_convention(modules + convention_modules, source)
    reader = ModelReader(modules, dialect, source, root, others)
    for module in modules:
        reader.read_module(module)
    for module in modules:
        reader.read_free_indexes(module)
    for names in (reader.by_class, reader.by_variable):
        source.table_names.update({name: quote_table(spec.name, spec.schema, dialect) for name, spec in names.items()})
    for name, spec in reader.by_class.items():  # `Model.query.get(k)` / `session.get(Model, k)` look up the primary key
        primary = [c.name for c in spec.columns if c.primary_key]
        if len(primary) == 1:
            source.column_names[f"{name}.pk"] = quote(primary[0], dialect)
    owners = {**reader.by_variable, **reader.by_class}
    for module, spec in reader.tables:
        for problem in resolve_foreign_keys(spec.all_foreign_keys(), owners):
            reader.diagnose(module, spec.line, f"table {spec.name}: {problem}")
        try:
            statements = table_ddl(spec, dialect, convention)
        except UnreadableSource as error:
            reader.diagnose(module, spec.line, f"table {spec.name} not read ({error})")
            continue
        for sql, line in statements:
            source.emit(sql, module.relative, line)
        if module.relative not in source.files:
            source.files.append(module.relative)
    _collections(reader, source, dialect)
    _many_to_one(reader, source, dialect)
    return source


def _many_to_one(reader: ModelReader, source: SchemaSource, dialect: str) -> None:
    """`user: Mapped[User] = relationship()` beside `user_id = mapped_column(ForeignKey("users.id"))`:
    `filter_by(user=u)` and `Role(user=u)` are about the column user_id. Mapped where the model
    has exactly one foreign-key column to the target's table (and says nothing of which)."""
    for name, spec in reader.by_class.items():
        _module, node = reader.classes[name]
        for attribute, call, annotation in _relationships(node):
            if any(k.arg in ("secondary", "foreign_keys", "primaryjoin") for k in call.keywords):
                continue
            target = reader.by_class.get(_target_name(call) or _mapped_class(annotation) or "")
            if target is None or target is spec:
                continue
            column = _column_to(spec, target)
            if column is not None:
                source.column_names.setdefault(f"{name}.{attribute}", quote(column, dialect))


def _mapped_class(annotation: ast.expr | None) -> str | None:
    """The class of `Mapped[User]`, `Mapped["User"]`, `Mapped[Optional[User]]`, `Mapped[User | None]`."""
    node, _nullable = mapped_inner(annotation)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    return node.id if isinstance(node, ast.Name) else None


def _collections(reader: ModelReader, source: SchemaSource, dialect: str) -> None:
    """List each `relationship(..., secondary=...)` as the model its collection appends write."""
    found: dict[str, set[tuple[str, str, str]]] = {}
    for name, spec in reader.by_class.items():
        module, node = reader.classes[name]
        for attribute, call, _annotation in _relationships(node):
            association = _association(reader, call.keywords)
            target = reader.by_class.get(_target_name(call))
            if association is None or target is None or target is spec:
                continue  # unknown, or self-referential (which side is which needs primaryjoin)
            owner_side = _column_to(association, spec)
            item_side = _column_to(association, target)
            if owner_side and item_side:
                row = (quote_table(association.name, association.schema, dialect), owner_side, item_side)
                found.setdefault(attribute, set()).add(row)
                found.setdefault(f"{name}.{attribute}", set()).add(row)  # `self.tags` in a method of the model
    for attribute, associations in found.items():
        if len(associations) != 1:
            continue  # one attribute name, two associations: which one a call appends to is not known
        [(table, owner_side, item_side)] = associations
        model = collection_model(attribute)
        source.table_names[model] = table
        source.column_names[f"{model}.{PARENT_FIELD}"] = quote(owner_side, dialect)
        source.column_names[f"{model}.{COLLECTION_ITEM}"] = quote(item_side, dialect)


def _relationships(node: ast.ClassDef):
    for statement in node.body:
        target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else getattr(statement, "target", None)
        call = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(target, ast.Name) and isinstance(call, ast.Call) and last_name(call_name(call)) == "relationship":
            yield target.id, call, getattr(statement, "annotation", None)


def _target_name(call: ast.Call) -> str | None:
    """`relationship("Tag")`, `relationship(Tag)`, `relationship(argument="Tag")`."""
    node = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "argument"), None)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    return node.id if isinstance(node, ast.Name) else None


def _association(reader: ModelReader, keywords: list[ast.keyword]) -> TableSpec | None:
    """The `secondary=` table: a Table variable, a model's `__table__`, or a table name."""
    node = next((k.value for k in keywords if k.arg == "secondary"), None)
    if isinstance(node, ast.Name):
        return reader.by_variable.get(node.id) or reader.by_class.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "__table__" and isinstance(node.value, ast.Name):
        return reader.by_class.get(node.value.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return next((spec for _m, spec in reader.tables if spec.name == node.value), None)
    return None


def _column_to(association: TableSpec, side: TableSpec) -> str | None:
    """The one column of the association whose foreign key points at `side`'s table."""
    columns = [column for fk in association.all_foreign_keys() if fk.references and fk.references[1] == side.name
               and len(fk.columns) == 1 for column in fk.columns]
    return columns[0] if len(columns) == 1 else None


def _is_declared_attr(function: ast.FunctionDef) -> bool:
    """@declared_attr, @declared_attr.directive, @declared_attr.cascading, @sa.orm.declared_attr."""
    return any("declared_attr" in (dotted_name(d.func if isinstance(d, ast.Call) else d) or "").split(".") for d in function.decorator_list)


def _defines_models(module: PythonModule) -> bool:
    """Alembic revisions call sa.Column too, but inside op.create_table: not models."""
    return "down_revision" not in module.constants


def _definitions(module: PythonModule):
    """Values assigned at module level and in module-level class bodies (where MetaData lives)."""
    for statement in module.tree.body:
        body = statement.body if isinstance(statement, ast.ClassDef) else [statement]
        for item in body:
            if isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                yield item.value
