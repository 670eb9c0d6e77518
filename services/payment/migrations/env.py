from services.kit.migrate import run_env
from services.payment.store import metadata

run_env(metadata)
