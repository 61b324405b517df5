"""peewee models as a schema source, read statically.

What peewee's `create_tables` does, reproduced: the table is `Meta.table_name`, else
the class name lower-cased (`legacy_table_names`, the default) or snake_case; fields
are NOT NULL unless `null=True`; a model without a primary key gets `id` (AutoField);
`Meta.primary_key = CompositeKey(...)` is a table-level PRIMARY KEY. `unique=True`
and unique `Meta.indexes` are separate `CREATE UNIQUE INDEX <model>_<columns>`
statements; `Meta.constraints = [SQL("UNIQUE (a, b)")]` are inline. Fields and
inheritable Meta options (indexes, constraints, primary_key, legacy_table_names)
come from base models, as peewee copies them.

A `ForeignKeyField` is a table-level `FOREIGN KEY (col) REFERENCES t (c)`, `c` being the
`field=` it names or the target's primary key, spelled out as peewee does; `"self"` is the
model being created, so a subclass's inherited self-reference points at its own table.
A `DeferredForeignKey` is a column only: `create_tables` adds no constraint for it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from auditor.model import Diagnostic
from auditor.python.neutral_sql import PEEWEE_CLASS, writable_key
from auditor.schema.fresh_values import fresh_primary_key
from auditor.schema.pysource import PythonModule, UnreadableSource, call_name, keyword, last_name, modules_mentioning, short_name, value
from auditor.schema.source import SchemaSource, quote

KIND = "peewee models"
NEEDLES = (b"peewee",)
INHERITED_OPTIONS = ("indexes", "constraints", "primary_key", "legacy_table_names", "schema")
RELATIONS = ("ForeignKeyField", "DeferredForeignKey")


def snake_case(name: str) -> str:
    """peewee's make_snake_case."""
    first = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", first).lower()


class PeeweeModels:
    def __init__(self, modules: list[PythonModule], dialect: str, source: SchemaSource):
        self.dialect, self.source = dialect, source
        self.classes: dict[str, tuple[PythonModule, ast.ClassDef]] = {}
        for module in modules:
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef):
                    self.classes.setdefault(node.name, (module, node))

    def bases(self, node: ast.ClassDef) -> list[tuple[PythonModule, ast.ClassDef]]:
        found = []
        for base in node.bases:
            name = short_name(base)
            if name in self.classes and name != node.name:
                found.append(self.classes[name])
        return found

    def is_model(self, node: ast.ClassDef, depth: int = 0) -> bool:
        if depth > 20:
            return False
        if any(ast.unparse(b) in ("Model", "peewee.Model", "pw.Model") for b in node.bases):
            return True
        return any(self.is_model(b, depth + 1) for _, b in self.bases(node))

    def meta(self, module: PythonModule, node: ast.ClassDef) -> dict[str, tuple[PythonModule, ast.expr]]:
        options: dict[str, tuple[PythonModule, ast.expr]] = {}
        for base_module, base in reversed(self.bases(node)):
            inherited = self.meta(base_module, base)
            options.update({k: v for k, v in inherited.items() if k in INHERITED_OPTIONS})
        meta = next((n for n in node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
        for statement in meta.body if meta else []:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                options[statement.targets[0].id] = (module, statement.value)
        return options

    def fields(self, module: PythonModule, node: ast.ClassDef) -> dict[str, tuple[PythonModule, ast.Call]]:
        found: dict[str, tuple[PythonModule, ast.Call]] = {}
        for base_module, base in reversed(self.bases(node)):
            found.update(self.fields(base_module, base))
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call):
                if is_column(last_name(call_name(statement.value)) or ""):
                    found[statement.targets[0].id] = (module, statement.value)
        return found

    def kind(self, call: ast.Call) -> str:
        """The peewee field class a field call builds: its own name, or for a field class of the
        project (`class QuayUserField(ForeignKeyField)`) the peewee class it extends."""
        name = last_name(call_name(call)) or ""
        return self._peewee_base(name) or name

    def _peewee_base(self, name: str, depth: int = 0) -> str | None:
        found = self.classes.get(name)
        if found is None or depth > 10 or name in RELATIONS:
            return None
        for base in found[1].bases:
            base_name = short_name(base) or ""
            if base_name in RELATIONS or (base_name.endswith("Field") and base_name not in self.classes):
                return base_name
            if (deeper := self._peewee_base(base_name, depth + 1)) is not None:
                return deeper
        return None

    def default_model(self, call: ast.Call) -> ast.expr | None:
        """`kwargs["model"] = User` (or `kwargs.setdefault("model", User)`) in the `__init__` of
        the project's field class: the model its fields point at when the call names none."""
        found = self.classes.get(last_name(call_name(call)) or "")
        init = next((n for n in found[1].body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None) if found else None
        for node in ast.walk(init) if init is not None else ():
            if isinstance(node, ast.Assign) and isinstance(target := node.targets[0], ast.Subscript) \
                    and isinstance(target.slice, ast.Constant) and target.slice.value == "model":
                return node.value
            if isinstance(node, ast.Call) and call_name(node) and last_name(call_name(node)) == "setdefault" and len(node.args) == 2 \
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == "model":
                return node.args[1]
        return None

    def names(self, module: PythonModule, node: ast.ClassDef) -> tuple[str, dict[str, str]]:
        """(table, {field: column}) of a model, as peewee names them."""
        meta = self.meta(module, node)
        legacy = value(*meta["legacy_table_names"]) if "legacy_table_names" in meta else True
        table = (value(*meta["table_name"]) if "table_name" in meta else None) or (
            re.sub(r"[^\w]+", "_", node.name.lower()) if legacy else snake_case(node.name))
        columns = {}
        for name, (field_module, call) in self.fields(module, node).items():
            kind = self.kind(call)
            # peewee's ForeignKeyField.bind: `user` is `user_id`, a `user_id` field stays `user_id`
            default = name if kind not in RELATIONS or name.endswith("_id") else f"{name}_id"
            columns[name] = value(field_module, keyword(call, "column_name")) or default
        return table, columns

    def primary_column(self, module: PythonModule, node: ast.ClassDef) -> str | None:
        """The column a reference to the model's primary key names; None for a CompositeKey
        or `primary_key = False`, which nothing can reference."""
        if "primary_key" in self.meta(module, node):
            return None
        _, columns = self.names(module, node)
        fields = self.fields(module, node)
        return next((columns[n] for n, (m, call) in fields.items() if is_primary(m, call)), "id")

    def target(self, module: PythonModule, node: ast.ClassDef, call: ast.Call) -> tuple[PythonModule, ast.ClassDef] | None:
        """The model a ForeignKeyField points at: a class (`Account`, `models.Account`) or
        `"self"`, the model `node` itself; None when it is no model these modules define."""
        model = call.args[0] if call.args else keyword(call, "model") or keyword(call, "rel_model") or self.default_model(call)
        if isinstance(model, ast.Constant) and model.value == "self":
            return module, node
        name = short_name(model)
        found = self.classes.get(name)
        return found if found and self.is_model(found[1]) else None

    def foreign_key(self, module: PythonModule, node: ast.ClassDef, column: str, call: ast.Call) -> str | None:
        """The FOREIGN KEY clause peewee writes for a ForeignKeyField, or None when its target
        is not known here (a model of a module not read) or has no referencable key."""
        target = self.target(module, node, call)
        if target is None:
            return None
        table, columns = self.names(*target)
        field = call.args[1] if len(call.args) > 1 else keyword(call, "field") or keyword(call, "to_field")
        if field is None:
            referenced = self.primary_column(*target)
        else:  # `field="email"` or `field=Account.email`
            name = field.attr if isinstance(field, ast.Attribute) else value(module, field)
            referenced = columns.get(name, name)
        if referenced is None:
            return None
        d = self.dialect
        return f"FOREIGN KEY ({quote(column, d)}) REFERENCES {quote(table, d)} ({quote(referenced, d)})"

    def statements(self, module: PythonModule, node: ast.ClassDef) -> list[str]:
        d = self.dialect
        meta = self.meta(module, node)
        table, columns = self.names(module, node)
        legacy = value(*meta["legacy_table_names"]) if "legacy_table_names" in meta else True
        index_prefix = node.name.lower() if legacy else table
        definitions, unique_columns, foreign_keys = [], [], []
        composite = meta.get("primary_key")
        has_pk = composite is not None
        for name, (field_module, call) in self.fields(module, node).items():
            kind = self.kind(call)
            column = columns[name]
            primary = is_primary(field_module, call)
            has_pk = has_pk or primary
            null = bool(value(field_module, keyword(call, "null"), False)) and not primary
            definitions.append(f"{quote(column, d)} {'INTEGER' if 'Integer' in kind or kind.endswith('AutoField') or kind in RELATIONS else 'TEXT'}"
                               f"{' NOT NULL' if not null else ''}{' PRIMARY KEY' if primary else ''}")
            if bool(value(field_module, keyword(call, "unique"), False)) and not primary:
                unique_columns.append([column])
            if kind == "ForeignKeyField":
                foreign_keys.append(self.foreign_key(module, node, column, call))
        if not has_pk:
            definitions.insert(0, f"{quote('id', d)} INTEGER NOT NULL PRIMARY KEY")
        if composite is not None:
            key_module, key = composite
            if not (isinstance(key, ast.Call) and last_name(call_name(key)) == "CompositeKey"):
                raise UnreadableSource("Meta.primary_key is not CompositeKey(...)")
            names = [value(key_module, a) for a in key.args]
            definitions.append("PRIMARY KEY (" + ", ".join(quote(columns.get(n, n), d) for n in names) + ")")
        definitions += [f for f in foreign_keys if f]
        constraints = meta.get("constraints")
        if constraints is not None:
            constraint_module, items = constraints
            for item in items.elts if isinstance(items, (ast.List, ast.Tuple)) else []:
                if isinstance(item, ast.Call) and last_name(call_name(item)) == "SQL" and item.args:
                    definitions.append(value(constraint_module, item.args[0]))
        statements = [f"CREATE TABLE {quote(table, d)} ({', '.join(definitions)})"]
        indexes = meta.get("indexes")
        if indexes is not None:
            for fields, unique in value(*indexes) or ():
                if unique:
                    unique_columns.append([columns.get(f.split()[0], f.split()[0]) for f in fields])
        for key_columns in unique_columns:
            name = re.sub(r"[^\w]+", "", "_".join(key_columns))
            statements.append(f"CREATE UNIQUE INDEX {quote(truncated(f'{index_prefix}_{name}'), d)} ON {quote(table, d)} "
                              f"({', '.join(quote(c, d) for c in key_columns)})")
        return statements


def is_column(kind: str) -> bool:
    """A field call that is a column: a ManyToManyField is a table of its own, not one."""
    return (kind.endswith("Field") or kind == "DeferredForeignKey") and kind != "ManyToManyField"


def is_primary(module: PythonModule, call: ast.Call) -> bool:
    """`primary_key=True`, or an AutoField/BigAutoField, which are primary keys by default."""
    kind = last_name(call_name(call)) or ""
    return bool(value(module, keyword(call, "primary_key"), kind.endswith("AutoField")))


def truncated(name: str, maxlen: int = 64) -> str:
    """peewee's _truncate_constraint_name."""
    import hashlib

    if len(name) > maxlen:
        name = f"{name[: maxlen - 8]}_{hashlib.md5(name.encode()).hexdigest()[:7]}"
    return name


def _defines(node: ast.ClassDef, method: str) -> bool:
    return any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == method for s in node.body)


def read_peewee_models(root: Path, files: list[Path], dialect: str) -> SchemaSource:
    source = SchemaSource(KIND, is_migration=False)
    modules, diagnostics = modules_mentioning(root, files, NEEDLES)
    source.diagnostics.extend(diagnostics)
    reader = PeeweeModels(modules, dialect, source)
    used_as_base = {b.name for _, node in reader.classes.values() for _, b in reader.bases(node)}
    for module, node in reader.classes.values():
        if not reader.is_model(node) or node.name == "Model":
            continue
        if node.name in used_as_base and not reader.fields(module, node):
            continue  # a BaseModel that only binds the database: nobody creates its table
        try:
            statements = reader.statements(module, node)
        except (UnreadableSource, KeyError, TypeError, ValueError) as error:
            source.diagnostics.append(Diagnostic(module.relative, f"model {node.name} not read ({error}); its keys are not in the catalog", node.lineno, "schema-source-error"))
            continue
        for sql in statements:
            source.emit(sql, module.relative, node.lineno)
        table, columns = reader.names(module, node)
        source.table_names[node.name] = quote(table, dialect)
        source.column_names.update({f"{node.name}.{field}": quote(column, dialect) for field, column in columns.items()})
        if not _defines(node, "get_or_create"):  # Model.get_or_create(...) is peewee's, not the project's own
            source.related_names.setdefault(PEEWEE_CLASS + node.name, []).append((node.name, ""))
        generated = {
            name for name, (_m, call) in reader.fields(module, node).items()
            if (last_name(call_name(call)) or "").endswith("AutoField") or fresh_primary_key(call)
        }
        # What a bulk insert of model objects writes: every column but the generated primary key.
        source.column_names[writable_key(node.name)] = ", ".join(quote(c, dialect) for f, c in columns.items() if f not in generated)
        if module.relative not in source.files:
            source.files.append(module.relative)
    return source
