"""``python -m podsync`` runs the command line, as the ``podsync`` script does."""

from podsync.cli.main import run

if __name__ == "__main__":
    run()
