"""The extraction cache: warm runs reuse results, and never serve a stale one."""

from __future__ import annotations

from auditor.python import python_files, scan_python_files
from auditor.python.cache import CACHE_DIR


def scan(root, use_cache=True):
    return scan_python_files(root, python_files(root), use_cache=use_cache)


def test_warm_run_reuses_every_parsed_file(make_project):
    root = make_project({"a.py": "cur.execute('INSERT INTO a VALUES (1)')\n", "b.py": "cur.execute(q)\n", "c.py": "x = 1\n"})
    cold = scan(root)
    warm = scan(root)
    assert (cold.files_parsed, cold.files_cached) == (2, 0)
    assert (warm.files_parsed, warm.files_cached) == (0, 2)
    assert warm.calls == cold.calls


def test_editing_an_imported_module_rescans_its_importers(make_project):
    root = make_project({
        "app/__init__.py": "",
        "app/sql.py": "Q = 'INSERT INTO old VALUES (1)'\n",
        "app/store.py": "from app.sql import Q\ncur.execute(Q)\n",
    })
    assert scan(root).calls[0].sql == "INSERT INTO old VALUES (1)"
    (root / "app" / "sql.py").write_text("Q = 'INSERT INTO new VALUES (1)'\n")
    again = scan(root)
    assert again.calls[0].sql == "INSERT INTO new VALUES (1)"
    assert again.files_cached == 0


def test_a_module_that_appears_later_invalidates_the_entry(make_project):
    root = make_project({"store.py": "from queries import Q\ncur.execute(Q)\n"})
    assert scan(root).calls[0].sql is None
    (root / "queries.py").write_text("Q = 'DELETE FROM t'\n")
    assert scan(root).calls[0].sql == "DELETE FROM t"


def test_a_corrupt_cache_is_ignored(make_project):
    root = make_project({"a.py": "cur.execute('DELETE FROM t')\n"})
    scan(root)
    [pickle_file] = (root / CACHE_DIR).rglob("extraction.pickle")
    pickle_file.write_bytes(b"\x80\x04garbage")
    result = scan(root)
    assert [c.sql for c in result.calls] == ["DELETE FROM t"] and result.files_parsed == 1


def test_no_cache_writes_nothing(make_project):
    root = make_project({"a.py": "cur.execute('DELETE FROM t')\n"})
    scan(root, use_cache=False)
    assert not (root / CACHE_DIR).exists()


DATA_LAYER = {
    "crud.py": (
        "def get_tag(cur, name):\n"
        "    cur.execute('SELECT id FROM tags WHERE name = ?', (name,))\n"
        "    return cur.fetchone()\n\n\n"
        "def create_tag(conn, name):\n"
        "    conn.execute('INSERT INTO tags (name) VALUES (?)', (name,))\n"
    ),
    "views.py": (
        "from crud import create_tag, get_tag\n\n\n"
        "def add(conn, name):\n"
        "    if get_tag(conn, name) is None:\n"
        "        create_tag(conn, name)\n"
    ),
}


def test_an_idiom_through_the_data_layer_is_cached_and_follows_the_data_layer(make_project):
    """The caller's idiom comes from a later round (it needs to know that create_tag inserts):
    a warm run gives it from the cache; once create_tag no longer inserts, it is gone."""
    root = make_project(DATA_LAYER)
    cold, warm = scan(root), scan(root)
    assert [(i.location.path, i.location.line) for i in cold.idioms] == [("views.py", 6)]
    assert warm.idioms == cold.idioms and warm.files_parsed == 0
    (root / "crud.py").write_text(DATA_LAYER["crud.py"].replace("INSERT INTO tags (name) VALUES (?)", "UPDATE tags SET name = ?"))
    assert scan(root).idioms == []


# save_all is a helper only the parse finds (it passes its parameters on to run); store.py, which
# runs SQL of its own, is read a second time knowing it. That second reading must not be served
# the first one's cached result.
HELPER_FOUND_BY_THE_PARSE = {
    "app/__init__.py": "",
    "app/db.py": "def run(conn, sql, params=()):\n    with conn.cursor() as cur:\n        cur.execute(sql, params)\n",
    "app/derivers.py": (
        "from app.db import run\n\n\ndef ping(conn):\n    conn.execute('SELECT 1')\n\n\n"
        "def save_all(conn, statement, params):\n    return run(conn, statement, params)\n"
    ),
    "app/store.py": (
        "from app.derivers import save_all\n\n\ndef save(conn, user_id):\n    conn.execute('SELECT 1')\n"
        "    save_all(conn, 'INSERT INTO avatars (user_id) VALUES (%s)', (user_id,))\n"
    ),
}


def test_a_file_read_again_knowing_more_helpers_is_not_served_its_first_reading(make_project):
    root = make_project(HELPER_FOUND_BY_THE_PARSE)

    def through_save_all(result):
        return sorted((c.location.path, c.location.line, c.sql) for c in result.calls if c.location.path == "app/store.py" and c.through)

    expected = [("app/store.py", 6, "INSERT INTO avatars (user_id) VALUES (%s)")]
    assert through_save_all(scan(root, use_cache=False)) == expected
    assert through_save_all(scan(root)) == expected  # cold, writing the cache
    warm = scan(root)
    assert through_save_all(warm) == expected and warm.files_parsed == 0


def test_other_code_of_the_tool_does_not_read_this_cache(make_project, monkeypatch):
    """A checkout between two commits keeps the version number: the tool's own bytes are the key."""
    import auditor.python.cache as cache_module

    root = make_project({"a.py": "cur.execute('DELETE FROM t')\n"})
    assert scan(root).files_parsed == 1
    assert scan(root).files_cached == 1
    monkeypatch.setattr(cache_module, "tool_fingerprint", lambda: "another build")
    assert scan(root).files_parsed == 1
