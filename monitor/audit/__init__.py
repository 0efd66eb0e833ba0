"""The audit trail: who changed which domain row, when, and how."""
