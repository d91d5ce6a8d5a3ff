"""msinfusion: intravenous MS disease-modifying therapy, run as exact, source-cited software.

The public surface is kept small; import from the subpackages for anything else.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
