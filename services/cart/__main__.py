"""`python -m services.cart serve`: runs the cart service."""

from services.cart.service import DEFINITION
from services.kit.server import main

if __name__ == "__main__":
    main(DEFINITION)
