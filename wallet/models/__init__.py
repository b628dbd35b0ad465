"""The ORM models, one module per domain. Importing this package registers every table on
``Base.metadata`` (Alembic's autogenerate and the tests rely on that)."""

from wallet.db import Base
from wallet.models.accounts import Account, Device, RefreshToken
from wallet.models.organisations import Membership, Organisation, Role

__all__ = ["Account", "Base", "Device", "Membership", "Organisation", "RefreshToken", "Role"]
