import asyncpg
from auditor.upsert import aupsert_record


async def save(conn, user_id, persona, size):
    await aupsert_record(conn, "avatars", {"user_id": user_id, "persona": persona, "size": size}, conflict=["user_id"], update=["persona", "size"])
