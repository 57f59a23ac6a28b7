"""The agent console: its pages, sign-in and sessions, and the API it reads beyond the agent
API (workspace, notes, canned responses, the supervisor view)."""
