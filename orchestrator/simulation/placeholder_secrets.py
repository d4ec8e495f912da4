"""What webhook templates read as `secrets` in a simulation or an offline run: placeholders, never real credentials."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class PlaceholderSecrets(Mapping[str, str]):
    """Every `secrets.NAME` reads as `<secret NAME>`: a simulation needs no real credentials."""

    def __getitem__(self, name: str) -> str:
        return f"<secret {name}>"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
