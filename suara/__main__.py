import sys

from suara.cli import main

sys.exit(main())
