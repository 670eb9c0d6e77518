"""`python -m services.order serve`: runs the order service."""

from services.kit.server import main
from services.order.service import DEFINITION

if __name__ == "__main__":
    main(DEFINITION)
