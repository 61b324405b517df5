"""upsert-audit: find insert/update/upsert write sites and check them against real unique keys."""

__version__ = "0.1.0"
