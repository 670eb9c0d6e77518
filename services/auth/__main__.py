"""`python -m services.auth serve`: runs the auth service."""

from services.auth.service import DEFINITION
from services.kit.server import main

if __name__ == "__main__":
    main(DEFINITION)
