"""The linking views (scanned by :func:`kzlink.web.includeme`)."""
