from services.kit.migrate import run_env
from services.order.store import metadata

run_env(metadata)
