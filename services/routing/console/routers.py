"""Every router of the console, for the routing app to include."""

from services.routing.console import (
    admin_endpoints,
    agent_endpoints,
    endpoints,
    supervisor_endpoints,
)

ROUTERS = [
    endpoints.router,
    agent_endpoints.router,
    admin_endpoints.router,
    supervisor_endpoints.router,
]
