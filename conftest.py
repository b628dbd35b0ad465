"""Settings shared by every test directory (tests/ and client_sdk/tests/).

On CI (``CI=true``) hypothesis runs derandomized: the same examples on every run, so a red CI always
means a change broke something and can be reproduced locally with ``CI=true``. Locally it keeps
exploring new random examples, which is how new bugs are found.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")
