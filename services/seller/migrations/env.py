from services.kit.migrate import run_env
from services.seller.store import metadata

run_env(metadata)
