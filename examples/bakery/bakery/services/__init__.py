"""Transactional services of the bakery.

Every public service takes an optional ``session``: pass the session you hold and the
service joins your transaction; leave it out and the service opens (and commits) its own.
Modules are imported explicitly by their users; nothing is re-exported here, to keep the
import graph between services one-way.
"""
