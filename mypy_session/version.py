"""The plugin's version: bump it whenever what the plugin reports changes.

It is part of `report_config_data`, so caches written by an older plugin are not trusted.
"""

from typing import Final

__version__: Final = "0.3.1"
