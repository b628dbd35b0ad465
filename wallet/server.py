"""Production serving: gunicorn, configured in code so `wallet serve` needs no extra files.

``gunicorn.conf.py`` at the repository root holds the same settings for operators who run
``gunicorn -c gunicorn.conf.py 'wallet:create_app()'`` themselves.

Forwarded headers are believed in one case only, ``WALLET_TRUST_PROXY``, and then by both layers alike:
the app wraps itself in ``ProxyFix`` (one hop: the client address, scheme and host the proxy saw) and
gunicorn takes ``X-Forwarded-Proto`` from any peer (the proxy is the only one). Without it neither
does, so a client cannot claim another address (rate limits) or https (HSTS, secure cookies) by header.
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


def gunicorn_options(*, host: str, port: int, workers: int, trust_proxy: bool = False) -> dict[str, Any]:
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
        # In step with the app's ProxyFix (see the module docstring): all peers or none.
        "forwarded_allow_ips": "*" if trust_proxy else "",
        "secure_scheme_headers": {"X-FORWARDED-PROTO": "https"} if trust_proxy else {},
    }


def run_gunicorn(*, host: str, port: int, workers: int, settings: Settings) -> None:
    options = gunicorn_options(host=host, port=port, workers=workers, trust_proxy=settings.trust_proxy)
    _WalletGunicorn(options, settings).run()
