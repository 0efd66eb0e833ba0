"""Demo data: a realistic book of key accounts with contacts, reproducible from a seed.

Used by ``make run`` on an empty database and, at scale, by the benchmarks. Later capabilities
add their own rows (invoices, surveys, complaints) on top of what this creates.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from monitor.accounts.models import (
    Account,
    AccountClass,
    AccountType,
    Attitude,
    Contact,
    ContactRole,
    CreditRating,
)
from monitor.api.problems import Conflict
from monitor.complaints import demo as complaints_demo
from monitor.i18n import Language
from monitor.staff import services as staff
from monitor.staff.models import Role
from receivables import demo as receivables_demo

_CN_PLACES = [
    "上海",
    "北京",
    "深圳",
    "广州",
    "苏州",
    "杭州",
    "成都",
    "武汉",
    "天津",
    "重庆",
    "南京",
    "西安",
]
_CN_CORES = [
    "华能",
    "宏达",
    "东方",
    "长城",
    "新华",
    "恒信",
    "中联",
    "瑞丰",
    "金桥",
    "天成",
    "海德",
    "宝隆",
]
_CN_KINDS = [
    "电力",
    "医疗器械",
    "精密机械",
    "化工",
    "水务",
    "汽车零部件",
    "钢铁",
    "制药",
    "电子",
    "物流",
]
_CN_SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司", "人民医院", "供水公司"]
_EN_CORES = [
    "Northwind",
    "Baltic",
    "Alder",
    "Crescent",
    "Harbor",
    "Summit",
    "Meridian",
    "Ironbridge",
    "Lakeside",
    "Granite",
    "Silverline",
    "Redwood",
    "Kestrel",
    "Orion",
    "Vantage",
]
_EN_KINDS = [
    "Power",
    "Medical",
    "Machining",
    "Chemicals",
    "Water Utility",
    "Automotive",
    "Steel",
    "Pharma",
    "Electronics",
    "Logistics",
    "General Hospital",
    "City Council",
]
_EN_SUFFIXES = ["Ltd", "GmbH", "Inc.", "S.A.", "plc", "AG", "B.V."]
_CN_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱"]
_CN_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
]
_EN_FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Grace",
    "Hugo",
    "Irene",
    "Jonas",
    "Katrin",
    "Liam",
    "Maria",
    "Noah",
    "Olivia",
    "Pavel",
    "Rosa",
    "Samuel",
    "Tara",
]
_EN_LAST = [
    "Schmidt",
    "Müller",
    "Smith",
    "García",
    "Rossi",
    "Novak",
    "Jensen",
    "Dubois",
    "Silva",
    "Kowalski",
    "Brown",
    "Lindqvist",
    "Okafor",
    "Tanaka",
]
_CN_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei"]
_EN_ZONES = ["Europe/Berlin", "Europe/London", "Europe/Paris", "America/New_York", "Asia/Singapore"]

#: Share of accounts by class: few A accounts carry most revenue.
_CLASS_WEIGHTS = {AccountClass.A: 0.15, AccountClass.B: 0.35, AccountClass.C: 0.5}
_CREDIT_LIMITS = {
    AccountClass.A: (500_000, 5_000_000),
    AccountClass.B: (100_000, 800_000),
    AccountClass.C: (10_000, 150_000),
}
_DEMO_STAFF = [
    ("vp.service@example.com", "Wei Zhang 张伟", [Role.MANAGER]),
    ("vp.quality@example.com", "Elena Rossi", [Role.MANAGER]),
    ("agent.li@example.com", "Li Na 李娜", [Role.AGENT]),
    ("agent.brown@example.com", "Ben Brown", [Role.AGENT]),
    ("finance.chen@example.com", "Chen Jing 陈静", [Role.FINANCE]),
    ("finance.novak@example.com", "Pavel Novak", [Role.FINANCE]),
    ("ceo@example.com", "Maria Silva", [Role.EXECUTIVE]),
]


def has_accounts(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Account.id.is_not(None)))))


def _company(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return (
            rng.choice(_CN_PLACES)
            + rng.choice(_CN_CORES)
            + rng.choice(_CN_KINDS)
            + rng.choice(_CN_SUFFIXES)
        )
    return f"{rng.choice(_EN_CORES)} {rng.choice(_EN_KINDS)} {rng.choice(_EN_SUFFIXES)}"


def _person(rng: random.Random, chinese: bool) -> tuple[str, str]:
    """A name and the local part of an email address."""
    if chinese:
        surname, given = (
            rng.choice(_CN_SURNAMES),
            rng.choice(_CN_GIVEN) + rng.choice(["", *_CN_GIVEN]),
        )
        return surname + given, f"user{rng.randrange(10**6):06d}"
    first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
    local = f"{first}.{last}".lower().replace("ü", "ue").replace("í", "i")
    return f"{first} {last}", local


def _staff(session: Session) -> dict[Role, list[int]]:
    owners: dict[Role, list[int]] = {}
    for email, name, roles in _DEMO_STAFF:
        user = staff.find_user_by_email(session, email) or staff.create_user(
            session, email, name, roles
        )
        for role in roles:
            owners.setdefault(role, []).append(user.id)
    return owners


def generate(session: Session, seed: int, accounts: int, batch: int = 1000) -> dict[str, int]:
    """Create ``accounts`` accounts (about 5 contacts each) and the demo staff; returns counts.

    Account codes carry the seed, so loading another seed adds to, rather than clashes with,
    what is there; loading a seed that is there already is refused.
    """
    prefix = f"D{seed:03d}-"
    if session.scalar(select(exists().where(Account.code.startswith(prefix)))):
        raise Conflict(f"demo data of seed {seed} is loaded already; choose another --seed")
    rng = random.Random(seed)
    owners = _staff(session)
    account_managers = owners[Role.MANAGER] + owners[Role.FINANCE]
    counts = {"accounts": 0, "contacts": 0}
    pending: list[Any] = []
    created: list[tuple[Account, bool]] = []
    for n in range(accounts):
        chinese = rng.random() < 0.6
        account_class = rng.choices(list(_CLASS_WEIGHTS), weights=list(_CLASS_WEIGHTS.values()))[0]
        low, high = _CREDIT_LIMITS[account_class]
        account = Account(
            code=f"{prefix}{n + 1:06d}",
            name=_company(rng, chinese),
            account_class=account_class,
            account_type=rng.choice(list(AccountType)),
            credit_rating=rng.choice(list(CreditRating)[:7]),
            credit_capital=rng.randint(1, 5),
            credit_character=rng.randint(2, 5),
            credit_capacity=rng.randint(1, 5),
            credit_collateral=rng.randint(1, 5),
            credit_conditions=rng.randint(2, 5),
            credit_limit=Decimal(rng.randrange(low, high, 1000)).quantize(Decimal("0.01")),
            currency="CNY" if chinese else rng.choice(["EUR", "USD", "GBP"]),
            owner_id=rng.choice(account_managers),
            timezone=rng.choice(_CN_ZONES if chinese else _EN_ZONES),
            active=rng.random() > 0.05,
        )
        account.contacts = list(_contacts(rng, chinese, account.code))
        pending.append(account)
        created.append((account, chinese))
        counts["accounts"] += 1
        counts["contacts"] += len(account.contacts)
        if len(pending) >= batch:
            session.add_all(pending)
            session.flush()
            pending.clear()
    session.add_all(pending)
    session.flush()
    counts["staff users"] = len(_DEMO_STAFF)
    counts.update(receivables_demo.generate(session, seed, prefix))
    counts.update(
        complaints_demo.generate(
            session, rng, [(a.id, chinese) for a, chinese in created], owners[Role.MANAGER]
        )
    )
    return counts


def _contacts(rng: random.Random, chinese: bool, code: str) -> list[Contact]:
    # Every surveyed role usually, but some accounts lack a decider or a buyer (coverage gaps are
    # what the survey results must show), and a few people have opted out.
    roles = [
        ContactRole.USER,
        ContactRole.USER,
        ContactRole.BUYER,
        ContactRole.DECIDER,
        ContactRole.FINANCE,
    ]
    if rng.random() < 0.08:
        roles.remove(ContactRole.DECIDER)
    if rng.random() < 0.05:
        roles.remove(ContactRole.BUYER)
    if rng.random() < 0.2:
        roles.append(ContactRole.OTHER)
    domain = f"{code.lower()}.example.{'cn' if chinese else 'com'}"
    contacts = []
    for i, role in enumerate(roles):
        name, local = _person(rng, chinese and rng.random() < 0.85)
        contacts.append(
            Contact(
                name=name,
                email=f"{local}.{i}@{domain}",
                phone=f"+86 21 {rng.randrange(10**7, 10**8)}"
                if chinese
                else f"+49 30 {rng.randrange(10**6, 10**7)}",
                role=role,
                language=Language.ZH if chinese and rng.random() < 0.9 else Language.EN,
                attitude=rng.choices(list(Attitude), weights=[0.4, 0.45, 0.15])[0],
                opted_out=rng.random() < 0.03,
            )
        )
    return contacts
