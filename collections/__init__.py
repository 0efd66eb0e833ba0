"""Receivables: payment terms, invoices, payments, aging and escalation.

Installed as the package ``receivables`` because ``collections`` is a standard-library module.
"""
