"""Result files: summary, detail and manifest.json, written atomically."""

from bhmeasures.outputs.writer import build_manifest, write_atomically, write_results

__all__ = ["build_manifest", "write_atomically", "write_results"]
