from services.kit.migrate import run_env
from tests.kit.data.example import metadata

run_env(metadata)
