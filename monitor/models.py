"""Imports every model module so that the metadata knows every table (Alembic, tests)."""

from monitor.accounts import models as accounts_models  # noqa: F401
from monitor.audit import models as audit_models  # noqa: F401
from monitor.complaints import models as complaints_models  # noqa: F401
from monitor.email import models as email_models  # noqa: F401
from monitor.reports import models as reports_models  # noqa: F401
from monitor.staff import models as staff_models  # noqa: F401
from receivables import escalation_models as receivables_escalation_models  # noqa: F401
from receivables import models as receivables_models  # noqa: F401
from surveys import models as surveys_models  # noqa: F401
