//! `versions.dat`: the bodies of every stored version, appended and never rewritten.
//!
//! Keeping the bodies out of the B-tree (key-value separation) makes a bulk import one
//! sequential write plus one `fdatasync` per batch, instead of tens of megabytes of B-tree pages.
//! The file is only ever read at offsets that a committed index transaction vouches for: bytes
//! are synced before the transaction that references them commits, and a tail left by a crash
//! between the two is cut on open.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The file's first bytes: a name and a format number.
pub const MAGIC: &[u8; 16] = b"tessera-bodies-1";

pub struct DataFile {
    file: File,
    path: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DataFile {
    pub fn create(path: &Path) -> Result<DataFile, StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io(path))?;
        file.write_all(MAGIC).map_err(io(path))?;
        file.sync_all().map_err(io(path))?;
        Ok(DataFile {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Opens the file and cuts any tail beyond `committed_len` (bytes a crash left between the
    /// data sync and the index commit). Fewer bytes than committed is corruption.
    pub fn open(path: &Path, committed_len: u64) -> Result<(DataFile, u64), StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let mut magic = [0u8; 16];
        file.read_exact_at(&mut magic, 0).map_err(io(path))?;
        if &magic != MAGIC {
            return Err(StoreError::Corrupt {
                seq: 0,
                message: format!("{} is not a Tessera bodies file", path.display()),
            });
        }
        let len = file.metadata().map_err(io(path))?.len();
        if len < committed_len {
            return Err(StoreError::Corrupt {
                seq: 0,
                message: format!(
                    "{} holds {len} bytes but the index committed {committed_len}: committed data is missing",
                    path.display()
                ),
            });
        }
        let cut = len - committed_len;
        if cut > 0 {
            file.set_len(committed_len).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        Ok((
            DataFile {
                file,
                path: path.to_path_buf(),
            },
            cut,
        ))
    }

    /// Writes `bytes` at `offset`, without syncing: nothing may point at them before [`sync`].
    ///
    /// [`sync`]: DataFile::sync
    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all_at(bytes, offset)
            .map_err(io(&self.path))
    }

    /// Starts writing `len` bytes from `offset` to disk without waiting (see
    /// [`start_writeback`]).
    pub fn start_writeback(&self, offset: u64, len: u64) {
        start_writeback(&self.file, offset, len);
    }

    /// Makes every byte written so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Cuts the file to `len` bytes, durably (after a roll-back).
    pub fn truncate(&self, len: u64) -> Result<(), StoreError> {
        self.file.set_len(len).map_err(io(&self.path))?;
        self.file.sync_all().map_err(io(&self.path))
    }

    /// Reads from `offset` into `buffer` (cleared first) at least `len` bytes and at most
    /// `ahead` more, fewer only where the file ends. The bytes beyond `len` may belong to a
    /// batch still being written; callers use them only where a committed index points.
    pub fn read_ahead(
        &self,
        offset: u64,
        len: u32,
        ahead: usize,
        buffer: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        buffer.clear();
        buffer.resize(len as usize + ahead, 0);
        let mut filled = 0;
        while filled < buffer.len() {
            match self
                .file
                .read_at(&mut buffer[filled..], offset + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(&self.path)(e)),
            }
        }
        if filled < len as usize {
            return Err(io(&self.path)(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("a version body at {offset} ends past the end of the file"),
            )));
        }
        buffer.truncate(filled);
        Ok(())
    }

    pub fn read(&self, offset: u64, len: u32) -> Result<Vec<u8>, StoreError> {
        let mut buffer = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut buffer, offset)
            .map_err(io(&self.path))?;
        Ok(buffer)
    }
}

/// Starts writing a file's dirty pages in [`offset`, `offset + len`) (the whole file for a
/// `len` of 0) to disk without waiting for them: Linux `sync_file_range`. A bulk import calls it
/// after each slice, so the syncs of its commit find little left to write instead of the whole
/// batch. Durability still comes from those syncs alone; this is a head start, ignored where
/// it fails or does not exist.
fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: the descriptor is open for as long as `file` is borrowed, and the call only
        // reads its arguments.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Bodies read a window at a time: a walk in file order (the log, `verify`) makes one read call
/// per [`ReadAhead::BYTES`] instead of one per version.
#[derive(Default)]
pub(crate) struct ReadAhead {
    bytes: Vec<u8>,
    /// Where `bytes` begins in the file.
    offset: u64,
}

impl ReadAhead {
    /// About a hundred typical versions: a TAXII page or a ledger catch-up makes one read
    /// where it made a hundred.
    pub(crate) const BYTES: usize = 256 << 10;

    /// The `length` bytes at `offset`, from the window when it holds them, else from a new
    /// window read there.
    pub(crate) fn get(
        &mut self,
        file: &DataFile,
        offset: u64,
        length: u32,
    ) -> Result<&[u8], StoreError> {
        let within = offset
            .checked_sub(self.offset)
            .and_then(|start| usize::try_from(start).ok())
            .filter(|start| start + length as usize <= self.bytes.len());
        let start = match within {
            Some(start) => start,
            None => {
                file.read_ahead(offset, length, Self::BYTES, &mut self.bytes)?;
                self.offset = offset;
                0
            }
        };
        Ok(&self.bytes[start..start + length as usize])
    }
}
