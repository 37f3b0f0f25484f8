"""python -m deploy preview|up|refresh|destroy --stack NAME: the engine on this project, no language plugin needed."""
import sys

from deploy.driver import main

sys.exit(main())
