"""SQL text: placeholder normalisation, canonical forms, statement analysis (sqlglot)."""
