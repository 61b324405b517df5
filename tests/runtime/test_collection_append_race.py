"""A SQLAlchemy relationship collection checked, then appended to: `if tag not in post.tags:
post.tags.append(tag)` inserts a row of the association table at the flush. Two requests that
both load the collection before either commits both append: two association rows without a
unique key, an IntegrityError for the second with one. UPS101 reports it on the association
table (PostgreSQL, MariaDB, SQLite), and says which key decides."""

from __future__ import annotations

import json

import pytest
from sqlalchemy_race import engine_url, race  # noqa: F401 - engine_url is a fixture

from auditor.cli import main

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

post_tags = Table(
    "post_tags", Base.metadata,
    Column("post_id", ForeignKey("posts.id"), nullable=False{KEY}),
    Column("tag_id", ForeignKey("tags.id"), nullable=False{KEY}),
)


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    tags = relationship("Tag", secondary=post_tags)
"""

APP = """
from models import Post, Tag


def tag_post(session, post_id, tag_id):
    post = session.get(Post, post_id)
    tag = session.get(Tag, tag_id)
    if tag not in post.tags:
        post.tags.append(tag)


def tag_post_unguarded(session, post_id, tag_id):
    session.get(Post, post_id).tags.append(session.get(Tag, tag_id))


def collect(names):
    seen = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return seen
"""


def write_project(root, keyed: bool):
    root.mkdir()
    (root / "models.py").write_text(MODELS.replace("{KEY}", ", primary_key=True" if keyed else ""))
    (root / "app.py").write_text(APP)
    return root


def audit(project, dialect: str, capsys) -> dict:
    main(["check", str(project), "--format", "json", "--no-cache", "--dialect", dialect])
    return json.loads(capsys.readouterr().out)


def setup_rows(modules, session):
    session.add_all([modules["models"].Post(id=1), modules["models"].Tag(id=1, name="python")])


def tag_post(modules, session):
    modules["app"].tag_post(session, 1, 1)


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "primary-key"])
def test_two_requests_both_append_and_the_audit_says_so(keyed, engine_url, tmp_path, capsys):
    dialect, url = engine_url
    project = write_project(tmp_path / "project", keyed)
    rows, errors = race(project, url, "post_tags", tag_post, setup=setup_rows)
    assert (rows, errors) == ((1, ["IntegrityError"]) if keyed else (2, []))

    doc = audit(project, dialect, capsys)
    [finding] = doc["findings"]
    assert (finding["rule"], finding["line"], finding["severity"]) == ("UPS101", 9, "warning")
    assert "post_tags by (post_id, tag_id)" in finding["message"]
    assert ("primary key" in finding["message"]) is keyed


def test_a_collection_no_model_relates_is_a_list_not_an_idiom(tmp_path, capsys):
    """Without a relationship of that name in the models, `tag not in post.tags` is most likely
    a list: listed as not an upsert, never a finding and never counted unchecked."""
    project = write_project(tmp_path / "project", keyed=False)
    (project / "models.py").write_text(MODELS.replace("{KEY}", "").replace(', secondary=post_tags', ''))
    doc = audit(project, "postgres", capsys)
    assert doc["findings"] == []
    [idiom] = [s for s in doc["sites"] if s["kind"] == "check-then-insert"]
    assert idiom["status"] == "not an upsert"


def test_self_in_a_method_is_the_class_relationship_and_a_list_attribute_is_not(tmp_path, capsys):
    """`self.tags` in Post's own method is Post's relationship; `self.tags` in a class with no
    relationship is a list, whatever other models call their collections."""
    project = write_project(tmp_path / "project", keyed=False)
    (project / "models.py").write_text(MODELS.replace("{KEY}", "") + '''
    def add_tag(self, tag):
        if tag not in self.tags:
            self.tags.append(tag)


class Bag:
    def __init__(self):
        self.tags = []

    def add(self, tag):
        if tag not in self.tags:
            self.tags.append(tag)
''')
    doc = audit(project, "postgres", capsys)
    assert sorted((f["path"], f["line"]) for f in doc["findings"]) == [("app.py", 9), ("models.py", 27)]
