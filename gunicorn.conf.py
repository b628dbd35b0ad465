"""gunicorn settings for `gunicorn -c gunicorn.conf.py 'wallet:create_app()'` (same as `wallet serve`)."""

import os

from wallet.config import Settings
from wallet.server import gunicorn_options

_options = gunicorn_options(
    host=os.environ.get("WALLET_HOST", "127.0.0.1"),
    port=int(os.environ.get("WALLET_PORT", "5000")),
    workers=int(os.environ.get("WALLET_WORKERS", "2")),
    trust_proxy=Settings.from_env().trust_proxy,
)
globals().update(_options)
