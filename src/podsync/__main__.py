"""``python -m podsync`` runs the command line, as the ``podsync`` script does."""

from podsync.cli.entry import main

if __name__ == "__main__":
    main()
