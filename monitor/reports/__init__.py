"""PDF reports: aging, escalation, executive summary, statements; archive and distribution."""
