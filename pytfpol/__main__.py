"""`python -m pytfpol` is the same as the `pytfpol` command."""

from pytfpol.cli import main

if __name__ == "__main__":
    main(prog_name="pytfpol")
