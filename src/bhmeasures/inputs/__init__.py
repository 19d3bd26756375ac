"""Input tables: discovery (files), contract checks and normalisation (reader), batches for the scan."""
