"""Renderers of an AuditResult: text for terminals, JSON for machines, the Markdown report."""
