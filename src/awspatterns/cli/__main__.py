"""``python -m awspatterns.cli``: the ``patterns`` command."""

import sys

from awspatterns.cli import main

sys.exit(main())
