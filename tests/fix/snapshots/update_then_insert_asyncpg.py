import asyncpg


async def save(conn, user_id, persona, size):
    status = await conn.execute("UPDATE avatars SET persona = $2, size = $3 WHERE user_id = $1", user_id, persona, size)
    if status == "UPDATE 0":
        await conn.execute("INSERT INTO avatars (user_id, persona, size) VALUES ($1, $2, $3)", user_id, persona, size)
