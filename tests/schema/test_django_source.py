"""Django migrations and models, read statically, must equal what the real database has
after Django's own `migrate` (or `migrate --run-syncdb` from the models alone) built it."""

from __future__ import annotations

import shutil
import textwrap
from urllib.parse import urlparse

import pytest

from auditor.config import load_config
from auditor.engine import run_audit
from auditor.schema.compare import comparable, foreign_key_set
from auditor.schema.django_apps import declared_label
from auditor.schema.django_migrations import read_django_migrations
from auditor.schema.django_models import read_django_models
from auditor.schema.source import catalog_from_source

from framework_oracle import EXAMPLES, copy_example, live_comparable, live_foreign_keys, run_module

DIALECTS = ["postgres", "sqlite", "mysql"]


def _migrate(project, dialect, request, tmp_path, *flags):
    """Run `manage.py migrate` against a fresh database; return (pg url, sqlite path)."""
    sqlite_path = tmp_path / "live.sqlite"
    if dialect in ("postgres", "mysql"):
        pg = request.getfixturevalue("pg_database" if dialect == "postgres" else "mariadb_url")
        url = urlparse(pg)
        engine = "django.db.backends." + ("postgresql" if dialect == "postgres" else "mysql")
        env = {"DJANGO_DB_ENGINE": engine, "DJANGO_DB_NAME": url.path[1:], "DJANGO_DB_USER": url.username or "",
               "DJANGO_DB_PASSWORD": url.password or "", "DJANGO_DB_HOST": url.hostname, "DJANGO_DB_PORT": str(url.port)}
    else:
        pg = None
        env = {"DJANGO_DB_ENGINE": "django.db.backends.sqlite3", "DJANGO_DB_NAME": str(sqlite_path)}
    run_module(["django", "migrate", "--settings=config.settings", *flags], project, env={**env, "PYTHONPATH": str(project)})
    return pg, sqlite_path


def _migrated_catalog(project, dialect, request, tmp_path):
    """Django's migrate builds the database; the project's migrations, read statically, must
    equal it. Returns (catalog, pg url, sqlite path) for the test's own checks."""
    pg, sqlite_path = _migrate(project, dialect, request, tmp_path)
    source = read_django_migrations(project, sorted(project.rglob("*.py")), dialect)
    assert source.diagnostics == []
    catalog = catalog_from_source(source, dialect)
    assert comparable(catalog) == live_comparable(dialect, pg, sqlite_path)
    return catalog, pg, sqlite_path


def _add_models(project, tmp_path, text: str) -> None:
    """Models appended to the profiles app, and the migration Django's makemigrations writes for them."""
    with (project / "profiles" / "models.py").open("a") as models:
        models.write(text)
    env = {"DJANGO_DB_ENGINE": "django.db.backends.sqlite3", "DJANGO_DB_NAME": str(tmp_path / "makemigrations.sqlite"), "PYTHONPATH": str(project)}
    run_module(["django", "makemigrations", "profiles", "--settings=config.settings"], project, env=env)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_example_migrations_equal_django_migrate(dialect, request, tmp_path):
    project = copy_example("django_app", tmp_path)
    pg, sqlite_path = _migrate(project, dialect, request, tmp_path)
    source = read_django_migrations(project, sorted(project.rglob("*.py")), dialect)
    assert source.diagnostics == []
    assert [f.split("django_app/")[-1] for f in source.files] == [
        # dependency order (Django may interleave the apps differently; any such order builds the same schema)
        "accounts/migrations/0001_initial.py", "accounts/migrations/0002_email_unique_handle.py", "profiles/migrations/0001_initial.py",
        "accounts/migrations/0003_keys.py", "profiles/migrations/0002_tag_constraints.py", "profiles/migrations/0003_session.py",
    ]
    # Names included: Django's hashed names (unique_together, AlterField) are reproduced exactly.
    catalog = catalog_from_source(source, dialect)
    assert comparable(catalog) == live_comparable(dialect, pg, sqlite_path)
    # Foreign keys without their names: Django names a foreign key when its migration ends, and
    # profiles 0002 renames Tag after creating the tag-accounts table; that rename is not
    # followed into the names. (The models test below checks Django's foreign key names.)
    assert foreign_key_set(catalog) == live_foreign_keys(dialect, pg, sqlite_path)


def _assert_models_equal_run_syncdb(project, dialect, request, tmp_path):
    """The project's models, read statically, against the database `migrate --run-syncdb`
    builds from them (its migrations removed), foreign key names included."""
    for folder in list(project.rglob("migrations")):
        shutil.rmtree(folder)
    pg, sqlite_path = _migrate(project, dialect, request, tmp_path, "--run-syncdb")
    source = read_django_models(project, sorted(project.rglob("*.py")), dialect)
    assert source.diagnostics == []
    catalog = catalog_from_source(source, dialect)
    assert comparable(catalog) == live_comparable(dialect, pg, sqlite_path)
    assert foreign_key_set(catalog, names=True) == live_foreign_keys(dialect, pg, sqlite_path, names=True)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_example_models_equal_migrate_run_syncdb(dialect, request, tmp_path):
    _assert_models_equal_run_syncdb(copy_example("django_app", tmp_path), dialect, request, tmp_path)


PROFILES_CONFIG = """
from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    label = "people"
"""


def _relabel_profiles(project):
    """The example with its profiles app labelled `people` by its AppConfig, as reusable apps
    do: tables become people_*, and migrations name the app by its label."""
    (project / "profiles" / "apps.py").write_text(PROFILES_CONFIG)
    for migration in (project / "profiles" / "migrations").glob("0*.py"):
        text = migration.read_text()
        migration.write_text(text.replace('("profiles", "', '("people", "').replace(" profiles_session ", " people_session "))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_app_config_label_names_the_app(dialect, request, tmp_path):
    project = copy_example("django_app", tmp_path)
    _relabel_profiles(project)
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    assert {"people_preference", "people_session"} <= {n.name for n in catalog.tables}


def test_an_app_config_label_names_the_models_tables(request, tmp_path):
    project = copy_example("django_app", tmp_path)
    _relabel_profiles(project)
    _assert_models_equal_run_syncdb(project, "sqlite", request, tmp_path)


@pytest.mark.parametrize("source, label", [
    (PROFILES_CONFIG, "people"),
    (PROFILES_CONFIG + "\n\nclass Other(AppConfig):\n    name = 'profiles'\n    label = 'other'\n", None),  # two: Django takes neither
    (PROFILES_CONFIG + "\n\nclass Other(AppConfig):\n    label = 'other'\n    default = True\n", "other"),
    (PROFILES_CONFIG + "\n\nclass Other(AppConfig):\n    label = 'other'\n    default = False\n", "people"),
    ("class C(apps.AppConfig):\n    name = 'profiles'\n", None),  # no label: the folder's name
    ("def broken(:\n", None),
])
def test_which_app_config_sets_the_label(source, label):
    assert declared_label(source) == label


# Many-to-many fields: one through a model of the project's (no table of its own), one with
# its own db_table, one plain.
TEAMS = """

class Team(models.Model):
    name = models.TextField(unique=True)
    members = models.ManyToManyField(Account, through="Membership", related_name="teams")
    watchers = models.ManyToManyField(Account, db_table="team_watchers", related_name="watched_teams")
    editors = models.ManyToManyField(Account, related_name="edited_teams")


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    role = models.TextField()

    class Meta:
        unique_together = [("team", "account")]
"""


@pytest.mark.parametrize("dialect", DIALECTS)
def test_many_to_many_tables_are_the_ones_django_makes(dialect, request, tmp_path):
    project = copy_example("django_app", tmp_path)
    _add_models(project, tmp_path, TEAMS)
    catalog, pg, sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    assert {"team_watchers", "profiles_team_editors"} <= {n.name for n in catalog.tables}
    assert foreign_key_set(catalog) == live_foreign_keys(dialect, pg, sqlite_path)  # names: see the example test
    teams = {fk for fk in foreign_key_set(catalog, names=True) if "team" in fk[0]}
    assert teams and teams <= live_foreign_keys(dialect, pg, sqlite_path, names=True)  # the new tables' own names


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_many_to_many_field_added_later_through_a_model_keeps_the_history_readable(dialect, request, tmp_path):
    """AddField of a ManyToManyField(through=...) has no column: the replay raised there and
    lost every migration of the project (3 of 4 real Django applications tried)."""
    project = copy_example("django_app", tmp_path)
    without_members = TEAMS.replace('    members = models.ManyToManyField(Account, through="Membership", related_name="teams")\n', "")
    _add_models(project, tmp_path, without_members)
    models = project / "profiles" / "models.py"
    models.write_text(models.read_text().replace(
        "class Team(models.Model):\n    name = models.TextField(unique=True)\n",
        "class Team(models.Model):\n    name = models.TextField(unique=True)\n"
        '    members = models.ManyToManyField(Account, through="Membership", related_name="teams")\n'
        "    slug = models.TextField(unique=True, null=True)\n",
    ))
    _add_models(project, tmp_path, "")  # makemigrations: AddField members (through), AddField slug
    assert any("name='members'" in m.read_text() or 'name="members"' in m.read_text() for m in (project / "profiles" / "migrations").glob("*.py"))
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    team = next(t for n, t in catalog.tables.items() if n.name == "profiles_team")
    assert any(k.element_set == {"slug"} for k in team.unique_keys)  # the operation after it was applied


def test_an_operation_the_replay_cannot_apply_is_a_diagnostic_and_the_rest_is_applied(tmp_path, monkeypatch):
    import auditor.schema.django_migrations as replay

    project = copy_example("django_app", tmp_path)
    original = replay.Replayer.operation

    def failing(self, migration, call, database, state):
        if migration.module.relative.endswith("0003_keys.py"):
            raise KeyError("boom")
        return original(self, migration, call, database, state)

    monkeypatch.setattr(replay.Replayer, "operation", failing)
    source = read_django_migrations(project, sorted(project.rglob("*.py")), "postgres")
    failures = [d for d in source.diagnostics if d.kind == "internal-error"]
    assert failures and all(d.path.endswith("0003_keys.py") and d.line for d in failures)
    assert "the rest of the history is applied" in failures[0].message
    assert catalog_from_source(source, "postgres").tables  # every other migration still built its tables


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_many_to_many_tables_from_the_models(dialect, request, tmp_path):
    project = copy_example("django_app", tmp_path)
    _add_models(project, tmp_path, TEAMS)
    _assert_models_equal_run_syncdb(project, dialect, request, tmp_path)


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_unique_together_set_to_an_empty_set_drops_the_key(dialect, request, tmp_path):
    """makemigrations writes `unique_together=set()` when a model's unique_together goes away:
    the key must leave the catalog as it leaves the database."""
    project = copy_example("django_app", tmp_path)
    (project / "accounts" / "migrations" / "0004_drop_together.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [(\"accounts\", \"0003_keys\")]\n"
        "    operations = [migrations.AlterUniqueTogether(name=\"account\", unique_together=set())]\n"
    )
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    accounts = next(t for n, t in catalog.tables.items() if n.name == "accounts")
    assert not any(k.element_set == {"tenant", "email"} for k in accounts.unique_keys)


BADGES = """

class Badge(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20)
    verified = models.BooleanField(default=False)
    level = models.IntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=models.Q(verified=True), name="badge_one_verified"),
            models.UniqueConstraint(
                fields=["account", "kind"], condition=models.Q(level__gte=3) | models.Q(level__isnull=True), name="badge_high_or_unset"
            ),
            models.UniqueConstraint(fields=["kind"], condition=~models.Q(kind="x"), name="badge_not_x"),
        ]
"""


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_conditions_in_the_form_makemigrations_writes(dialect, request, tmp_path):
    """makemigrations serialises Q objects as Q(("verified", True)), Q(..., _connector="OR"),
    Q(..., _negated=True): the partial keys read from that migration equal the database's."""
    project = copy_example("django_app", tmp_path)
    _add_models(project, tmp_path, BADGES)
    [migration] = (project / "profiles" / "migrations").glob("0004_*.py")
    assert "_connector='OR'" in migration.read_text() and "_negated=True" in migration.read_text()
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    badges = next(t for n, t in catalog.tables.items() if n.name == "profiles_badge")
    assert sum(1 for k in badges.unique_keys if k.predicate) == 3


def test_the_example_audit_finds_the_incident():
    result = run_audit(load_config(EXAMPLES / "django_app", cache=False))
    assert result.schema_sources == ["django migrations", "django models"]
    # The incident's raw upsert, and update_or_create(account=...) with no unique key on account.
    assert [(f.rule, f.location.path, f.location.line) for f in result.findings] == [
        ("UPS001", "profiles/services.py", 17),
        ("UPS201", "profiles/services.py", 22),
    ]
    # RunSQL keys the model state never saw: the database has them, the models do not say so.
    drift = sorted(d.message.split(":")[1].split(" is ")[0].strip() for d in result.diagnostics if d.kind == "schema-drift")
    assert drift == ["unique index session_account_token (account_id, token)", "unique index session_token_uq (token)"]


MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = {dependencies}
    {extra}
    operations = [{operations}]
'''


def _write(tmp_path, files: dict) -> list:
    for name, (dependencies, operations, extra) in files.items():
        path = tmp_path / "shop" / "migrations" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(MIGRATION).format(dependencies=dependencies, operations=operations, extra=extra))
    return sorted(tmp_path.rglob("*.py"))


CREATE = 'migrations.CreateModel(name="{name}", fields=[("id", models.BigAutoField(primary_key=True)), ("code", models.CharField(max_length=9, unique=True))])'


def test_a_broken_migration_graph_is_reported_and_the_rest_is_read(tmp_path):
    files = _write(tmp_path, {
        "0001_initial": ("[]", CREATE.format(name="Item"), ""),
        "0002_orphan": ('[("shop", "0001_initial"), ("billing", "0007_gone")]', CREATE.format(name="Order"), ""),
        "0003_a": ('[("shop", "0004_b")]', "", ""),
        "0004_b": ('[("shop", "0003_a")]', "", ""),
        "0005_bad": ('[("shop", "0001_initial")]', 'migrations.AddField(model_name="item", name="x", field=make_field())', ""),
    })
    source = read_django_migrations(tmp_path, files, "postgres")
    messages = [(d.path.split("/")[-1], d.kind, d.message) for d in source.diagnostics]
    assert ("0002_orphan.py", "migration-graph", "dependency billing.0007_gone not found; applied without it") in messages
    assert any(kind == "migration-graph" and "cycle" in m and "0003_a.py" in m for _, kind, m in messages)
    assert any(kind == "migration-graph" and "leaf migrations" in m for _, kind, m in messages)
    assert any(path == "0005_bad.py" and m.startswith("AddField not read") for path, _, m in messages)
    catalog = catalog_from_source(source, "postgres")
    assert sorted(n.name for n in catalog.tables) == ["shop_item", "shop_order"]


def test_a_swappable_model_is_read_as_its_default(tmp_path):
    """swapper's get_model_name("shop", "Item") (wagtail's Page) is the model it names unless a
    project swaps it, as settings.AUTH_USER_MODEL is auth.User."""
    order = ('migrations.CreateModel(name="Order", fields=[("id", models.BigAutoField(primary_key=True)), '
             '("item", models.ForeignKey(on_delete=models.CASCADE, to=swapper.get_model_name("shop", "Item")))])')
    files = _write(tmp_path, {
        "0001_initial": ("[]", CREATE.format(name="Item"), ""),
        "0002_order": ('[("shop", "0001_initial")]', order, ""),
    })
    source = read_django_migrations(tmp_path, files, "postgres")
    assert source.diagnostics == []
    orders = next(t for n, t in catalog_from_source(source, "postgres").tables.items() if n.name == "shop_order")
    assert [(fk.columns, fk.references.name) for fk in orders.foreign_keys] == [(("item_id",), "shop_item")]


def test_operations_decided_by_settings_are_reported_not_dropped_silently(tmp_path):
    """allauth's account migrations: `operations = [...] if getattr(settings, ...) else []`, and
    `if not UNIQUE_EMAIL: operations += [...]` in the class body."""
    files = _write(tmp_path, {
        "0001_initial": ("[]", CREATE.format(name="Item"), "if not UNIQUE:\n        operations += []"),
        "0002_more": ('[("shop", "0001_initial")]', "", ""),
    })
    (tmp_path / "shop" / "migrations" / "0002_more.py").write_text(
        (tmp_path / "shop" / "migrations" / "0002_more.py").read_text().replace("operations = []", "operations = [] if ON else []")
    )
    source = read_django_migrations(tmp_path, files, "postgres")
    assert sorted((d.path.split("/")[-1], d.message.split(":")[0]) for d in source.diagnostics) == [
        ("0001_initial.py", "operations changed in an if at line 7, decided at run time"),
        ("0002_more.py", "operations = [] if ON else [] is not a list literal"),
    ]
    assert [n.name for n in catalog_from_source(source, "postgres").tables] == ["shop_item"]  # the rest is read


def test_a_squashed_migration_stands_in_for_the_ones_it_replaces(tmp_path):
    files = _write(tmp_path, {
        "0001_initial": ("[]", CREATE.format(name="Item"), ""),
        "0002_more": ('[("shop", "0001_initial")]', CREATE.format(name="Order"), ""),
        "0001_squashed_0002_more": ("[]", CREATE.format(name="Item") + ", " + CREATE.format(name="Order"),
                                    'replaces = [("shop", "0001_initial"), ("shop", "0002_more")]'),
        "0003_after": ('[("shop", "0002_more")]', 'migrations.DeleteModel(name="Order")', ""),
    })
    source = read_django_migrations(tmp_path, files, "postgres")
    assert source.diagnostics == []
    assert [f.split("/")[-1] for f in source.files] == ["0001_squashed_0002_more.py", "0003_after.py"]
    assert [n.name for n in catalog_from_source(source, "postgres").tables] == ["shop_item"]


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_squashed_migration_whose_replaced_files_were_deleted_is_the_history(dialect, request, tmp_path):
    """Projects delete the migrations a squash replaces (netbox keeps only *_squashed_* files);
    the squashed one was dropped as 'partly present' and every table after it was lost."""
    project = copy_example("django_app", tmp_path)
    env = {"DJANGO_DB_ENGINE": "django.db.backends.sqlite3", "DJANGO_DB_NAME": str(tmp_path / "squash.sqlite"), "PYTHONPATH": str(project)}
    run_module(["django", "squashmigrations", "accounts", "0003", "--noinput", "--settings=config.settings"], project, env=env)
    folder = project / "accounts" / "migrations"
    for replaced in ("0001_initial.py", "0002_email_unique_handle.py", "0003_keys.py"):
        (folder / replaced).unlink()
    assert [p.name for p in folder.glob("0001_squashed_*.py")]
    _migrated_catalog(project, dialect, request, tmp_path)  # equal to what Django's migrate built


def test_one_model_the_reader_cannot_place_does_not_hide_the_others(make_project):
    """A unique_together over a field the reader cannot place used to end the whole Django models
    source with an internal error (wagtail's WorkflowTask); now that model alone is reported.
    django-modelcluster's ParentalKey is read as the ForeignKey it is."""
    project = make_project({
        "flows/models.py": """
            from django.db import models
            from modelcluster.fields import ParentalKey

            class Workflow(models.Model):
                name = models.TextField(unique=True)

            class WorkflowTask(models.Model):
                workflow = ParentalKey(Workflow, on_delete=models.CASCADE)
                task = models.IntegerField()

                class Meta:
                    unique_together = [("workflow", "task")]

            class Odd(models.Model):
                other = models.IntegerField()

                class Meta:
                    unique_together = [("ghost", "other")]  # no such field: this model alone is not read
            """,
    })
    result = run_audit(load_config(project, cache=False))
    tables = {str(name).split(".")[-1]: table for name, table in result.catalog.tables.items()}
    assert {"flows_workflow", "flows_workflowtask"} <= set(tables)
    assert any(k.element_set == {"workflow_id", "task"} for k in tables["flows_workflowtask"].unique_keys)
    errors = [d for d in result.diagnostics if d.kind in ("schema-source-error", "internal-error")]
    assert [(d.kind, "Odd" in d.message) for d in errors] == [("schema-source-error", True)]


COMPOSED_OPERATIONS = '''
from django.db import migrations, models

BADGE_MODEL = [
    migrations.CreateModel(
        name="Badge",
        fields=[("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=40, unique=True))],
    ),
]
BADGE_KEYS = [
    migrations.AddField("badge", "code", models.CharField(max_length=10, null=True)),
]


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_session")]

    state_operations = [
        migrations.AddField("badge", "slug", models.CharField(max_length=40, null=True)),
    ]

    operations = BADGE_MODEL + BADGE_KEYS + [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(migrations.RunSQL.noop, reverse_sql=migrations.RunSQL.noop),
                migrations.RunSQL("ALTER TABLE profiles_badge ADD COLUMN slug varchar(40) NULL"),
            ],
            state_operations=state_operations,
        ),
        migrations.AddConstraint("badge", models.UniqueConstraint(fields=["slug"], name="badge_slug_uniq")),
        migrations.AlterUniqueTogether("badge", {("code", "slug")}),
    ]
'''


@pytest.mark.parametrize("dialect", DIALECTS)
def test_operations_composed_from_named_lists_are_the_history(dialect, request, tmp_path):
    """saleor writes `operations = A + B + C` of module-level lists, passes a class-level list
    as `state_operations=state_operations`, and puts `RunSQL(RunSQL.noop)` among the database
    operations: each of these lost a whole migration (and the models it created: 122 schema
    errors on one saleor tree, 16 after). Django's migrate is the oracle."""
    project = copy_example("django_app", tmp_path)
    (project / "profiles" / "migrations" / "0004_badge.py").write_text(COMPOSED_OPERATIONS)
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    badge = next(t for n, t in catalog.tables.items() if n.name == "profiles_badge")
    assert {frozenset(k.element_set) for k in badge.unique_keys} >= {frozenset({"name"}), frozenset({"slug"}), frozenset({"code", "slug"})}


ATTNAME_MODELS = '''

class Stamp(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, db_column="owner")
    kind = models.CharField(max_length=10)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "kind"], name="stamp_account_kind")]
'''


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_relation_named_by_its_attname_in_a_constraint(dialect, request, tmp_path):
    """`UniqueConstraint(fields=["line_id", ...])` names the foreign key by its attname, which
    Django accepts (saleor's discounts: four models and their keys were dropped). With a
    db_column the key is on that column. Django's makemigrations and migrate are the oracle,
    and the models reader agrees with the migrations."""
    project = copy_example("django_app", tmp_path)
    _add_models(project, tmp_path, ATTNAME_MODELS)
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    stamp = next(t for n, t in catalog.tables.items() if n.name == "profiles_stamp")
    assert any(k.element_set == {"owner", "kind"} for k in stamp.unique_keys)
    models = read_django_models(project, sorted(project.rglob("*.py")), dialect)
    assert not [d for d in models.diagnostics if "Stamp" in d.message]


MEDALS = """

class Medal(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    revoked = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account"], condition=models.Q(revoked=None), name="medal_one_live")]
"""


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_condition_on_none_is_is_null(dialect, request, tmp_path):
    """`Q(revoked=None)` is `revoked IS NULL` (it was read as `= NULL`, which matches nothing)."""
    project = copy_example("django_app", tmp_path)
    _add_models(project, tmp_path, MEDALS)
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    medal = next(t for n, t in catalog.tables.items() if n.name == "profiles_medal")
    [key] = [k for k in medal.unique_keys if k.element_set == {"account_id"}]
    assert "IS NULL" in key.predicate.upper()


VOUCHER_MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_session")]

    operations = [
        migrations.CreateModel(
            name="Voucher",
            fields=[("id", models.BigAutoField(primary_key=True)), ("code", models.CharField(max_length=10))],
        ),
    ]
'''


def test_a_model_the_models_reader_cannot_read_maps_to_the_table_its_migrations_made(tmp_path, capsys):
    """`Voucher(SomeBase)` whose base lives outside the tree is not read from models.py, but
    its migration made `profiles_voucher`: a get_or_create on it is checked there."""
    from auditor.cli import main

    project = copy_example("django_app", tmp_path)
    with (project / "profiles" / "models.py").open("a") as models:
        models.write("\n\nfrom vendor_kit.models import KitModel\n\n\nclass Voucher(KitModel):\n    code = models.CharField(max_length=10)\n")
    (project / "profiles" / "migrations" / "0004_voucher.py").write_text(VOUCHER_MIGRATION)
    (project / "profiles" / "vouchers.py").write_text(
        "from profiles.models import Voucher\n\n\ndef claim(code):\n    return Voucher.objects.get_or_create(code=code)\n"
    )
    main(["check", str(project), "--format", "json", "--no-cache"])
    doc = __import__("json").loads(capsys.readouterr().out)
    [finding] = [f for f in doc["findings"] if f["path"] == "profiles/vouchers.py"]
    assert finding["rule"] == "UPS201" and "profiles_voucher" in finding["message"]


CORE_DB = '''
from django.db import models


class Stamped(models.Model):
    code = models.CharField(max_length=12, unique=True)
    made = models.DateTimeField(null=True)

    class Meta:
        abstract = True
        constraints = [models.UniqueConstraint(fields=["code", "made"], name="%(class)s_code_made")]
'''
BASED_MODELS = '''

from django.contrib.auth.base_user import AbstractBaseUser
from core.db import Stamped


class Member(AbstractBaseUser):
    nickname = models.CharField(max_length=20, unique=True)


class Parcel(Stamped):
    weight = models.IntegerField()
'''


@pytest.mark.parametrize("dialect", DIALECTS)
def test_models_whose_bases_live_elsewhere(dialect, request, tmp_path):
    """An abstract base in another module of the project (core/db.py) and Django's own
    AbstractBaseUser: both children are models, with the bases' fields and keys (the Meta's
    constraint too), as Django's migrate --run-syncdb builds them."""
    project = copy_example("django_app", tmp_path)
    (project / "core").mkdir()
    (project / "core" / "__init__.py").write_text("")
    (project / "core" / "db.py").write_text(CORE_DB)
    with (project / "profiles" / "models.py").open("a") as models:
        models.write(BASED_MODELS)
    _assert_models_equal_run_syncdb(project, dialect, request, tmp_path)
    catalog = catalog_from_source(read_django_models(project, sorted(project.rglob("*.py")), dialect), dialect)
    assert {"profiles_member", "profiles_parcel"} <= {n.name for n in catalog.tables}


def test_a_model_with_a_base_outside_the_tree_is_read_from_its_own_fields(tmp_path):
    """A base from a package that is not in the tree and not a known one: a class that
    declares model fields is a model, and a diagnostic says its base's fields are not known."""
    project = copy_example("django_app", tmp_path)
    with (project / "profiles" / "models.py").open("a") as models:
        models.write("\n\nfrom vendor_kit.models import KitModel\n\n\nclass Voucher(KitModel):\n    code = models.CharField(max_length=10, unique=True)\n")
        models.write("\n\nclass Pass(KitModel):\n    objects = KitManager()\n\n\nclass Plain(KitModel):\n    note = 'not a model'\n")
    source = read_django_models(project, sorted(project.rglob("*.py")), "postgres")
    [note] = [d for d in source.diagnostics if "Voucher" in d.message]
    assert note.kind == "schema-assumption" and "KitModel" in note.message
    assert "Pass" in source.table_names and "Plain" not in source.table_names  # a manager makes a model; nothing else does
    catalog = catalog_from_source(source, "postgres")
    voucher = next(t for n, t in catalog.tables.items() if n.name == "profiles_voucher")
    assert any(k.element_set == {"code"} for k in voucher.unique_keys)


def test_getattr_of_settings_takes_the_default_and_says_so(tmp_path):
    project = copy_example("django_app", tmp_path)
    with (project / "profiles" / "models.py").open("a") as models:
        models.write(
            "\n\nfrom django.conf import settings\n\n\nclass Ledger(models.Model):\n    ref = models.CharField(max_length=10, unique=True)\n\n"
            "    class Meta:\n        db_table = getattr(settings, 'LEDGER_TABLE', 'ledger_entries')\n"
        )
    source = read_django_models(project, sorted(project.rglob("*.py")), "postgres")
    [note] = [d for d in source.diagnostics if "Ledger" in d.message]
    assert note.kind == "schema-assumption" and "'ledger_entries'" in note.message
    assert source.table_names["Ledger"] == '"ledger_entries"'


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_apps_with_a_model_of_one_name_are_two_models(dialect, request, tmp_path):
    """`Notification` in two apps: two tables, each with its own keys, and a relation to
    "alerts.Notification" points at the alerts one (the second used to be dropped)."""
    project = copy_example("django_app", tmp_path)
    (project / "alerts").mkdir()
    (project / "alerts" / "__init__.py").write_text("")
    (project / "alerts" / "models.py").write_text(
        "from django.db import models\n\n\nclass Notification(models.Model):\n    topic = models.CharField(max_length=20, unique=True)\n"
    )
    with (project / "profiles" / "models.py").open("a") as models:
        models.write(
            "\n\nclass Notification(models.Model):\n    account = models.ForeignKey(Account, on_delete=models.CASCADE)\n"
            "    alert = models.ForeignKey('alerts.Notification', on_delete=models.CASCADE)\n\n"
            "    class Meta:\n        unique_together = [('account', 'alert')]\n"
        )
    settings = project / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('INSTALLED_APPS = ["accounts", "profiles"]', 'INSTALLED_APPS = ["accounts", "profiles", "alerts"]'))
    _assert_models_equal_run_syncdb(project, dialect, request, tmp_path)
    source = read_django_models(project, sorted(project.rglob("*.py")), dialect)
    assert "Notification" not in source.table_names  # which one a call means is not known by its name


EXTENSIONS_MIGRATION = '''
from django.contrib.postgres.operations import BtreeGinExtension, CreateExtension, HStoreExtension, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_session")]

    operations = [
        BtreeGinExtension(),
        HStoreExtension(),
        TrigramExtension(),
        CreateExtension("unaccent"),
    ]
'''


def test_postgres_extension_operations_change_no_table(request, tmp_path):
    """saleor's CryptoExtension / HStoreExtension / TrigramExtension / BtreeGinExtension were
    'unknown operations' (about 8 diagnostics per saleor tree); they create extensions, not
    keys. Django's migrate on PostgreSQL is the oracle."""
    project = copy_example("django_app", tmp_path)
    (project / "profiles" / "migrations" / "0004_extensions.py").write_text(EXTENSIONS_MIGRATION)
    settings = project / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('INSTALLED_APPS = ["accounts", "profiles"]', 'INSTALLED_APPS = ["django.contrib.postgres", "accounts", "profiles"]'))
    _migrated_catalog(project, "postgres", request, tmp_path)  # no diagnostics, and equal to the database


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_app_config_in_the_package_names_the_app(dialect, request, tmp_path):
    """A config kept in the app package's __init__.py and named in INSTALLED_APPS (pulp's
    plugins: `pulp_file/app/__init__.py` with `label = "file"`) labels the app as apps.py does."""
    project = copy_example("django_app", tmp_path)
    _relabel_profiles(project)
    (project / "profiles" / "__init__.py").write_text((project / "profiles" / "apps.py").read_text())
    (project / "profiles" / "apps.py").unlink()
    settings = project / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('"profiles"]', '"profiles.ProfilesConfig"]'))
    catalog, _pg, _sqlite_path = _migrated_catalog(project, dialect, request, tmp_path)
    assert {"people_preference", "people_session"} <= {n.name for n in catalog.tables}


OWN_OPERATION = '''
from django.db.migrations.operations.base import Operation


class RequireVersion(Operation):
    """Refuse to migrate under an old plugin: looks at rows, changes no table."""

    reversible = True

    def __init__(self, plugin, version):
        self.plugin, self.version = plugin, version

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        assert self.version

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "require a version"
'''
OWN_OPERATION_MIGRATION = '''
from django.db import migrations
from profiles.checks import RequireVersion


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_session")]

    operations = [RequireVersion("profiles", "1.0")]
'''


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_project_operation_that_touches_no_table(dialect, request, tmp_path):
    """pulpcore's RequireVersion: an Operation subclass whose state_forwards does nothing and
    whose database_forwards never uses the schema editor is read as changing nothing (it was
    an 'unknown operation'); Django's migrate agrees."""
    project = copy_example("django_app", tmp_path)
    (project / "profiles" / "checks.py").write_text(OWN_OPERATION)
    (project / "profiles" / "migrations" / "0004_require.py").write_text(OWN_OPERATION_MIGRATION)
    _migrated_catalog(project, dialect, request, tmp_path)
    schema_changer = OWN_OPERATION.replace("assert self.version", "schema_editor.execute('SELECT 1')")
    (project / "profiles" / "checks.py").write_text(schema_changer)
    source = read_django_migrations(project, sorted(project.rglob("*.py")), dialect)
    assert [d.message for d in source.diagnostics] == ["RequireVersion not read (unknown operation RequireVersion); the keys it changes are not in the catalog"]


DATA_MIGRATION = '''
from django.db import migrations, models


def seed(apps, schema_editor):
    Coupon = apps.get_model("profiles", "Coupon")
    Coupon.objects.get_or_create(code="WELCOME")
    Ticket = apps.get_model("profiles", "Ticket")
    Ticket.objects.get_or_create(serial="T-1")


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_session")]

    operations = [
        migrations.CreateModel(
            name="Coupon",
            fields=[("id", models.BigAutoField(primary_key=True)), ("code", models.CharField(max_length=20, unique=True))],
        ),
        migrations.CreateModel(
            name="Ticket",
            fields=[("id", models.BigAutoField(primary_key=True)), ("serial", models.CharField(max_length=20))],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
'''
LATER_MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles", "0004_seed")]

    operations = [
        migrations.DeleteModel("Coupon"),
        migrations.AlterField("ticket", "serial", models.CharField(max_length=20, unique=True)),
    ]
'''


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_write_in_a_migration_is_checked_against_the_schema_of_that_migration(dialect, request, tmp_path, capsys):
    """The data migration runs when Coupon exists (dropped later) and Ticket.serial has no key
    yet (added later): Django's migrate runs it for real, and the audit checks it against
    that point of the history: no unknown table, and the missing key on serial is reported."""
    from auditor.cli import main

    project = copy_example("django_app", tmp_path)
    (project / "profiles" / "migrations" / "0004_seed.py").write_text(DATA_MIGRATION)
    (project / "profiles" / "migrations" / "0005_later.py").write_text(LATER_MIGRATION)
    _migrated_catalog(project, dialect, request, tmp_path)  # the data migration ran, and the final schema matches
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = __import__("json").loads(capsys.readouterr().out)
    in_migration = [(f["rule"], f["line"], f["severity"]) for f in doc["findings"] if f["path"] == "profiles/migrations/0004_seed.py"]
    assert in_migration == [("UPS201", 9, "info")]  # checked against that point; info: a migration runs alone
    assert "runs alone" in next(f["message"] for f in doc["findings"] if f["path"] == "profiles/migrations/0004_seed.py")
    assert not [d for d in doc["diagnostics"] if d["kind"] == "unknown-table" and d["path"].endswith("0004_seed.py")]
    assert not [s for s in doc["sites"] if s["path"].endswith("0004_seed.py") and s["status"] != "checked"]
