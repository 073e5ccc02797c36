"""kzlink's domain: links, enrollment decisions, use cases and their ports.

Pure Python: nothing here performs I/O or imports a web, database or HTTP
library. Adapters implement the ports declared in :mod:`kzlink.domain.ports`.
"""
