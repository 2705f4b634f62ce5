//! Small file-system helpers shared by the log's modules; no state.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::{Bytes, BytesMut};

/// Treats "not found" as done: for deleting files that may already be gone.
pub(crate) fn ignore_not_found(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// Opens `path` for reading and writing, creating it if `create`.
pub(crate) fn open_rw(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
}

/// `len` bytes at `pos`, in a buffer the caller can hand on without copying.
pub(crate) fn pread_bytes(file: &File, pos: u64, len: usize) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    let mut buf = BytesMut::zeroed(len);
    file.read_exact_at(&mut buf, pos)?;
    Ok(buf.freeze())
}

/// Moves the file cursor (where appends write) to `pos`.
pub(crate) fn seek_end(file: &File, pos: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    (&*file).seek(SeekFrom::Start(pos)).map(|_| ())
}

/// `Write::write_all_vectored` is unstable; this is its stable equivalent.
pub(crate) fn write_all_vectored(file: &File, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    let mut f = file;
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match f.write_vectored(parts) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
