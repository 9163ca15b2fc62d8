"""A local KoboToolbox-compatible server seeded with synthetic submissions (``suara sandbox``).

``Sandbox(forms).start()`` serves KPI v2 on 127.0.0.1 with KPI's semantics (1,000-row cap,
``next`` links, the ``query`` operator whitelist, edits that change ``_uuid``, hard deletes,
late visibility, imports and deployments, token auth) and injects faults for client tests.
"""

from suara.sandbox.faults import FAULT_KINDS, FaultPlan
from suara.sandbox.server import RequestLog, RequestRecord, Sandbox

__all__ = ["FAULT_KINDS", "FaultPlan", "RequestLog", "RequestRecord", "Sandbox"]
