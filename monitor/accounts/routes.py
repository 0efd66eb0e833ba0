"""HTTP API of accounts and contacts: parse, authorise (policy table), call a service, serialise."""

from __future__ import annotations

from flask import Blueprint

from monitor.accounts import services
from monitor.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountQuery,
    AccountUpdate,
    ContactCreate,
    ContactOut,
    ContactQuery,
    ContactUpdate,
)
from monitor.api.schemas import Page, PageQuery
from monitor.api.spec import operation
from monitor.audit.schemas import History
from monitor.audit.services import entity_history
from monitor.auth import request_session

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")


@operation(
    bp, "/accounts", "GET", summary="List accounts", query=AccountQuery, response=Page[AccountOut]
)
def list_accounts(query: AccountQuery) -> dict:
    """Filter by class, type, owner, currency and active flag; `q` searches code and name."""
    return services.list_accounts(request_session(), **query.model_dump(exclude_none=True))


@operation(
    bp,
    "/accounts",
    "POST",
    summary="Create an account",
    body=AccountCreate,
    response=AccountOut,
    status=201,
    errors=(409,),
)
def create_account(body: AccountCreate) -> object:
    return services.create_account(request_session(), **body.model_dump())


@operation(bp, "/accounts/<id:account_id>", "GET", summary="Read an account", response=AccountOut)
def get_account(account_id: int) -> object:
    return services.get_account(request_session(), account_id)


@operation(
    bp,
    "/accounts/<id:account_id>",
    "PATCH",
    summary="Change an account",
    body=AccountUpdate,
    response=AccountOut,
    errors=(409,),
)
def update_account(account_id: int, body: AccountUpdate) -> object:
    """Only the fields sent change. Deactivate with `{"active": false}`."""
    session = request_session()
    account = services.get_account(session, account_id)
    return services.update_account(session, account, **body.model_dump(exclude_unset=True))


@operation(
    bp,
    "/accounts/<id:account_id>",
    "DELETE",
    summary="Delete an account",
    status=204,
    errors=(409,),
)
def delete_account(account_id: int) -> None:
    """Only an account nothing refers to may be deleted; otherwise deactivate it."""
    session = request_session()
    services.delete_account(session, services.get_account(session, account_id))


@operation(
    bp,
    "/accounts/<id:account_id>/history",
    "GET",
    summary="An account's audit trail",
    response=History,
)
def account_history(account_id: int) -> dict:
    session = request_session()
    services.get_account(session, account_id)
    return entity_history(session, "account", account_id)


@operation(
    bp,
    "/accounts/<id:account_id>/contacts",
    "GET",
    summary="List an account's contacts",
    query=PageQuery,
    response=Page[ContactOut],
)
def list_account_contacts(account_id: int, query: PageQuery) -> dict:
    session = request_session()
    services.get_account(session, account_id)
    return services.list_contacts(session, account_id=account_id, **query.model_dump())


@operation(
    bp,
    "/accounts/<id:account_id>/contacts",
    "POST",
    summary="Add a contact",
    body=ContactCreate,
    response=ContactOut,
    status=201,
    errors=(409,),
)
def create_contact(account_id: int, body: ContactCreate) -> object:
    session = request_session()
    account = services.get_account(session, account_id)
    return services.create_contact(session, account, **body.model_dump())


@operation(
    bp, "/contacts", "GET", summary="List contacts", query=ContactQuery, response=Page[ContactOut]
)
def list_contacts(query: ContactQuery) -> dict:
    """Filter by account, role, language and opt-out; `q` searches name and email."""
    return services.list_contacts(request_session(), **query.model_dump(exclude_none=True))


@operation(bp, "/contacts/<id:contact_id>", "GET", summary="Read a contact", response=ContactOut)
def get_contact(contact_id: int) -> object:
    return services.get_contact(request_session(), contact_id)


@operation(
    bp,
    "/contacts/<id:contact_id>",
    "PATCH",
    summary="Change a contact",
    body=ContactUpdate,
    response=ContactOut,
    errors=(409,),
)
def update_contact(contact_id: int, body: ContactUpdate) -> object:
    session = request_session()
    contact = services.get_contact(session, contact_id)
    return services.update_contact(session, contact, **body.model_dump(exclude_unset=True))


@operation(bp, "/contacts/<id:contact_id>", "DELETE", summary="Delete a contact", status=204)
def delete_contact(contact_id: int) -> None:
    session = request_session()
    services.delete_contact(session, services.get_contact(session, contact_id))


@operation(
    bp,
    "/contacts/<id:contact_id>/history",
    "GET",
    summary="A contact's audit trail",
    response=History,
)
def contact_history(contact_id: int) -> dict:
    session = request_session()
    services.get_contact(session, contact_id)
    return entity_history(session, "contact", contact_id)
