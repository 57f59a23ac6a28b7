"""Customer lifecycle events from a CRM or billing system: the signed webhook, the CSV
import, and how each event finds its contact before it is published on ``customers.v1``."""
