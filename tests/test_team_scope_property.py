"""Property: for random key scopes over random collections, every request answers exactly as the
scope says (seeded random loop): search 200 or 404, upload 200, 403 or 404, listings exact."""

from __future__ import annotations

import random

import pytest

from app.answering.access import NotAllowed, Principal, authorize
from index.errors import CollectionNotFound
from tests.team_support import ADMIN, A, B, add_key, bearer, client, team_box

NAMES = [A, B, "default", "ghost"]  # ghost never exists: refused alike when out of scope
ROUNDS = 12


def random_scope(rng: random.Random) -> dict[str, str]:
    chosen = rng.sample(NAMES, rng.randint(0, len(NAMES)))
    return {name: rng.choice(["read", "admin"]) for name in chosen}


@pytest.mark.parametrize("seed", range(200))
def test_authorize_follows_the_scope_exactly(seed):
    rng = random.Random(seed)
    scope = random_scope(rng)
    principal = Principal("k", "k", "read", scope)  # type: ignore[arg-type]
    for name in NAMES:
        for action in ("read", "admin"):
            role = scope.get(name)
            if role is None:
                with pytest.raises(CollectionNotFound, match=r"^no such collection$"):
                    authorize(principal, name, action)  # type: ignore[arg-type]
            elif action == "admin" and role == "read":
                with pytest.raises(NotAllowed):
                    authorize(principal, name, action)  # type: ignore[arg-type]
            else:
                authorize(principal, name, action)  # type: ignore[arg-type]


def test_random_scoped_keys_see_and_change_exactly_their_collections(tmp_path):
    settings, services = team_box(tmp_path)
    rng, existing = random.Random(2126), {A, B}  # uploads add collections as they go
    with client(settings, services) as http:
        for n in range(ROUNDS):
            scope, key = random_scope(rng), f"random-key-{n:04d}-0123456789"
            spec = ",".join(f"{c}:{r}" for c, r in scope.items())
            add_key(settings, key, f"read collections={spec} k{n}" if scope else f"read k{n}")
            expect_scope(http, key, scope if scope else None, existing)


def expect_scope(http, key: str, scope: dict[str, str] | None, existing: set[str]) -> None:
    seen = {
        c["name"] for c in http.get("/api/collections", headers=bearer(key)).json()["collections"]
    }
    assert seen == (existing if scope is None else existing & set(scope))
    for name in NAMES:
        role = "read" if scope is None else scope.get(name)
        searched = http.post(
            "/api/search", json={"query": "tea", "collection": name}, headers=bearer(key)
        )
        if role is None:
            assert searched.status_code == 404 and name not in searched.text
        else:
            assert searched.status_code in (200, 409)  # 409: in scope but never ingested
        upload = http.post(
            "/api/documents",
            data={"collection": name},
            files={"file": ("n.txt", b"a note about kettles", "text/plain")},
            headers=bearer(key),
        )
        admin_somewhere = scope is not None and "admin" in scope.values()
        hidden = 404 if admin_somewhere else 403  # no admin right at all: the Guard says 403
        wanted = {None: hidden, "read": 403, "admin": 200}[role]
        assert upload.status_code == wanted, (name, role, upload.text)
        assert upload.status_code == 200 or name not in upload.text
        existing |= {name} if upload.status_code == 200 else set()
    admin = http.get("/api/collections", headers=bearer(ADMIN)).json()["collections"]
    assert {A, B} <= {c["name"] for c in admin}
