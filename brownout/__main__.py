import sys

from brownout.cli import main

sys.exit(main())
