"""Who may call what: one entry per endpoint, read before any view runs.

An endpoint missing from this table is refused to everyone (and fails the route-policy test),
so a new route cannot go live unprotected by accident.
"""

from __future__ import annotations

from typing import Final


class _Public:
    def __repr__(self) -> str:
        return "PUBLIC"


#: Marker for endpoints anyone may call without a token.
PUBLIC: Final = _Public()

AGENT, FINANCE, MANAGER, EXECUTIVE, ADMIN = "agent", "finance", "manager", "executive", "admin"
ALL_STAFF = frozenset({AGENT, FINANCE, MANAGER, EXECUTIVE, ADMIN})
ADMINS = frozenset({ADMIN})
#: Who keeps account master data (class, terms, credit): the service VP, finance and admins.
ACCOUNT_KEEPERS = frozenset({ADMIN, MANAGER, FINANCE})
#: Contacts are also kept by agents, who hear of new people on the hotline.
CONTACT_KEEPERS = ACCOUNT_KEEPERS | {AGENT}
MANAGERS = frozenset({MANAGER})
#: Agents log and follow complaints; managers own the queue.
COMPLAINT_DESK = frozenset({AGENT, MANAGER})
#: Finance also reads the complaints of the accounts it collects from (filtered by the service).
COMPLAINT_READERS = COMPLAINT_DESK | {FINANCE}

POLICY: dict[str, frozenset[str] | _Public] = {
    # documentation and health
    "meta.openapi": PUBLIC,
    "meta.docs": PUBLIC,
    "meta.health": PUBLIC,
    # staff, tokens
    "staff.issue_token": PUBLIC,
    "staff.me": ALL_STAFF,
    "staff.list_my_tokens": ALL_STAFF,
    "staff.create_my_token": ALL_STAFF,
    "staff.revoke_my_token": ALL_STAFF,
    "staff.list_users": ADMINS,
    "staff.create_user": ADMINS,
    "staff.get_user": ADMINS,
    "staff.update_user": ADMINS,
    "staff.user_history": ADMINS,
    # accounts and contacts
    "accounts.list_accounts": ALL_STAFF,
    "accounts.get_account": ALL_STAFF,
    "accounts.account_history": ALL_STAFF,
    "accounts.create_account": ACCOUNT_KEEPERS,
    "accounts.update_account": ACCOUNT_KEEPERS,
    "accounts.delete_account": ADMINS,
    "accounts.list_contacts": ALL_STAFF,
    "accounts.list_account_contacts": ALL_STAFF,
    "accounts.get_contact": ALL_STAFF,
    "accounts.contact_history": ALL_STAFF,
    "accounts.create_contact": CONTACT_KEEPERS,
    "accounts.update_contact": CONTACT_KEEPERS,
    "accounts.delete_contact": ACCOUNT_KEEPERS,
    # complaints (monitor/complaints)
    "complaints.create_complaint": COMPLAINT_DESK,
    "complaints.list_complaints": COMPLAINT_READERS,
    "complaints.get_complaint": COMPLAINT_READERS,
    "complaints.complaint_history": COMPLAINT_READERS,
    "complaints.list_comments": COMPLAINT_READERS,
    "complaints.add_comment": COMPLAINT_DESK,
    "complaints.update_complaint": MANAGERS,
    "complaints.claim_complaint": MANAGERS,
    "complaints.assign_complaint": MANAGERS,
    "complaints.transition_complaint": MANAGERS,
    "complaints.update_checklist_step": MANAGERS,
    "complaints.complaint_statistics": frozenset({MANAGER, EXECUTIVE}),
    "complaints.list_sla_policies": frozenset({ADMIN, MANAGER}),
    "complaints.set_sla_policy": ADMINS,
    "complaints.get_assignment_rule": frozenset({ADMIN, MANAGER}),
    "complaints.set_assignment_rule": ADMINS,
    # receivables (collections/, imported as receivables)
    # finance (and admins) write; managers and executives read; agents see only the credit hold
    "receivables.list_term_templates": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.get_term_template": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.create_term_template": frozenset({FINANCE, ADMIN}),
    "receivables.list_account_terms": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.set_account_terms": frozenset({FINANCE, ADMIN}),
    "receivables.get_credit_hold": ALL_STAFF,
    "receivables.put_credit_hold": frozenset({FINANCE, ADMIN}),
    "receivables.credit_hold_history": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.account_balance": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.list_invoices": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.create_invoice": frozenset({FINANCE, ADMIN}),
    "receivables.get_invoice": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.adjust_invoice": frozenset({FINANCE, ADMIN}),
    "receivables.list_payments": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.create_payment": frozenset({FINANCE, ADMIN}),
    "receivables.get_payment": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.reverse_payment": frozenset({FINANCE, ADMIN}),
    "receivables.apply_credit": frozenset({FINANCE, ADMIN}),
    "receivables.get_aging": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.get_metrics": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.get_aging_trend": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.get_calendar": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "receivables.calendar_xlsx": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    # collection work (collections/collection_routes.py): same rule, finance and admins write
    "collection.list_escalations": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.get_escalation": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.override_escalation": frozenset({FINANCE, ADMIN}),
    "collection.list_escalation_steps": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.list_collection_tasks": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.complete_collection_task": frozenset({FINANCE, ADMIN}),
    "collection.create_promise": frozenset({FINANCE, ADMIN}),
    "collection.list_promises": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.cancel_promise": frozenset({FINANCE, ADMIN}),
    "collection.create_dispute": frozenset({FINANCE, ADMIN}),
    "collection.list_disputes": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.get_dispute": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.resolve_dispute": frozenset({FINANCE, ADMIN}),
    "collection.get_overdue_causes": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.set_overdue_causes": frozenset({FINANCE, ADMIN}),
    "collection.overdue_cause_breakdown": frozenset({FINANCE, MANAGER, EXECUTIVE, ADMIN}),
    "collection.import_invoices": frozenset({FINANCE, ADMIN}),
    "collection.import_payments": frozenset({FINANCE, ADMIN}),
    # surveys (surveys/): API and the public response page
    "surveys.list_questionnaires": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.list_cycles": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.get_cycle": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.cycle_results": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.cycle_accounts": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.cycle_coverage": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    "surveys.account_satisfaction": frozenset({MANAGER, EXECUTIVE, ADMIN}),
    # returns carry customers' own words: the service VP (and admins) read them
    "surveys.list_responses": frozenset({MANAGER, ADMIN}),
    "surveys.get_response": frozenset({MANAGER, ADMIN}),
    "survey_page.show": PUBLIC,
    "survey_page.answer": PUBLIC,
    "survey_page.opt_out": PUBLIC,
    # reports (monitor/reports): which kinds each role may have is decided by the service
    # (finance and managers: aging and escalation, finance also statements; executives: all)
    "reports.request_report": frozenset({FINANCE, MANAGER, EXECUTIVE}),
    "reports.list_reports": frozenset({FINANCE, MANAGER, EXECUTIVE}),
    "reports.get_report": frozenset({FINANCE, MANAGER, EXECUTIVE}),
    "reports.download_report": frozenset({FINANCE, MANAGER, EXECUTIVE}),
    "reports.download_detail": frozenset({FINANCE, MANAGER, EXECUTIVE}),
    "reports.list_distribution_lists": ADMINS,
    "reports.create_distribution_list": ADMINS,
    "reports.get_distribution_list": ADMINS,
    "reports.update_distribution_list": ADMINS,
    "reports.delete_distribution_list": ADMINS,
    "reports.list_distribution_runs": ADMINS,
}
