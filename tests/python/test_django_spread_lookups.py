"""`**` of a dict the function builds is its keys: the lookup of get_or_create is read in full,
so a whole unique key in it is seen (no finding) and a missing one is named."""

from __future__ import annotations

import json

import pytest

from auditor.cli import main

MODELS = '''
from django.db import models

class Basket(models.Model):
    owner = models.IntegerField()

class Item(models.Model):
    basket = models.ForeignKey(Basket, on_delete=models.CASCADE)
    sku = models.CharField(max_length=20)
    {META}
'''

def audit_shop(make_project, capsys, models: str, views: str) -> dict:
    """Audit a one-app Django project (shop/models.py, shop/views.py) on PostgreSQL; its JSON."""
    project = make_project({"shop/__init__.py": "", "shop/models.py": models, "shop/views.py": views})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    return json.loads(capsys.readouterr().out)


VIEWS = '''
from shop.models import Item

def add(basket, sku):
    fields = {"sku": sku}
    Item.objects.get_or_create(**fields, basket=basket)
    lookup = dict(sku=sku, basket=basket)
    Item.objects.get_or_create(**lookup)
    Item.objects.get_or_create(**{"sku": sku, "basket": basket})
'''


@pytest.mark.parametrize("meta, expected", [
    ("", [("UPS201", 6), ("UPS201", 8), ("UPS201", 9)]),
    ("class Meta:\n        unique_together = [('basket', 'sku')]", []),
])
def test_spread_dicts_are_the_lookup(make_project, capsys, meta, expected):
    doc = audit_shop(make_project, capsys, MODELS.replace("{META}", meta), VIEWS)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == expected
    if expected:
        assert all("(sku, basket_id)" in f["message"] or "(basket_id, sku)" in f["message"] for f in doc["findings"])


HELPERS = '''
from shop.models import Item


def _make_item(basket, sku):
    item = Item(basket=basket)
    item.sku = sku
    item.save()
    return item


def add(basket, sku):
    try:
        return Item.objects.get(basket=basket, sku=sku)
    except Item.DoesNotExist:
        return _make_item(basket, sku)


def add_inline(basket, sku):
    if not Item.objects.filter(basket=basket, sku=sku).exists():
        item = Item(basket=basket, sku=sku)
        item.save()
'''


@pytest.mark.parametrize("meta, expected", [
    ("", [("UPS101", 16), ("UPS101", 22)]),
    ("class Meta:\n        unique_together = [('basket', 'sku')]", [("UPS101", 16), ("UPS101", 22)]),
])
def test_save_of_a_new_instance_and_a_module_helper_that_inserts_are_the_insert(make_project, capsys, meta, expected):
    doc = audit_shop(make_project, capsys, MODELS.replace("{META}", meta), HELPERS)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == expected
    # with the key the race ends in an IntegrityError for one caller; without it, in two rows
    outcome = "unique_violation" if meta else "no unique key"
    assert all(outcome in f["message"] for f in doc["findings"])


def test_pk_in_a_lookup_is_the_primary_key(make_project, capsys):
    views = ("from shop.models import Item\n\ndef seed(basket, n):\n"
             "    Item.objects.update_or_create(pk=n, defaults={'basket': basket, 'sku': 'x'})\n"
             "    Item.objects.get_or_create(pk=n, sku='x', defaults={'basket': basket})\n")
    doc = audit_shop(make_project, capsys, MODELS.replace("{META}", ""), views)
    # No duplicate is possible (UPS201 is quiet); the second holds the primary key and sku
    # besides: a row n with another sku makes that call fail (UPS202), which pk alone does not.
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS202", 5)]
    assert doc["summary"]["idioms"] == 2


RELATED_MODELS = '''
from django.db import models

class Basket(models.Model):
    owner = models.IntegerField()

class Item(models.Model):
    basket = models.ForeignKey(Basket, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=20)
    {META}

class Note(models.Model):
    basket = models.ForeignKey(Basket, on_delete=models.CASCADE)
    text = models.TextField()
'''

RELATED_VIEWS = '''
def add(basket, sku, text):
    basket.items.get_or_create(sku=sku)
    basket.note_set.get_or_create(text=text)
'''


@pytest.mark.parametrize("meta, expected", [
    ("", [("UPS201", 3, "(sku, basket_id)"), ("UPS201", 4, "(text, basket_id)")]),
    ("class Meta:\n        unique_together = [('basket', 'sku')]", [("UPS201", 4, "(text, basket_id)")]),
])
def test_a_related_manager_writes_the_child_with_the_parent_in_the_lookup(make_project, capsys, meta, expected):
    doc = audit_shop(make_project, capsys, RELATED_MODELS.replace("{META}", meta), RELATED_VIEWS)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [(rule, line) for rule, line, _ in expected]
    assert all(f"the lookup {lookup}," in f["message"] for f, (_, _, lookup) in zip(doc["findings"], expected))


ACCESSOR_VIEWS = '''
from shop.models import Item


def add(basket, sku):
    if not basket.items.filter(sku=sku).exists():
        basket.items.create(sku=sku)


def add_through_the_manager(basket, sku):
    existing = basket.items.filter(sku=sku).first()
    if existing is None:
        Item.objects.create(basket=basket, sku=sku)


def not_a_queryset(cache, key):
    if not cache.entries.filter(key).exists():  # no model has an accessor `entries`
        cache.entries.create(key=key)
'''


@pytest.mark.parametrize("meta, expected", [
    ("", [("UPS101", 7), ("UPS101", 13)]),
    ("class Meta:\n        unique_together = [('basket', 'sku')]", [("UPS101", 7), ("UPS101", 13)]),
])
def test_a_check_then_insert_through_a_reverse_accessor(make_project, capsys, meta, expected):
    doc = audit_shop(make_project, capsys, RELATED_MODELS.replace("{META}", meta), ACCESSOR_VIEWS)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == expected
    assert all("(basket_id, sku)" in f["message"] or "(sku, basket_id)" in f["message"] for f in doc["findings"])
    assert ("unique_violation" in doc["findings"][0]["message"]) == bool(meta)
    assert doc["summary"]["idioms_unchecked"] == 0  # the cache's accessor is not counted as an idiom left unchecked


def test_a_spread_lookup_inside_a_with_block_is_read(make_project, capsys):
    """The written-out call keeps the whole position of the original: the lock finder compares
    where it ends with the `with` around it (an internal error on saleor before)."""
    views = '''
from django.db import transaction
from shop.models import Item

def add(basket, sku):
    fields = {"sku": sku, "basket": basket}
    with transaction.atomic():
        Item.objects.get_or_create(**fields)
'''
    doc = audit_shop(make_project, capsys, MODELS.replace("{META}", ""), views)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS201", 8)]
    assert not [d for d in doc["diagnostics"] if d["kind"] == "internal-error"]


TWO_PARENTS_MODELS = '''
from django.db import models

class Order(models.Model):
    number = models.IntegerField()

class Checkout(models.Model):
    token = models.IntegerField()

class OrderDiscount(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=20)

class CheckoutDiscount(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=20)

    class Meta:
        unique_together = [("checkout", "kind")]
'''

TWO_PARENTS_VIEWS = '''
from shop.models import Checkout, Order


def order_discount(order: Order, kind):
    order.discounts.get_or_create(kind=kind)


def checkout_discount(checkout: "Checkout", kind):
    checkout.discounts.get_or_create(kind=kind)


def either(order_or_checkout: Order | Checkout, kind):
    order_or_checkout.discounts.get_or_create(kind=kind)
'''


def test_an_accessor_two_parents_share_is_placed_by_the_receivers_annotation(make_project, capsys):
    """saleor's Order and Checkout both have `discounts`: with `order: Order` the call writes
    OrderDiscount (no key: UPS201), with `checkout: "Checkout"` CheckoutDiscount (keyed:
    quiet); a union is not placed."""
    doc = audit_shop(make_project, capsys, TWO_PARENTS_MODELS, TWO_PARENTS_VIEWS)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS201", 6)]
    assert "shop_orderdiscount" in doc["findings"][0]["message"]


def test_an_unannotated_receiver_named_after_an_imported_model(make_project, capsys):
    """`def add(order, kind)` in a module that imports Order: `order.discounts` is Order's."""
    views = "from shop.models import Checkout, Order\n\n\ndef add(order, kind):\n    order.discounts.get_or_create(kind=kind)\n"
    doc = audit_shop(make_project, capsys, TWO_PARENTS_MODELS, views)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS201", 5)]


DB_COLUMN_MODELS = '''
from django.db import models

class Basket(models.Model):
    owner = models.IntegerField()

class Item(models.Model):
    basket = models.ForeignKey(Basket, on_delete=models.CASCADE, db_column="cart")
    sku = models.CharField(max_length=20)

    class Meta:
        unique_together = [("basket", "sku")]
'''


@pytest.mark.parametrize("lookup", ["basket=b", "basket_id=b.pk"])
def test_a_foreign_key_with_db_column_is_reached_by_its_name_and_its_attname(make_project, capsys, lookup):
    """`basket` and `basket_id` are the column `cart`: the lookup holds the unique key, no finding
    (with `basket_id` taken as its own column the key was not seen)."""
    views = f"from shop.models import Item\n\n\ndef add(b, sku):\n    Item.objects.get_or_create({lookup}, sku=sku)\n"
    doc = audit_shop(make_project, capsys, DB_COLUMN_MODELS, views)
    assert doc["findings"] == []
    [site] = [s for s in doc["sites"] if s["kind"] == "get-or-create"]
    assert site["status"] == "checked"


def test_the_model_maps_list_every_name_of_a_db_column_relation(make_project):
    from pathlib import Path

    from auditor.schema.django_models import read_django_models

    project = make_project({"shop/__init__.py": "", "shop/models.py": DB_COLUMN_MODELS})
    source = read_django_models(Path(project), sorted(Path(project).rglob("*.py")), "postgres")
    assert {k: v for k, v in source.column_names.items() if k.startswith("Item.") and v == "\"cart\""} == {
        "Item.basket": '"cart"', "Item.basket_id": '"cart"', "Item.cart": '"cart"',
    }
