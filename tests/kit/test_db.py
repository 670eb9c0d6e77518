from sqlalchemy import text

from services.kit.db import create_engine, ping


async def test_fresh_database_is_reachable_and_empty(fresh_database):
    url = await fresh_database("db")
    engine = create_engine(url)
    try:
        await ping(engine)
        async with engine.connect() as connection:
            tables = await connection.scalar(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
        assert tables == 0
    finally:
        await engine.dispose()
