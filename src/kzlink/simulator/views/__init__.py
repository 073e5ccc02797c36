"""The simulator's views: authorize pages, token endpoint, v3 API, widget."""
