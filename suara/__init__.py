"""Suara: KoboToolbox submissions to a validated, anonymised warehouse.

The `suara` package holds everything shared (settings, errors, the Form model, the Kobo
client, normalisation, privacy, encryption) and the command line. It imports none of
`flows`, `validation` or `warehouse`, except `suara.cli`, which sits on top of them all.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
