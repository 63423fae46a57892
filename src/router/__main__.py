"""`python -m router`: the same command as `router`."""

from .cli import main

main()
