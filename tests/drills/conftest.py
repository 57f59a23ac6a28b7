"""The drills in ``extended/`` run with ``make drill`` (SWITCHBOARD_DRILLS=all), not in every
``make test``: the suite keeps the few that matter most and finish fast."""

import os

collect_ignore = [] if os.environ.get("SWITCHBOARD_DRILLS") == "all" else ["extended"]
