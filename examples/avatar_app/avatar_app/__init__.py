"""Example service audited by upsert-audit."""
