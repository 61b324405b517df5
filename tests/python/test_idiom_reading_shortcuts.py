"""The idiom finder's shortcuts give what the plain walks give: calls found by position are
the calls a walk of the node finds, in its order; the text test for `obj = Model(...)` never
says no where the scope would find a model built there."""

from __future__ import annotations

import ast
import textwrap

import pytest

from auditor.python.idioms import FunctionFacts, LocalCode, _walk_local

CODE = textwrap.dedent('''
    def handler(session, name, rows):
        user = session.query(User).filter_by(name=name).first()
        if user is None and not audit(log(name)):
            user = User(name=name, tags=[Tag(t) for t in split(name)])
            session.add(user)
        with session.begin_nested():
            for row in rows:
                try:
                    session.add(Row(**row)).flush()
                except IntegrityError:
                    session.rollback(); warn(f"{row} {fmt(row)}")
        helper = lambda x: compute(x)
        def inner():
            return inner_call()
        return user.save().to_dict(), (yield other(call(1)))
''')


def test_calls_found_by_position_are_the_calls_a_walk_of_each_node_finds():
    function = ast.parse(CODE).body[0]
    code = LocalCode(function)
    for node in code.nodes:
        walked = [n for n in _walk_local(node) if isinstance(n, ast.Call)]
        assert code.calls_in(node) == walked, ast.dump(node)[:80]


@pytest.mark.parametrize(("source", "name", "may"), [
    ("def f():\n    obj = Model(a=1)\n    obj.save()\n", "obj", True),
    ("def f():\n    obj: Model = models.Model(\n        a=1)\n    obj.save()\n", "obj", True),
    ("def f():\n    if (obj := cls()):\n        obj.save()\n", "obj", True),
    ("def f(self):\n    obj = self.model(a=1)\n    obj.save()\n", "obj", True),
    ("def f():\n    a = obj = Ärger()\n    obj.save()\n", "obj", True),
    ("def f(obj):\n    obj.save()\n", "obj", False),  # a parameter
    ("def f(items):\n    for obj in items:\n        obj.save()\n", "obj", False),  # a loop variable
    ("def f():\n    obj = Model.objects.create(a=1)\n    obj.save()\n", "obj", False),  # a manager call: no model built
    ("def f():\n    obj = other\n    if obj == Model():\n        obj.save()\n", "obj", False),
    ("def f():\n    myobj = Model()\n    obj.save()\n", "obj", False),
])
def test_the_text_test_for_a_model_built_in_the_function(source, name, may):
    function = ast.parse(source).body[0]
    assert FunctionFacts(function, source.splitlines(keepends=True)).may_construct(name) is may
