"""Which row a guard looks up (auditor/sql/lookup.py): AND-ed `column = value` terms pin their
columns; `lower(column) = value` looks the column up case-insensitively (lnbits'
`LOWER(username) = :username`): the column, with the lookup marked not exact; `OR`, `LIKE`
and the like pin nothing."""

from __future__ import annotations

import pytest

from auditor.sql.lookup import read_lookup


@pytest.mark.parametrize(
    ("sql", "columns", "inexact"),
    [
        ("SELECT id FROM accounts WHERE username = :u", ("username",), False),
        ("SELECT id FROM accounts WHERE username = :u AND wallet = :w", ("username", "wallet"), False),
        ("SELECT * FROM accounts WHERE LOWER(username) = :u AND (activated = true OR activated = :a)", ("username",), True),
        ("SELECT * FROM accounts WHERE upper(email) = %s", ("email",), True),
        ("SELECT * FROM accounts WHERE lower(email) = lower(other)", (), True),  # compares two columns: no lookup by value
        ("SELECT * FROM accounts WHERE email LIKE :e", (), True),
    ],
)
def test_the_columns_a_guard_pins(sql, columns, inexact):
    lookup = read_lookup(sql, "postgres")
    assert (str(lookup.table), lookup.columns, lookup.inexact) == ("accounts", columns, inexact)
