"""``python -m frameinterp`` runs the command-line interface."""

from frameinterp.cli import main

main()
