"""Django models as a schema source, read statically.

A model is a class in an app's `models.py` (or `models/` package) deriving from
`models.Model` or from another model of the project. The app label is its AppConfig's
`label`, else the app's folder name (`django_apps`); the table is `Meta.db_table` or `<app_label>_<model name lower>`.
Abstract bases give their fields and (when the child declares no Meta, or
subclasses the base's) their Meta; a concrete parent makes the child's primary key
a `<parent>_ptr` one-to-one column, as multi-table inheritance does. Without a
primary key field a model gets `id` (DEFAULT_AUTO_FIELD, assumed BigAutoField).
Proxy and unmanaged models create no table.

Bases are found wherever they live (django_bases): in the class's own module, among the
project's models, through the module's imports into any project file, or among the known
abstract bases of Django and common packages (`AbstractUser` and its username key). A class
whose base is in none of these places is a model when it declares `models.*` fields or a
model's Meta, with a `schema-assumption` diagnostic. `getattr(settings, "NAME", default)`
is read as its default, also said in a diagnostic; `%(class)s` / `%(app_label)s` in an
inherited constraint's name are filled in per child.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from auditor.model import Diagnostic
from auditor.schema import read_log
from auditor.schema.django_apps import AppLabels
from auditor.schema.django_bases import ProjectClasses, known_base_name, known_bases_module
from auditor.schema.django_contrib import contrib_modules
from auditor.python.neutral_sql import MANAGER, writable_key
from auditor.schema.django_state import (
    FieldState,
    ModelState,
    constraint_state,
    create_model_sql,
    default_table,
    field_columns,
    field_state,
    link_relation,
    settings_default,
    through_table,
)
from auditor.python.sinks import dotted_name
from auditor.schema.pysource import PythonModule, UnreadableSource, call_name, last_name, modules_mentioning, short_name, value
from auditor.schema.source import SchemaSource, quote

KIND = "django models"
NEEDLES = (b"django.db",)
# In a models/ package, a module-level class with a base whose name ends in "Model": this
# skips Django's own django/db/models/ package. (Every models.py is read.)
MODEL_CLASS = re.compile(rb"^class \w+\([^)]*Model\b", re.M)
FIELD_SUFFIXES = ("Field", "ForeignKey", "ParentalKey")  # ParentalKey: django-modelcluster


@dataclass
class ModelClass:
    module: PythonModule
    node: ast.ClassDef
    app: str

    def meta(self) -> ast.ClassDef | None:
        return next((n for n in self.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)


def app_folder(module: PythonModule) -> Path | None:
    """The app a models module belongs to: the folder of `models.py` or of the `models/` package."""
    path = PurePosixPath(module.relative)
    if path.name == "models.py":
        return module.path.parent if len(path.parts) > 1 else None
    if "models" in path.parts[:-1] and path.parts.index("models") > 0:
        return module.path.parents[len(path.parts) - 1 - path.parts.index("models")]
    return None


def meta_options(meta: ast.ClassDef | None, module: PythonModule) -> dict[str, ast.expr]:
    if meta is None:
        return {}
    return {
        s.targets[0].id: s.value for s in meta.body
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
    }


class DjangoModels:
    def __init__(self, modules: list[PythonModule], dialect: str, source: SchemaSource, root: Path | None = None):
        self.dialect, self.source = dialect, source
        self.classes: dict[str, ModelClass] = {}  # by name: the first of that name (bases are looked up by name)
        self.all: list[ModelClass] = []
        self.elsewhere = ProjectClasses(root) if root is not None else None  # bases in other project files
        known = known_bases_module()
        self.known = {n.name: n for n in known.tree.body if isinstance(n, ast.ClassDef)}
        self.known_module = known
        self.resolved: dict[tuple[int, str], ModelClass | None] = {}
        labels = AppLabels()
        for module in modules:
            folder = app_folder(module)
            if folder is None:
                continue
            app = labels.label(folder)
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef):
                    found = ModelClass(module, node, app)
                    self.all.append(found)  # two apps' `Notification`s are two models
                    self.classes.setdefault(node.name, found)

    def bases(self, model: ModelClass) -> list[ModelClass]:
        found = []
        for base in model.node.bases:
            name = short_name(base)
            if name is not None and name != model.node.name and (resolved := self.base(model, name)) is not None:
                found.append(resolved)
        return found

    def base(self, model: ModelClass, name: str) -> ModelClass | None:
        """A base by name: in the class's own module, among the project's models, one of the
        known abstract bases of Django and common packages, or wherever the module imports it
        from in the project (django_bases)."""
        key = (id(model.node), name)
        if key not in self.resolved:
            self.resolved[key] = self._base(model, name)
        return self.resolved[key]

    def _base(self, model: ModelClass, name: str) -> ModelClass | None:
        local = next((n for n in model.module.tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if local is not None:
            return ModelClass(model.module, local, model.app) if model.module is self.known_module else self.classes.get(name) or ModelClass(model.module, local, model.app)
        if name in self.classes:
            same_app = next((c for c in self.all if c.node.name == name and c.app == model.app), None)
            return same_app or self.classes[name]
        known = known_base_name(model.module, name)
        if known in self.known:
            return ModelClass(self.known_module, self.known[known], model.app)
        found = self.elsewhere.find(model.module, name) if self.elsewhere is not None else None
        return ModelClass(found[0], found[1], model.app) if found is not None else None

    def unknown_bases(self, model: ModelClass) -> list[str]:
        """Bases the reader cannot find (a package outside the tree), `models.Model` aside."""
        names = []
        for base in model.node.bases:
            dotted = ast.unparse(base)
            name = short_name(base)
            if dotted in ("models.Model", "Model", "object") or dotted.endswith(".models.Model") or name is None:
                continue
            if self.base(model, name) is None:
                names.append(dotted)
        return names

    def looks_like_a_model(self, model: ModelClass) -> bool:
        """A class with an unknown base that declares Django model fields (`models.X(...)`), a
        Meta with what only a model's Meta holds, or a manager."""
        meta = meta_options(model.meta(), model.module)
        if set(meta) & {"db_table", "constraints", "unique_together", "indexes", "abstract"}:
            return True
        if any(ast.unparse(call.func).startswith("models.") for _owner, _name, call in self.fields(model)):
            return True
        return any(  # a manager: `objects = models.Manager()`, `ThatQuerySet.as_manager()`
            isinstance(s, ast.Assign) and isinstance(s.value, ast.Call)
            and (ast.unparse(s.value.func).endswith(("Manager", ".as_manager")) or "from_queryset" in ast.unparse(s.value.func))
            for s in model.node.body
        )

    def is_model(self, model: ModelClass, seen: frozenset = frozenset()) -> bool:
        for base in model.node.bases:
            dotted = ast.unparse(base)
            if dotted in ("models.Model", "Model") or dotted.endswith(".models.Model"):
                return True
        return any(self.is_model(b, seen | {model.node.name}) for b in self.bases(model) if b.node.name not in seen)

    def is_model_by_its_looks(self, model: ModelClass) -> str | None:
        """Why a class that no base makes a model is read as one (its base is unknown), or None."""
        unknown = self.unknown_bases(model)
        if unknown and self.looks_like_a_model(model):
            return ", ".join(unknown)
        return None

    def options(self, model: ModelClass) -> dict[str, ast.expr]:
        """Meta options, with abstract bases' Meta inherited as Django does."""
        own = meta_options(model.meta(), model.module)
        inherited: dict[str, ast.expr] = {}
        meta = model.meta()
        inherits_meta = meta is None or any("Meta" in ast.unparse(b) for b in meta.bases)
        for base in reversed(self.bases(model)):
            base_options = self.options(base)
            if self.is_abstract(base) and inherits_meta:
                inherited.update({k: v for k, v in base_options.items() if k not in ("abstract", "db_table", "proxy")})
        return {**inherited, **own}

    def is_abstract(self, model: ModelClass) -> bool:
        flag = meta_options(model.meta(), model.module).get("abstract")
        return isinstance(flag, ast.Constant) and flag.value is True

    def fields(self, model: ModelClass) -> list[tuple[ModelClass, str, ast.Call]]:
        found: dict[str, tuple[ModelClass, str, ast.Call]] = {}
        for base in reversed(self.bases(model)):
            if self.is_abstract(base):
                for item in self.fields(base):
                    found[item[1]] = item
        for statement in model.node.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
                call = statement.value
                if isinstance(target, ast.Name) and isinstance(call, ast.Call) and (last_name(call_name(call)) or "").endswith(FIELD_SUFFIXES):
                    found[target.id] = (model, target.id, call)
        return list(found.values())

    def managers(self, model: ModelClass) -> list[str]:
        """The classes whose methods run as this model's manager: `objects = ThatManager()`,
        `ThatQuerySet.as_manager()`, `Manager.from_queryset(ThatQuerySet)()`, also from an
        abstract base. In their methods `self.get_or_create(...)` writes this model."""
        found: list[str] = []
        for base in self.bases(model):
            if self.is_abstract(base):
                found += self.managers(base)
        for statement in model.node.body:
            call = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
            if not isinstance(call, ast.Call):
                continue
            if isinstance(call.func, ast.Call) and isinstance(call.func.func, ast.Attribute) and call.func.func.attr == "from_queryset":
                made = [call.func.func.value, *call.func.args[:1]]  # Manager.from_queryset(QuerySet)()
            elif isinstance(call.func, ast.Attribute) and call.func.attr == "as_manager":
                made = [call.func.value]  # QuerySet.as_manager()
            elif not (last_name(call_name(call)) or "").endswith(FIELD_SUFFIXES):
                made = [call.func]  # ThatManager()
            else:
                continue
            found += [n for n in map(last_name, map(dotted_name, made)) if n and n[:1].isupper()]
        return found

    def state(self, model: ModelClass) -> ModelState | None:
        options = self.options(model)
        module, d = model.module, self.dialect
        for flag in ("proxy", "abstract"):
            if isinstance(options.get(flag), ast.Constant) and options[flag].value is True:
                return None
        if isinstance(options.get("managed"), ast.Constant) and options["managed"].value is False:
            return None
        table_node = options.get("db_table")
        table = value(module, settings_default(table_node) or table_node) if table_node is not None else None
        for use in (n for n in ast.walk(model.node) if settings_default(n) is not None):
            message = (f"model {model.node.name}: {ast.unparse(use)[:80]} is read as its default "
                       f"{ast.unparse(use.args[2])[:40]} (the project's settings are not read)")
            self.source.diagnostics.append(Diagnostic(module.relative, message, use.lineno, "schema-assumption"))
        state = ModelState(model.app, model.node.name, table or default_table(model.app, model.node.name), table is not None)
        for base in self.bases(model):
            if not self.is_abstract(base) and self.is_model(base):
                ptr = f"{base.node.name.lower()}_ptr"
                state.fields[ptr] = FieldState(ptr, "OneToOneField", f"{ptr}_id", "bigint", False, False, True, target=base.node.name)
        for owner, name, call in self.fields(model):
            state.fields[name] = field_state(owner.module, name, call)
        if not any(f.primary_key for f in state.fields.values()):
            state.fields = {"id": FieldState("id", "BigAutoField", "id", "bigint", False, False, True), **state.fields}
        if "unique_together" in options:
            together = value(module, options["unique_together"]) or ()
            state.unique_together = [tuple(together)] if together and isinstance(next(iter(together)), str) else [tuple(t) for t in together]
        constraints = options.get("constraints")
        for item in constraints.elts if isinstance(constraints, (ast.List, ast.Tuple)) else []:
            parsed = constraint_state(module, item, state, d) if isinstance(item, ast.Call) else None
            if parsed is not None:
                state.constraints.append(parsed)
        return state


def read_django_models(root: Path, files: list[Path], dialect: str) -> SchemaSource:
    source = SchemaSource(KIND, is_migration=False)
    candidates = []
    for path in files:
        if path.name == "models.py":
            candidates.append(path)
        elif path.parent.name == "models":
            try:
                if MODEL_CLASS.search(read_log.read_bytes(path)):
                    candidates.append(path)
            except OSError:
                continue
    modules, diagnostics = modules_mentioning(root, candidates, NEEDLES)
    source.diagnostics.extend(diagnostics)
    reader = DjangoModels(modules, dialect, source, root)
    if modules:
        contrib = contrib_modules(root, files, {model.node.name for model in reader.all})
        if contrib:  # Django's own User, Group...: read with the project's, once
            reader = DjangoModels(modules + contrib, dialect, source, root)
    states: list[tuple[ModelClass, ModelState]] = []
    for model in reader.all:
        if not reader.is_model(model):
            unknown = reader.is_model_by_its_looks(model)
            if unknown is None:
                continue
            message = (f"model {model.node.name}: its base {unknown} is not in the project; read as a model from the "
                       f"fields it declares (the base's own fields and keys are not known)")
            source.diagnostics.append(Diagnostic(model.module.relative, message, model.node.lineno, "schema-assumption"))
        try:
            state = reader.state(model)
        except UnreadableSource as error:
            source.diagnostics.append(Diagnostic(model.module.relative, f"model {model.node.name} not read ({error}); its keys are not in the catalog", model.node.lineno, "schema-source-error"))
            continue
        if state is not None:
            states.append((model, state))
    by_key = {(state.app.lower(), state.name.lower()): state for _, state in states}
    names = Counter(state.name for _, state in states)

    def find(target: str, app: str) -> ModelState | None:
        """"app.Model", or "Model" of the same app, else the one model of that name."""
        target_app, _, target_name = target.rpartition(".")
        found = by_key.get(((target_app or app).lower(), target_name.lower()))
        if found is None and not target_app and names[target_name] == 1:
            found = next(s for _, s in states if s.name == target_name)
        return found

    for model, state in states:
        for f in state.fields.values():
            link_relation(state, f, lambda target, app=state.app: find(target, app))
        try:
            statements = create_model_sql(state, dialect)
            for f in state.fields.values():
                if f.auto_table:
                    statements += through_table(state, f, find(f.target, state.app), dialect)[1]
        except UnreadableSource as error:  # one model the reader cannot place must not hide the others
            source.diagnostics.append(Diagnostic(model.module.relative, f"model {model.node.name} not read ({error}); its keys are not in the catalog", model.node.lineno, "schema-source-error"))
            continue
        for sql in statements:
            source.emit(sql, model.module.relative, model.node.lineno)
        if model.module.relative not in source.files:
            source.files.append(model.module.relative)
        if names[state.name] > 1:
            continue  # a name two apps share: which model a call means is not known by its name
        source.table_names[state.name] = quote(state.table, dialect)
        source.column_names.update(field_columns(state, dialect))
        for f in state.fields.values():  # parent.<related name>.get_or_create(...) writes this model
            if f.target and f.column and not (f.related_name or "").endswith("+"):
                accessor = f.related_name or f"{state.name.lower()}_set"
                source.related_names.setdefault(accessor, []).append((state.name, f.name))
                # and by the parent's name, for a receiver whose model is known (`order: Order`)
                source.related_names.setdefault(f"{f.target.rpartition('.')[2]}.{accessor}", []).append((state.name, f.name))
        for manager in dict.fromkeys(reader.managers(model)):  # self.get_or_create(...) in ThatManager writes this model
            source.related_names.setdefault(MANAGER + manager, []).append((state.name, ""))
        primary = next((f for f in state.fields.values() if f.primary_key and f.column), None)
        if primary is not None:  # `pk` is Django's name for the primary key, whatever its field is called
            source.column_names[f"{state.name}.pk"] = quote(primary.column, dialect)
        # What a bulk insert of new model objects writes: every column but a generated primary
        # key (an AutoField, or a uuid4 default: each new object's is its own).
        source.column_names[writable_key(state.name)] = ", ".join(
            quote(f.column, dialect) for f in state.fields.values() if f.column and not f.kind.endswith("AutoField") and not f.fresh
        )
        if model.module.relative not in source.files:
            source.files.append(model.module.relative)
    return source
