"""Production serving: gunicorn, configured in code so `wallet serve` needs no extra files.

``gunicorn.conf.py`` at the repository root holds the same settings for operators who run
``gunicorn -c gunicorn.conf.py 'wallet:create_app()'`` themselves.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from wallet.config import Settings


class _WalletGunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], settings: Settings) -> None:
        self._options = options
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from wallet.app import create_app

        return create_app(self._settings)


def gunicorn_options(*, host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "max_requests": 2000,
        "max_requests_jitter": 200,
        "accesslog": None,
        "limit_request_line": 8190,
        "forwarded_allow_ips": "127.0.0.1",
    }


def run_gunicorn(*, host: str, port: int, workers: int, settings: Settings) -> None:
    _WalletGunicorn(gunicorn_options(host=host, port=port, workers=workers), settings).run()
