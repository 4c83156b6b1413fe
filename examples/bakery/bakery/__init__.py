"""Inventory and production service layer for a small bakery.

Ingredients are bought in lots and consumed first-in, first-out by production runs;
production adds finished units, which can be bundled into assemblies (gift boxes,
catering platters). ``bakery.services`` holds the transactional services,
``bakery.repositories`` the per-request facades the web layer uses, ``bakery.reports``
the async read side of the dashboard, and ``bakery.legacy`` the untyped helpers the old
cron scripts still call.
"""

__version__ = "0.4.0"
