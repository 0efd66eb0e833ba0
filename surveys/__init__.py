"""Quarterly satisfaction surveys (questionnaires, cycles, invitations, scoring)."""
