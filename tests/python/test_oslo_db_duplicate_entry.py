"""oslo.db (nova, cinder) raises its own DBDuplicateEntry for a unique violation: an insert
inside `try: ... except db_exc.DBDuplicateEntry:` handles the loser of a race on a keyed table
(nova's `_try_create_share_mapping` answers 409), as `except IntegrityError` does. Without the
handler, the check-then-insert on the keyed table is still reported: the loser's error reaches
the caller. (tests/runtime/test_query_factory_race.py races the shape itself.)"""

from __future__ import annotations

import json

from auditor.cli import main

MODELS = '''
from sqlalchemy import Column, Integer, String, UniqueConstraint
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class ShareMapping(Base):
    __tablename__ = "share_mapping"
    id = Column(Integer, primary_key=True)
    share_id = Column(String(36), nullable=False)
    __table_args__ = (UniqueConstraint("share_id"),)
'''

APP = '''
from oslo_db import exception as db_exc

import models


def model_query(context, model):
    return context.session.query(model)


def attach(context, share_id):
    if model_query(context, models.ShareMapping).filter_by(share_id=share_id).first() is None:
        mapping = models.ShareMapping()
        mapping.share_id = share_id
        try:
            mapping.save(context.session)
        except db_exc.DBDuplicateEntry:
            raise ValueError("already attached")


def attach_unhandled(context, share_id):
    if model_query(context, models.ShareMapping).filter_by(share_id=share_id).first() is None:
        mapping = models.ShareMapping()
        mapping.share_id = share_id
        mapping.save(context.session)
'''


def test_a_caught_duplicate_entry_handles_the_race(make_project, capsys):
    project = make_project({"models.py": MODELS, "app.py": APP})
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", "mysql"])
    doc = json.loads(capsys.readouterr().out)
    said = [(f["rule"], f["line"], f["severity"], f["message"].rpartition(", ")[2]) for f in doc["findings"]]
    assert said == [("UPS101", 16, "info", "which the code catches"), ("UPS101", 25, "warning", "which the code does not catch")]
