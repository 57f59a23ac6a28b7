"""Labels on conversations: the admin-managed list, and labeling through the agent API."""
