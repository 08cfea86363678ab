"""`python -m app.cli` is `ragd`."""

import sys

from app.cli.main import main

sys.exit(main())
