//! Checks of the source tree that run with the tests: every Rust file
//! opens with a `//!` comment saying what it owns (rust-analyzer's tidy).

use std::path::{Path, PathBuf};

/// The workspace root (the parent of `xtask/`). Cargo names the
/// package's directory when it runs us; the one compiled in is only a
/// fallback, since a build is reused by clones elsewhere that share its
/// target directory.
pub fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// Every `.rs` file under `dir`, skipping `target`.
#[cfg(test)]
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let mut files = Vec::new();
        rust_files(&workspace_root(), &mut files);
        assert!(files.len() > 10, "found only {files:?}");
        let missing: Vec<_> = files
            .iter()
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .collect();
        assert!(
            missing.is_empty(),
            "files without a //! opening: {missing:?}"
        );
    }
}
