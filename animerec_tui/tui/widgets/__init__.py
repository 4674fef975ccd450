"""Small widgets shared by the screens (charts, the offline banner)."""
