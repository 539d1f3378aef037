"""Entry point of the ``rooms-kit`` command."""


def main() -> int:
    return 0
