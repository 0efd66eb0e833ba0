"""Escalating an SLA breach: an email to the assigned manager and to every executive, in each
recipient's language, queued in the same transaction that records the breach (so it is sent
once, however often the detecting job runs)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from monitor.accounts import services as accounts
from monitor.complaints.services import NewBreach, escalation_recipients, get_complaint
from monitor.email.services import OutgoingEmail, queue_emails
from monitor.staff import services as staff
from monitor.staff.models import StaffUser

_templates = Environment(
    loader=PackageLoader("monitor.complaints", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)

#: The words of the escalation email, per language.
WORDING: dict[str, dict[str, str]] = {
    "en": {
        "subject": "SLA breached: complaint #{id} ({severity}) at {account}",
        "intro": "A complaint has run past its service-level target and is escalated to you.",
        "complaint": "Complaint",
        "account": "Account",
        "severity": "Severity",
        "state": "State",
        "target": "Target missed",
        "first_response": "first response",
        "resolution": "resolution",
        "breached_at": "Breached at",
        "assignee": "Senior manager",
        "unassigned": "nobody yet (unclaimed)",
    },
    "zh": {
        "subject": "投诉超时：#{id}（{severity}），客户 {account}",
        "intro": "以下投诉已超出服务时限，现升级通知您。",
        "complaint": "投诉",
        "account": "客户",
        "severity": "严重程度",
        "state": "状态",
        "target": "超时项目",
        "first_response": "首次响应",
        "resolution": "解决",
        "breached_at": "超时时间",
        "assignee": "负责高管",
        "unassigned": "尚无人认领",
    },
}


def escalate(session: Session, breach: NewBreach, base_url: str) -> list[int]:
    """Queue the escalation emails of one new breach, together; returns the ids of the messages
    stored (none if they were queued before)."""
    complaint = get_complaint(session, breach.complaint_id)
    account = accounts.get_account(session, complaint.account_id)
    assignee = staff.find_user(session, complaint.assignee_id)
    emails = []
    for person in escalation_recipients(session, complaint):
        lang = person.language if person.language in WORDING else "en"
        t = WORDING[lang]
        subject = t["subject"].format(
            id=complaint.id, severity=complaint.severity.value, account=account.name
        )
        context = {
            "t": t,
            "lang": lang,
            "subject": subject,
            "complaint": complaint,
            "account": account,
            "breach": breach,
            "assignee": assignee.name if assignee else None,
            "breached_local": _local(breach, person),
            "link": f"{base_url.rstrip('/')}/api/v1/complaints/{complaint.id}",
        }
        emails.append(
            OutgoingEmail(
                person.email,
                subject,
                _templates.get_template("sla_breach.txt").render(context),
                _templates.get_template("sla_breach.html").render(context),
                dedup_key=f"sla-breach:{complaint.id}:{breach.target.value}:{person.id}",
            )
        )
    return queue_emails(session, emails)


def _local(breach: NewBreach, person: StaffUser) -> str:
    # staff time zones are validated when users are created or changed
    return breach.breached_at.astimezone(ZoneInfo(person.timezone)).strftime("%Y-%m-%d %H:%M %Z")
