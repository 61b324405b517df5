"""A row a marshmallow-sqlalchemy schema builds from the request (CTFd's API):

    schema = UnlockSchema()                       # class Meta: model = Unlocks
    response = schema.load(req, session=db.session)
    existing = Unlocks.query.filter(Unlocks.target == t, ...).first()
    if existing: return ...
    db.session.add(response.data)

is a new row of the schema's model (its fields are whatever the request held), so the pair is
a check-then-insert. A load into an existing `instance=` is an update, not an insert.
Flask-SQLAlchemy's `Model.query.filter(...)` is that model's query, not a reverse accessor
called `query`. (The check-then-insert itself is raced in tests/runtime.)"""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Unlocks(db.Model):
    __tablename__ = "unlocks"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer)
    target = db.Column(db.Integer)
'''

SCHEMAS = '''
from marshmallow_sqlalchemy import ModelSchema

from models import Unlocks


class UnlockSchema(ModelSchema):
    class Meta:
        model = Unlocks
        load_instance = True
'''

APP = '''
from models import Unlocks, db
from schemas import UnlockSchema


def unlock(req, user):
    schema = UnlockSchema()
    response = schema.load(req, session=db.session)
    existing = Unlocks.query.filter(Unlocks.target == req["target"], Unlocks.user_id == user.id).first()
    if existing:
        return {"success": False}, 400
    db.session.add(response.data)
    db.session.commit()


def unlock_v3(req, user):
    if Unlocks.query.filter(Unlocks.target == req["target"], Unlocks.user_id == user.id).first() is None:
        row = UnlockSchema().load(req, session=db.session)
        db.session.add(row)


def relock(req, user, unlock):
    if Unlocks.query.filter(Unlocks.target == req["target"], Unlocks.user_id == user.id).first() is None:
        response = UnlockSchema().load(req, instance=unlock, session=db.session)
        db.session.add(response.data)
'''


def test_a_row_the_schema_loads_is_an_insert_of_its_model(make_project, capsys):
    project = make_project({"models.py": MODELS, "schemas.py": SCHEMAS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "postgres"])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [("UPS101", 12), ("UPS101", 19)]
    assert all("on unlocks by (target, user_id): no unique key" in f["message"] for f in doc["findings"])
    assert not [s for s in doc["sites"] if s["line"] == 25]  # the update of an existing instance
