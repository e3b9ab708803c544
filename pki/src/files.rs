//! How the tooling writes and reads its files.
//!
//! Private keys are created with mode 0600 (and tightened when replaced) in
//! directories of mode 0700, and are never overwritten without `force`;
//! files that servers reload while running (the CRL, the revocation
//! database) are replaced atomically, so that a reader never sees half of
//! one. Every error names the file.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::PkiError;

/// Writes `path` through a temporary file in the same directory and a
/// rename, so that a reader (e.g. a server reloading its CRL) never sees a
/// half-written file.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let io_err = |action, path: &Path| {
        let path = path.to_owned();
        move |source| PkiError::Io {
            action,
            path,
            source,
        }
    };
    let mut file = fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
    file.write_all(contents).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))
}

pub(crate) fn read_to_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn refuse_existing(key_path: &Path, force: bool) -> Result<(), PkiError> {
    match fs::symlink_metadata(key_path) {
        Ok(_) if !force => Err(PkiError::AlreadyExists {
            path: key_path.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(PkiError::Io {
            action: "inspect",
            path: key_path.to_owned(),
            source,
        }),
    }
}

pub(crate) fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| PkiError::Io {
        action: "create directory",
        path: dir.to_owned(),
        source,
    })
}

/// Writes a private key with mode 0600; without `force` the file must not exist.
pub(crate) fn write_private(path: &Path, contents: &[u8], force: bool) -> Result<(), PkiError> {
    let io_err = |action| {
        move |source| PkiError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            PkiError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io_err("create")(e)
        }
    })?;
    // `mode` only applies to newly created files; tighten a replaced one too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err("set permissions on"))?;
    }
    file.write_all(contents).map_err(io_err("write"))?;
    file.sync_all().map_err(io_err("sync"))
}

pub(crate) fn write_public(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    fs::write(path, contents).map_err(|source| PkiError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}
