//! File permissions: what the store and the register keep is readable by their owner
//! only (folders 0700, files 0600: personal data, password hashes, the register), while
//! what a user asks for (`digitize -o`, `certify -o`) gets the usual permissions of a new
//! file (0666 less the umask), not the 0600 of the temporary file it was written through.

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its parents) and makes it owner-only (0700).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Creates `path` empty with mode 0600 when missing; an existing file readable by others
/// is made owner-only. SQLite gives its `-wal` and `-shm` files the database's mode.
pub fn create_file(path: &Path) -> io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => restrict(path, 0o600),
        Err(e) => Err(e),
    }
}

/// Sets `mode` on `path` when it currently allows more.
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(current & mode))?;
    }
    Ok(())
}

/// Gives a file the user asked for the mode a plain new file would get: 0666 less the
/// process umask (read from `/proc/self/status`; 022 assumed where it cannot be read).
pub fn make_user_facing(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(0o666 & !umask()))
}

fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_files_are_owner_only_and_outputs_follow_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        create_dir(&folder).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        let file = folder.join("x.sqlite");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        create_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        make_user_facing(&file).unwrap();
        assert_eq!(mode(&file), 0o666 & !umask());
    }
}
