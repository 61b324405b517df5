"""`if hasattr(checkout, "metadata"): ... else: CheckoutMetadata.objects.create(checkout=...)`:
Django's test whether a one-to-one child row exists is a lookup of the child by the parent's
key (saleor's checkout metadata). UPS101 flags it; run for real by Django on PostgreSQL,
MariaDB and SQLite from two threads that meet after the lookup, both create, and the
one-to-one's unique key fails the second with an IntegrityError the code does not catch.

The same lookup written as `try: return checkout.metadata_storage` / `except
CheckoutMetadata.DoesNotExist: create(...)` (healthchecks' Profile), and a reverse foreign-key
accessor's `checkout.lines.select_related(...).get(sku=s)` then `Line(...).save()` in the
handler (pretalx's speaker profile), are the same check-then-insert: the one-to-one's key
turns the race into an IntegrityError, the lines (no key on checkout, sku) into two rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from auditor.cli import main

MODELS = '''
from django.db import models


class Checkout(models.Model):
    token = models.CharField(max_length=36)


class CheckoutMetadata(models.Model):
    checkout = models.OneToOneField(Checkout, related_name="metadata_storage", on_delete=models.CASCADE)
    private_metadata = models.TextField(default="")


class Line(models.Model):
    checkout = models.ForeignKey(Checkout, related_name="lines", on_delete=models.CASCADE)
    sku = models.CharField(max_length=36)
'''

UTILS = '''
from shop.models import Checkout, CheckoutMetadata, Line


def get_or_create_checkout_metadata(checkout: Checkout):
    if hasattr(checkout, "metadata_storage"):
        return checkout.metadata_storage
    else:
        return CheckoutMetadata.objects.create(checkout=checkout)


def is_paid(checkout):
    return hasattr(checkout, "payment")  # not an accessor of any model: not a lookup


def metadata_for(checkout: Checkout):
    try:
        return checkout.metadata_storage
    except CheckoutMetadata.DoesNotExist:
        return CheckoutMetadata.objects.create(checkout=checkout)


def line_for(checkout, sku):
    try:
        return checkout.lines.select_related("checkout").get(sku=sku)
    except Line.DoesNotExist:
        line = Line(checkout=checkout, sku=sku)
        line.save()
        return line
'''

RACE = r"""
import json
import threading

import django
from django.conf import settings

settings.configure(DATABASES={"default": %(database)r}, INSTALLED_APPS=["shop"], USE_TZ=True)
django.setup()
from django.db import connection, connections

from shop.models import Checkout, CheckoutMetadata, Line
from shop import utils

with connection.schema_editor() as editor:
    editor.create_model(Checkout)
    editor.create_model(CheckoutMetadata)
    editor.create_model(Line)
Checkout.objects.create(pk=1, token="t")
connection.close()

meet, errors, local = threading.Barrier(2), [], threading.local()


def meet_after_the_lookup(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith("SELECT") and %(table)r in sql and not getattr(local, "met", False):
        local.met = True
        meet.wait(timeout=5)  # both requests looked for the metadata row and found none
    return result


def request():
    try:
        checkout = Checkout.objects.get(pk=1)
        with connections["default"].execute_wrapper(meet_after_the_lookup):
            %(call)s
    except Exception as error:
        errors.append(type(error).__name__)
    finally:
        connections.close_all()


threads = [threading.Thread(target=request) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps([%(model)s.objects.count(), errors]))
"""


def write_project(root):
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    (root / "shop" / "utils.py").write_text(UTILS)
    return root


# shape -> (line of the insert, what the audit says, the call, the table met on, the model counted, the outcome)
SHAPES = {
    "hasattr": (9, "by (checkout_id): the unique constraint", "utils.get_or_create_checkout_metadata(checkout)",
                "checkoutmetadata", "CheckoutMetadata", [1, ["IntegrityError"]]),
    "accessor": (20, "by (checkout_id): the unique constraint", "utils.metadata_for(checkout)",
                 "checkoutmetadata", "CheckoutMetadata", [1, ["IntegrityError"]]),
    "select_related": (28, "by (checkout_id, sku): no unique key", 'utils.line_for(checkout, "A-1")', "shop_line", "Line", [2, []]),
}


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_the_related_row_lookups_are_flagged(dialect, tmp_path, capsys):
    project = write_project(tmp_path / "project")
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"], f["line"]) for f in doc["findings"]] == [("UPS101", "shop/utils.py", line) for line, *_ in SHAPES.values()]
    assert all(said in f["message"] for f, (_line, said, *_) in zip(doc["findings"], SHAPES.values()))
    assert doc["summary"]["idioms_unchecked"] == 0  # hasattr(checkout, "payment") is no lookup at all


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_two_requests_race_on_the_related_row(dialect, shape, django_database, tmp_path):
    project = write_project(tmp_path / "project")
    _line, _said, call, table, model, outcome = SHAPES[shape]
    script = RACE % {"database": django_database(dialect), "call": call, "table": table, "model": model}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=project)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == outcome
