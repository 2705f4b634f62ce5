//! Walking a segment file batch by batch: crash recovery (with CRC checks)
//! and cheap header-only scans used to rebuild in-memory state.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::batch::{self, BatchHeader, HEADER_LEN};

/// Read-ahead size: large sequential preads keep recovery near disk speed.
const CHUNK: usize = 1 << 20;

/// Positional reader with a read-ahead window.
pub(crate) struct ChunkReader<'f> {
    file: &'f File,
    len: u64,
    buf: Vec<u8>,
    start: u64,
}

impl<'f> ChunkReader<'f> {
    pub(crate) fn new(file: &'f File, len: u64) -> Self {
        ChunkReader {
            file,
            len,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The bytes `[pos, pos + n)`, or `None` if they extend past the end.
    pub(crate) fn get(&mut self, pos: u64, n: usize) -> io::Result<Option<&[u8]>> {
        let Some(end) = pos.checked_add(n as u64) else {
            return Ok(None);
        };
        if end > self.len {
            return Ok(None);
        }
        if pos < self.start || end > self.start + self.buf.len() as u64 {
            let want = (n.max(CHUNK) as u64).min(self.len - pos) as usize;
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let at = (pos - self.start) as usize;
        Ok(Some(&self.buf[at..at + n]))
    }
}

/// Why a scan stopped before the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Every byte up to the end was a valid batch.
    End,
    /// Invalid or torn data starts at `Scanned::end`.
    Invalid(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanned {
    /// Position after the last valid batch.
    pub(crate) end: u64,
    pub(crate) stop: Stop,
}

/// Calls `visit(header, position)` for each valid batch from `from` onward.
/// With `verify`, each batch's CRC is checked too (recovery); without, only
/// headers are read (rebuilding state of trusted data).
pub(crate) fn scan(
    file: &File,
    len: u64,
    from: u64,
    min_offset: i64,
    verify: bool,
    mut visit: impl FnMut(&BatchHeader, u64),
) -> io::Result<Scanned> {
    let mut reader = ChunkReader::new(file, len);
    let mut pos = from;
    let mut expected = min_offset;
    loop {
        if pos == len {
            return Ok(Scanned {
                end: pos,
                stop: Stop::End,
            });
        }
        let invalid = |reason| {
            Ok(Scanned {
                end: pos,
                stop: Stop::Invalid(reason),
            })
        };
        let Some(head) = reader.get(pos, HEADER_LEN)? else {
            return invalid("truncated batch header");
        };
        let header = match BatchHeader::parse(head) {
            Ok(h) => h,
            Err(_) => return invalid("malformed batch header"),
        };
        let size = header.total_size();
        if header.base_offset < expected || header.last_offset_delta < 0 {
            return invalid("batch offsets out of order");
        }
        if verify {
            let Some(bytes) = reader.get(pos, size)? else {
                return invalid("truncated batch");
            };
            if batch::compute_crc(bytes) != header.crc {
                return invalid("crc mismatch");
            }
        } else if pos + size as u64 > len {
            return invalid("truncated batch");
        }
        visit(&header, pos);
        expected = header.next_offset();
        pos += size as u64;
    }
}

/// Header of the batch at `pos`, if a whole header is there.
pub(crate) fn header_at(file: &File, len: u64, pos: u64) -> io::Result<Option<BatchHeader>> {
    if pos + HEADER_LEN as u64 > len {
        return Ok(None);
    }
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact_at(&mut buf, pos)?;
    Ok(BatchHeader::parse(&buf).ok())
}
