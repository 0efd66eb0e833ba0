"""Outgoing email: an outbox table and a delivery job (SMTP, or files in instance/outbox/)."""
