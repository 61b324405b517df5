"""`python -m auditor`: the command line.

`-m` puts the current directory first on sys.path, and that is usually the audited project:
a top-level package of theirs named like one of our dependencies (`sqlglot/`, `jinja2/`)
would be imported, that is, their code run. It is taken off the path before anything else
is imported, unless this package itself was found there (a checkout of upsert-audit).
"""

import os
import sys
from pathlib import Path

_home = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd()) or Path(p or ".").resolve() == _home]

from auditor.cli import main  # noqa: E402

raise SystemExit(main())
