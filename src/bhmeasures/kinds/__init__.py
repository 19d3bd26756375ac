"""Step kinds, one module each (see base.py). Importing the package registers every kind."""
