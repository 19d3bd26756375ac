"""Filter condition kinds, one module each (see base.py); logic.py builds the model that lists them."""
