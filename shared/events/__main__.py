"""Regenerate the committed JSON Schemas: ``python -m shared.events``."""

from shared.events import SCHEMA_DIR, render_schemas

for name, text in render_schemas().items():
    (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {SCHEMA_DIR / name}")
