"""The phone computes pathway progress offline from its replica, and gets the server's answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wallet_client import OfflineWallet, WalletClient

from wallet.issuing.achievements import create_achievement
from wallet.issuing.credentials import award
from wallet.pathways.services import create_pathway


def test_offline_progress_from_the_replica_matches_the_server(
    make_client: Callable[..., WalletClient], organisation: Any, db: Any, clock: Any, app: Any, tmp_path: Path
) -> None:
    org = organisation("north", "Makerspace North")
    admin = uuid.UUID(org["admin"].account_id)
    badges = [
        create_achievement(
            db, slug="north", actor=admin, name=name, description="x", criteria_narrative="y", now=clock.now
        )
        for name in ("Soldering", "Coding", "Robots")
    ]
    create_pathway(
        db,
        slug="north",
        actor=admin,
        name="Maker",
        steps=[
            {"kind": "badge", "achievement": str(badges[0].id)},
            {"kind": "any_of", "n": 2, "achievements": [str(badges[1].id), str(badges[2].id)]},
        ],
        base_url="https://wallet.test",
        now=clock.now,
    )
    db.commit()
    client = make_client()
    client.sign_up("phone-learner", "correct horse battery")
    kek = app.extensions["wallet"].secrets.key_encryption_key
    for badge in badges[:2]:
        award(
            db,
            slug="north",
            actor=admin,
            achievement_id=badge.id,
            username="phone-learner",
            kek=kek,
            base_url="https://wallet.test",
            now=clock.now,
        )
    db.commit()

    phone = OfflineWallet(tmp_path / "phone.db", client)
    phone.sync()
    definitions = [pathway["definition"] for pathway in client.pathways()]
    offline = [result.to_dict() for result in phone.pathway_progress(definitions)]
    online = client.my_pathways()["pathways"]
    assert [{key: entry[key] for key in offline[0]} for entry in online] == offline
    assert (offline[0]["steps_done"], offline[0]["next_step"], offline[0]["steps"][1]["have"]) == (1, 1, 1)
