"""What the storage layer promises, checked on the database."""

from avatar_app.storage import Storage


def make_user(conn, email="ada@example.com") -> int:
    Storage(conn).register_user(email, "Ada")
    return conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()[0]


def test_register_user_ignores_the_same_email_in_another_case(conn):
    storage = Storage(conn)
    storage.register_user("ada@example.com", "Ada")
    storage.register_user("ADA@example.com", "Ada again")
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1


def test_set_preference_inserts_then_updates(conn):
    user = make_user(conn)
    storage = Storage(conn)
    storage.set_preference(user, "theme", "dark")
    storage.set_preference(user, "theme", "light")
    assert conn.execute("SELECT key, value FROM user_preferences").fetchall() == [("theme", "light")]


def test_issue_token_keeps_one_live_token(conn):
    user = make_user(conn)
    storage = Storage(conn)
    storage.issue_token(user, "h1")
    storage.issue_token(user, "h2")
    storage.revoke_tokens(user)
    storage.issue_token(user, "h3")
    rows = conn.execute("SELECT token_hash, revoked_at IS NULL FROM api_tokens ORDER BY id").fetchall()
    assert rows == [("h2", False), ("h3", True)]
