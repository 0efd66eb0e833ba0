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
    # receivables (collections/, imported as receivables)
    # surveys (surveys/): API and the public response page
}
