"""Pictures without Qt: KPM arrow plots (matplotlib) and projected AU images (pychubby)."""
