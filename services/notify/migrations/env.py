from services.kit.migrate import run_env
from services.notify.store import metadata

run_env(metadata)
