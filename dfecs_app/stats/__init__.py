"""Statistics on ratings (agreement between raters). No Qt."""
