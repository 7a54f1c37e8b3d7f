"""Every domain's tables, loaded in one place.

The entry points (app, CLI, migrations) import this module so that every table is in
``Base.metadata`` before the first flush, whichever domain a process touches first. ``db`` itself
cannot import it: ``db`` is the bottom layer every domain's models build on. Each models module
also imports the models modules its foreign keys name, so none is ever loaded without them.
A new domain adds its models module here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from socialpulse.accounts import models as accounts
from socialpulse.ai import models as ai
from socialpulse.alerts import models as alerts
from socialpulse.billing import models as billing
from socialpulse.billing import payments_models as payments
from socialpulse.creators import models as creators
from socialpulse.db import Base
from socialpulse.inbox import models as inbox
from socialpulse.insights import models as insights
from socialpulse.media import models as media
from socialpulse.publishing import models as publishing
from socialpulse.webhooks import models as webhooks
from socialpulse.worker import models as worker
from socialpulse.workspaces import models as workspaces

__all__ = ["DOMAIN_MODELS", "metadata"]

DOMAIN_MODELS = (
    workspaces,
    worker,
    accounts,
    inbox,
    media,
    creators,
    billing,
    payments,
    publishing,  # Publishing (#15)
    ai,
    insights,  # issue #15 part D: ROI settings and recorded costs
    webhooks,  # outbound webhooks (issue #15)
    alerts,  # performance alerts (issue #16)
)
metadata: MetaData = Base.metadata
