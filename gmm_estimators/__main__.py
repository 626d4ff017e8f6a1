"""``python -m gmm_estimators``: the demo, or the command line with a command.

With no arguments, choose a Gaussian mixture for the wine data and draw it;
with a command (``fit``, ``predict``, ``reduce``), the same as the
``gmm-estimators`` console script. ``python -m gmm_estimators --help`` lists
the options.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
