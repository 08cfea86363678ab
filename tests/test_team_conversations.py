"""Conversations on the server: per key, continued from another client with the same key,
renamed, exported (Markdown and JSON with citations), deleted, invisible to other keys."""

from __future__ import annotations

from tests.team_support import ADMIN, A, add_key, bearer, client, team_box

OTHER = "other-team-key-0123456789"


def test_a_conversation_continues_from_another_client_and_exports_with_citations(tmp_path):
    settings, services = team_box(tmp_path)
    add_key(settings, OTHER, f"read collections={A}:read other")
    with client(settings, services) as first, client(settings, services) as second:
        made = first.post("/api/conversations", json={}, headers=bearer(ADMIN)).json()
        ask = {"question": "How do I brew tea?", "collection": A, "conversation_id": made["id"]}
        assert first.post("/api/ask", json=ask, headers=bearer(ADMIN)).status_code == 200
        follow = {**ask, "question": "And in the kettle?"}
        assert second.post("/api/ask", json=follow, headers=bearer(ADMIN)).status_code == 200
        kept = second.get(f"/api/conversations/{made['id']}", headers=bearer(ADMIN)).json()
        assert [t["question"] for t in kept["turns"]] == [ask["question"], follow["question"]]
        assert kept["title"] == ask["question"] and kept["turns"][0]["sources"]
        listed = second.get("/api/conversations", headers=bearer(ADMIN)).json()
        assert [c["id"] for c in listed["conversations"]] == [made["id"]]
        renamed = first.patch(
            f"/api/conversations/{made['id']}", json={"title": "Tea"}, headers=bearer(ADMIN)
        )
        assert renamed.json()["title"] == "Tea"
        markdown = first.get(f"/api/conversations/{made['id']}/export", headers=bearer(ADMIN))
        assert markdown.text.startswith("# Tea") and "[1] guide.txt" in markdown.text
        exported = first.get(
            f"/api/conversations/{made['id']}/export",
            params={"format": "json"},
            headers=bearer(ADMIN),
        ).json()
        assert exported["turns"][1]["sources"][0]["source"] == "guide.txt"
        other = first.get(f"/api/conversations/{made['id']}", headers=bearer(OTHER))
        assert other.status_code == 404
        assert first.get("/api/conversations", headers=bearer(OTHER)).json()["conversations"] == []
        steal = first.post("/api/ask", json=ask, headers=bearer(OTHER))
        assert steal.status_code == 404
        assert (
            first.delete(f"/api/conversations/{made['id']}", headers=bearer(OTHER)).status_code
            == 404
        )
        assert (
            first.delete(f"/api/conversations/{made['id']}", headers=bearer(ADMIN)).status_code
            == 200
        )
        assert first.get("/api/conversations", headers=bearer(ADMIN)).json()["conversations"] == []


def test_a_streamed_answer_is_appended_too(tmp_path):
    settings, services = team_box(tmp_path)
    with client(settings, services) as http:
        made = http.post("/api/conversations", json={"title": "s"}, headers=bearer(ADMIN)).json()
        ask = {
            "question": "How do I brew tea?",
            "collection": A,
            "conversation_id": made["id"],
            "stream": True,
        }
        with http.stream("POST", "/api/ask", json=ask, headers=bearer(ADMIN)) as events:
            assert "event: done" in "".join(events.iter_text())
        kept = http.get(f"/api/conversations/{made['id']}", headers=bearer(ADMIN)).json()
        assert len(kept["turns"]) == 1 and kept["title"] == "s"


def test_conversations_past_the_retention_are_deleted(tmp_path):
    from app.answering.conversations import Conversations

    store = Conversations(tmp_path / "c.sqlite3", retention_days=1)
    old, new = store.create("k", "old"), store.create("k", "new")
    with store._db() as db:
        db.execute("UPDATE conversations SET updated = 0 WHERE id = ?", (old["id"],))
    assert [c["id"] for c in store.listing("k")] == [new["id"]]
