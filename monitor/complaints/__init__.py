"""Complaints: intake, the senior-manager queue, SLA on a 24x7 clock, escalation."""
