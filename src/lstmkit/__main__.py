import sys

from lstmkit.cli.main import main

sys.exit(main())
