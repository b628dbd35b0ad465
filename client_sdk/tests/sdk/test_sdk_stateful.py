"""Three devices editing one wallet behind an unreliable network, with clocks days apart.

The network drops requests, drops responses after the server committed, and delivers requests twice.
After healing and a final sync, every replica must equal the server and the reference model
(``client_sdk/tests/reference_model.reference_view``) computed from the set of ops the server accepted (I1).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from reference_model import reference_view
from wallet_client import MemoryTokenStore, OfflineWallet, Tokens, TransportError, WalletClient
from wallet_protocol.sync import validate_op, view

from wallet.accounts import services as accounts
from wallet.changelog import changes
from wallet.changelog.history import stored_rows

CREDS = [f"sha256:{n:064x}" for n in range(1, 4)]
TAGS = ["robotics", "Robotics ", "welding", "art"]
SKEW_DAYS = [0, 3, -2]
FAULTS = ["drop_request", "drop_response", "duplicate"]


class FlakyNetwork(httpx.BaseTransport):
    """Wraps the app's transport; ``faults`` (consumed one per request) break delivery on purpose."""

    def __init__(self, inner: httpx.BaseTransport, log: dict[tuple[str, int], dict[str, Any]]) -> None:
        self.inner = inner
        self.faults: list[str] = []
        self.log = log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "drop_request":
            raise httpx.ConnectError("dropped on the way out", request=request)
        if request.url.path == "/api/v1/sync":
            data = request.read()
            body = json.loads(gzip.decompress(data) if request.headers.get("Content-Encoding") == "gzip" else data)
            for op in body["ops"]:
                self.log[(body["client_id"], op["op_seq"])] = op
        response = self.inner.handle_request(request)
        if fault == "duplicate":
            response.read()
            response = self.inner.handle_request(request)
        if fault == "drop_response":
            response.read()
            raise httpx.ReadTimeout("response lost after the server committed", request=request)
        return response


def _signed_in_devices(app: Any, db: Any, now: Any, username: str, count: int) -> tuple[uuid.UUID, list[Tokens]]:
    """A learner with ``count`` signed-in devices, made through the services (no login rate limit)."""
    state = app.extensions["wallet"]
    account = accounts.sign_up(
        db,
        username=username,
        password="correct horse battery",
        display_name="",
        email=None,
        hasher=state.hasher,
        now=now,
    )
    pairs = [
        accounts.open_device(
            db, account=account, name=f"device {n}", platform="test", policy=state.token_policy, now=now
        )
        for n in range(count)
    ]
    return account.id, [Tokens(pair.access_token, pair.refresh_token) for pair in pairs]


def test_devices_converge_under_an_unreliable_network(
    make_client: Callable[..., WalletClient], app: Any, db: Any, clock: Any, tmp_path: Path
) -> None:
    class Wallets(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            username = f"s{uuid.uuid4().hex[:10]}"
            self.log: dict[tuple[str, int], dict[str, Any]] = {}
            self.account_id, tokens = _signed_in_devices(app, db, clock.now, username, len(SKEW_DAYS))
            self.server_ops = [
                changes.record_entry_added(db, account_id=self.account_id, cred_hash=cred, now=clock.now)
                for cred in CREDS
            ]
            db.commit()
            self.networks: list[FlakyNetwork] = []
            self.devices: list[OfflineWallet] = []
            folder = tmp_path / username
            folder.mkdir()
            for index, skew in enumerate(SKEW_DAYS):
                client = make_client(wrap=self._wrap, max_retries=3, token_store=MemoryTokenStore(tokens[index]))
                device_clock = (lambda days: lambda: clock.now.timestamp() + days * 86_400)(skew)
                # Device 1 was never updated: it speaks protocol 1 among protocol-2 devices (§7.4).
                protocol = 1 if index == 1 else 2
                self.devices.append(
                    OfflineWallet(folder / f"{index}.db", client, clock=device_clock, protocol=protocol)
                )

        def _wrap(self, inner: httpx.BaseTransport) -> httpx.BaseTransport:
            network = FlakyNetwork(inner, self.log)
            self.networks.append(network)
            return network

        def _device(self, index: int) -> OfflineWallet:
            return self.devices[index % len(self.devices)]

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS), tag=st.sampled_from(TAGS))
        def add_tag(self, d: int, c: str, tag: str) -> None:
            self._device(d).add_tag(c, tag)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS), tag=st.sampled_from(TAGS))
        def remove_tag(self, d: int, c: str, tag: str) -> None:
            self._device(d).remove_tag(c, tag)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS), note=st.sampled_from(["", "mine", "theirs"]))
        def set_note(self, d: int, c: str, note: str) -> None:
            self._device(d).set_note(c, note)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS), pinned=st.booleans())
        def set_pinned(self, d: int, c: str, pinned: bool) -> None:
            self._device(d).set_pinned(c, pinned)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS), index=st.integers(0, 3))
        def move(self, d: int, c: str, index: int) -> None:
            self._device(d).move(c, index)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS))
        def remove(self, d: int, c: str) -> None:
            self._device(d).remove(c)

        @rule(d=st.integers(0, 2), c=st.sampled_from(CREDS))
        def re_add(self, d: int, c: str) -> None:
            self._device(d).add(c)

        @rule(d=st.integers(0, 2), name=st.sampled_from(["Portfolio", "Work"]))
        def create_collection(self, d: int, name: str) -> None:
            self._device(d).create_collection(name)

        @rule(d=st.integers(0, 2), pick=st.integers(0, 5), c=st.sampled_from(CREDS), add=st.booleans())
        def membership(self, d: int, pick: int, c: str, add: bool) -> None:
            device = self._device(d)
            collections = device.collections()
            if collections:
                coll = collections[pick % len(collections)]["coll"]
                (device.add_member if add else device.remove_member)(coll, c)

        @rule(d=st.integers(0, 2), pick=st.integers(0, 5))
        def delete_collection(self, d: int, pick: int) -> None:
            collections = self._device(d).collections()
            if collections:
                self._device(d).delete_collection(collections[pick % len(collections)]["coll"])

        @rule(d=st.integers(0, 2), faults=st.lists(st.sampled_from(FAULTS), max_size=4))
        def sync(self, d: int, faults: list[str]) -> None:
            self.networks[d].faults = list(faults)
            with contextlib.suppress(TransportError):
                self._device(d).sync()
            self.networks[d].faults = []

        @precondition(lambda self: True)
        @invariant()
        def local_views_are_well_formed(self) -> None:
            for device in self.devices:
                shown = device.view()
                assert len({c["cred"] for c in shown["credentials"]}) == len(shown["credentials"])

        def teardown(self) -> None:
            for _ in range(2):
                for device in self.devices:
                    device.sync()
            for device in self.devices:
                assert device.pending_count() == 0
            server_state = stored_rows(db, account_id=self.account_id)
            accepted = [validate_op(op) for op in self.log.values()]
            expected = reference_view([*self.server_ops, *accepted])
            assert view(server_state) == expected
            for device in self.devices:
                assert device.view() == expected
                device.close()

    run_state_machine_as_test(
        Wallets,
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
