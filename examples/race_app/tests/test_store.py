"""What each save promises when it runs alone (the race is upsert-audit's business)."""

from race_app.store import Store


def test_set_notification_inserts_then_updates(conn):
    store = Store(conn)
    store.set_notification(1, "email", "daily")
    store.set_notification(1, "email", "never")
    store.set_notification(1, "push", "on")
    rows = conn.execute("SELECT channel, setting FROM notification_settings ORDER BY channel").fetchall()
    assert rows == [("email", "never"), ("push", "on")]


def test_count_visit_counts(conn):
    store = Store(conn)
    for _ in range(3):
        store.count_visit("/home")
    assert conn.execute("SELECT page, hits FROM page_counters").fetchall() == [("/home", 3)]


def test_save_profile_inserts_then_renames(conn):
    store = Store(conn)
    store.save_profile("ada@example.com", "ada")
    store.save_profile("ada@example.com", "countess")
    assert conn.execute("SELECT email, nickname FROM profiles").fetchall() == [("ada@example.com", "countess")]


def test_set_favourite_colour_keeps_one_row(conn):
    store = Store(conn)
    store.set_favourite_colour(7, "red")
    store.set_favourite_colour(7, "blue")
    assert conn.execute("SELECT user_id, colour FROM favourite_colours").fetchall() == [(7, "blue")]
