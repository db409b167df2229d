"""Pictures and tables of results: image grids, learning curves, index pages."""
