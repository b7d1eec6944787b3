"""`python -m hush.cli ...` is `hush ...`."""

import sys

from hush.cli import main

sys.exit(main())
