//! A small disk for full-disk tests: a tmpfs mounted for the test and
//! unmounted when its guard drops.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tmpfs of `size` mounted at `dir` for the test (a small disk to fill),
/// unmounted on drop; `None`, with a message, where mounting is forbidden.
pub struct Tmpfs {
    /// Its mount point.
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mount one of `size` (`8M`...) at `dir`.
    ///
    /// # Panics
    /// When `dir` cannot be made.
    pub fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: this machine forbids mounting a tmpfs (run as root)");
            return None;
        }
        Some(Self {
            dir: dir.to_owned(),
        })
    }

    /// Fill the filesystem with `name` until a write fails (disk full).
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join(name);
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .stderr(Stdio::null())
            .status();
    }
}
