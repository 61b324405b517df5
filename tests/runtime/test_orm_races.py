"""The ORM calls UPS201 and UPS105 flag, run for real on PostgreSQL.

* Django get_or_create / update_or_create SELECT, then INSERT. Two requests at once, on a
  lookup no unique key covers, both insert; from then on every call raises
  MultipleObjectsReturned. With the unique key the loser's IntegrityError is caught by
  Django, which reads the winner's row: one row, no error. The two requests are made to
  meet between SELECT and INSERT with Django's own execute_wrapper hook.
* SQLAlchemy Session.merge() finds rows by primary key only: an object without its id is
  always inserted, so the second save duplicates (no key) or fails (unique key).
"""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlparse

import pytest

DJANGO_RACE = r'''
import threading

import django
from django.conf import settings

settings.configure(DATABASES={"default": %(database)r}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()
from django.db import IntegrityError, connection, connections, models


class Avatar(models.Model):
    account_id = models.IntegerField(unique=%(unique)r)
    persona = models.TextField()

    class Meta:
        app_label = "demo"
        db_table = "demo_avatar"


with connection.schema_editor() as editor:
    editor.create_model(Avatar)
connection.close()

meet = threading.Barrier(2)
errors = []
local = threading.local()


def meet_after_the_lookup(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith("SELECT") and "demo_avatar" in sql and not getattr(local, "met", False):
        local.met = True  # only the first lookup: Django's retry after IntegrityError looks again
        try:
            meet.wait(timeout=5)  # both requests have looked and found nothing
        except threading.BrokenBarrierError:
            pass
    return result


def request(persona):
    try:
        with connections["default"].execute_wrapper(meet_after_the_lookup):
            Avatar.objects.%(method)s(%(lookup)s, defaults={"persona": persona})
    except Exception as error:
        errors.append(type(error).__name__)
    finally:
        connections.close_all()


threads = [threading.Thread(target=request, args=(p,)) for p in ("owl", "fox")]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("rows", Avatar.objects.filter(account_id=7).count())
print("errors", sorted(errors))
try:
    Avatar.objects.%(method)s(%(lookup)s, defaults={"persona": "cat"})
    print("later call ok")
except Avatar.MultipleObjectsReturned:
    print("later call MultipleObjectsReturned")
except IntegrityError:
    print("later call IntegrityError")
'''


def django_race(pg_database: str, method: str, unique: bool, lookup: str = "account_id=7") -> str:
    url = urlparse(pg_database)
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": url.path[1:], "USER": url.username or "",
                "HOST": url.hostname, "PORT": str(url.port or 5432)}
    script = DJANGO_RACE % {"database": database, "unique": unique, "method": method, "lookup": lookup}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("method", ["get_or_create", "update_or_create"])
def test_get_or_create_without_a_unique_key_duplicates_then_always_fails(method, pg_database):
    out = django_race(pg_database, method, unique=False)
    assert "rows 2\n" in out and "errors []\n" in out
    assert "later call MultipleObjectsReturned" in out


@pytest.mark.parametrize("method", ["get_or_create", "update_or_create"])
def test_get_or_create_with_the_unique_key_stays_one_row(method, pg_database):
    out = django_race(pg_database, method, unique=True)
    assert "rows 1\n" in out and "errors []\n" in out and "later call ok" in out


@pytest.mark.parametrize("unique", [True, False], ids=["unique-key", "no-key"])
def test_get_or_create_on_the_whole_key_plus_other_filters_never_duplicates(unique, pg_database):
    """UPS201 stays quiet here: the unique account_id stops the second insert. Django reads
    again with the whole lookup, which the winner's row (persona "owl" or "fox") may not match:
    then the loser gets the IntegrityError, never a second row. Without the key: two rows."""
    out = django_race(pg_database, "get_or_create", unique=unique, lookup='account_id=7, persona__startswith="o"')
    assert ("rows 1\n" if unique else "rows 2\n") in out
    if unique:
        assert "later call MultipleObjectsReturned" not in out


@pytest.mark.parametrize("unique", [False, True], ids=["no-key", "unique-key"])
def test_session_merge_without_the_id_inserts_every_time(unique, pg_database):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy import Column, Integer, Text, create_engine, func, select
    from sqlalchemy.orm import DeclarativeBase, Session

    class Base(DeclarativeBase):
        pass

    class Avatar(Base):  # no annotations: they would be strings here, unresolvable in a function
        __tablename__ = "avatars"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, unique=unique, nullable=False)
        persona = Column(Text, nullable=False)

    engine = create_engine(pg_database.replace("postgresql://", "postgresql+psycopg://", 1))
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.merge(Avatar(user_id=7, persona="owl"))
            session.commit()
            session.merge(Avatar(user_id=7, persona="fox"))  # "save" the same user's avatar again
            if unique:
                with pytest.raises(sqlalchemy.exc.IntegrityError, match="avatars_user_id_key"):
                    session.commit()
                session.rollback()
            else:
                session.commit()
            rows = session.scalar(select(func.count()).select_from(Avatar).where(Avatar.user_id == 7))
        assert rows == (1 if unique else 2)
    finally:
        engine.dispose()
