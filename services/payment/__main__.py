"""`python -m services.payment serve`: runs the payment service."""

from services.kit.server import main
from services.payment.service import DEFINITION

if __name__ == "__main__":
    main(DEFINITION)
