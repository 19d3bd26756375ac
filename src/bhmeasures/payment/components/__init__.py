"""One module per component kind: its model, what it needs from an entity, how it pays and how it explains itself."""
