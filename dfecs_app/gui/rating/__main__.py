"""``python -m dfecs_app.gui.rating PACK_DIR``: rater mode."""

import sys

from dfecs_app.gui.rating.rater_window import main

sys.exit(main())
