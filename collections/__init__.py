"""Receivables: payment terms, invoices, payments, aging and escalation.

Installed as the package ``receivables`` because ``collections`` is a standard-library module.

How the ledger part fits together:

- ``terms``: term templates (an advance share due at invoicing, then instalments of a
  percentage at N days from the invoice date or from the month end) and each account's
  effective-dated terms. An invoice's schedule comes from the terms in force on its date (net 30
  when the account has none); instalments add up exactly to the invoice, the rounding remainder
  on the last.
- ``ledger``: invoices, payments (oldest due first, or allocated explicitly; what is left is
  unapplied credit; idempotent by reference and ``Idempotency-Key``), credit notes, write-offs,
  reversals and the credit-hold flag. What is open is only ever the sum of an instalment's
  postings (``Posting``): no outstanding amount is stored anywhere.
- ``aging``: aging as of any date by due or invoice date with configurable buckets, in grouped
  SQL that gives the same answers on SQLite and PostgreSQL; ``overdue_accounts`` for the
  escalation ladder.
- ``metrics``: DSO (countback and simple), best possible DSO, average days delinquent, CEI and
  the expected-credit-loss provision matrix, each formula in its docstring; month-end snapshots.
- ``calendar``: the customer x month payment calendar, as JSON and XLSX.

Who may do what (``monitor/policy.py``): finance (and admins) write; managers and executives
read; agents see only whether an account is on credit hold.

Errors: a malformed value is a 422 naming the field; a well-formed value that clashes with what
is stored (a duplicate invoice number, a currency other than the account's, more than is open,
a date before the invoice or payment it refers to) is a 409 naming the field.
"""
