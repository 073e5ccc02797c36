"""Adapters: the implementations of the domain's ports.

One module or subpackage per kind of port: ``sql`` (SQLAlchemy stores, the
request's database session), ``memory`` (in-process stores for tests and
demos), ``cipher`` (tokens encrypted at rest), ``clock``, and the Kazaplan HTTP
client.
"""
