"""``python -m cli``: the roadmind command line without the installed script."""

import sys

from cli.main import main

sys.exit(main())
