import os

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.models import Base

target_metadata = Base.metadata
config = context.config
section = config.get_section(config.config_ini_section)
section["sqlalchemy.url"] = os.environ.get("DATABASE_URL", section["sqlalchemy.url"])
connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
