"""Coverage-guided fuzz targets (atheris). `make fuzz` runs them long; CI runs a short budget."""
