"""Pages of the API's ``Page`` shape: from a query (``paginate``) and from a list computed in
Python (``page_of``), which must be the same page of the same rows."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from monitor.db import insert_loaded, one_page, page_of, paginate
from monitor.staff import services as staff
from monitor.staff.models import StaffUser

SEVEN = [f"user{n}@paging.test" for n in range(1, 8)]


def test_page_of_slices_and_counts_the_whole_list():
    assert page_of(SEVEN, 1, 3) == {"items": SEVEN[:3], "page": 1, "per_page": 3, "total": 7}
    assert page_of(SEVEN, 3, 3) == {"items": SEVEN[6:], "page": 3, "per_page": 3, "total": 7}
    # past the end: no items, the total still says how many there are
    assert page_of(SEVEN, 4, 3) == {"items": [], "page": 4, "per_page": 3, "total": 7}
    assert page_of([], 1, 50) == {"items": [], "page": 1, "per_page": 50, "total": 0}


def test_page_of_gives_a_list_of_any_sequence():
    page = page_of(tuple(SEVEN), 2, 2)
    assert page["items"] == SEVEN[2:4] and isinstance(page["items"], list)


def test_one_page_is_the_whole_list():
    assert one_page(SEVEN) == {"items": SEVEN, "page": 1, "per_page": 7, "total": 7}
    assert one_page([]) == {"items": [], "page": 1, "per_page": 0, "total": 0}


@pytest.mark.parametrize(("page", "per_page"), [(1, 3), (2, 3), (3, 3), (4, 3), (1, 50), (7, 1)])
def test_a_computed_page_is_the_page_the_database_gives(session, page, per_page):
    for email in reversed(SEVEN):
        staff.create_user(session, email, email, ["agent"])
    session.flush()
    stmt = (
        select(StaffUser.email)
        .where(StaffUser.email.like("%@paging.test"))
        .order_by(StaffUser.email)
    )
    everything = list(session.scalars(stmt))
    assert everything == SEVEN
    assert page_of(everything, page, per_page) == paginate(session, stmt, page, per_page)


def test_insert_loaded_fills_defaults_and_attaches_a_loaded_object(session):
    """A row inserted without a flush: unset columns take their defaults (a value, a function)
    or null, and the object reads every column without going back to the database."""
    with pytest.raises(ValueError, match="no value for email"):
        insert_loaded(session, StaffUser, {"name": "No address"})
    user = insert_loaded(session, StaffUser, {"email": "row@insert.test", "name": "Row"})
    assert inspect(user).persistent and not inspect(user).expired_attributes
    assert (user.active, user.timezone, user.language, user.password_hash) == (
        True,
        "UTC",
        "en",
        None,
    )
    assert user.created_at is not None
    stored = session.execute(
        select(StaffUser.email, StaffUser.timezone, StaffUser.created_at).where(
            StaffUser.id == user.id
        )
    ).one()
    assert tuple(stored) == (user.email, user.timezone, user.created_at)
