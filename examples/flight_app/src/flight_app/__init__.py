"""flight_app: the reference app of authkit (flight search, settings, migrations, CLI)."""

__all__: list[str] = []
