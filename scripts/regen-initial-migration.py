"""Development helper: rewrite migration 0001 from the current tables.

Only while nothing is released: once a release exists, add new revisions instead
(`alembic revision --autogenerate`). `tests/db/test_migrations.py` fails whenever the
migrations and the tables disagree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from neutrino.db import make_engine
from neutrino.db.migrate import MIGRATIONS, _config

target = MIGRATIONS / "versions" / "0001_initial_schema.py"
target.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{tmp}/gen.sqlite")
    command.revision(_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
text = target.read_text()
text = text.replace(
    "from sqlalchemy.dialects import postgresql\n",
    "from sqlalchemy import Text\nfrom sqlalchemy.dialects import postgresql\n",
)
if "from sqlalchemy import Text" not in text:
    text = text.replace("from alembic import op\n",
                        "from alembic import op\nfrom sqlalchemy import Text\n")
text = text.replace(
    "    # ### end Alembic commands ###\n",
    "    # ### end Alembic commands ###\n"
    "    seq = sa.table('change_seq', sa.column('id'), sa.column('value'), sa.column('floor'))\n"
    "    op.bulk_insert(seq, [{'id': 1, 'value': 0, 'floor': 0}])\n",
    1,
)
Path(target).write_text(text)
print(f"wrote {target}")
