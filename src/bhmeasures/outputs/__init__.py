"""Result files: summary, detail and manifest.json, written atomically into folders bhm owns."""

from bhmeasures.outputs.writer import (
    build_manifest,
    check_out_folder,
    check_results_folder,
    owned_files,
    publish,
    write_atomically,
    write_results,
)

__all__ = ["build_manifest", "check_out_folder", "check_results_folder", "owned_files", "publish",
           "write_atomically", "write_results"]
