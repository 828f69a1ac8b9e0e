//! The state export file: every key and value of every column family, read from one RocksDB
//! snapshot, in a single self-checking file (the Raft snapshot payload).
//!
//! Format (all integers big-endian):
//!
//! ```text
//! "QEDSTATE" || be32(format = 1)
//! records:   u8 column family (index in COLUMN_FAMILIES) || be32 key length || key
//!                                                        || be32 value length || value
//! end:       0xFF || be64(number of records) || SHA-256(every byte before this hash)
//! ```
//!
//! Import checks everything (the magic, the format, each column family index and length
//! against hard limits, the record count, the checksum and that nothing follows it) and never
//! trusts a length before it is bounded; any failure is a [`StateError::Corrupt`].

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use rocksdb::{IteratorMode, ReadOptions, WriteBatch, WriteOptions};
use sha2::{Digest, Sha256};

use super::db::{CF_HYPER, COLUMN_FAMILIES, StateDb, StateDir};
use super::meta;
use crate::state_machine::StateError;

const MAGIC: &[u8; 8] = b"QEDSTATE";
const FORMAT: u32 = 1;
const END: u8 = 0xFF;
/// No key the ledger writes is longer than a hyper page id; this leaves ample room.
const MAX_KEY: usize = 1024;
/// Tiles are 16 KiB and pages smaller; the applied meta (Raft membership) is opaque but small.
const MAX_VALUE: usize = 64 << 20;
/// Batch size at which an import writes what it has read so far.
const IMPORT_BATCH_BYTES: usize = 8 << 20;

/// What an export or import moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferStats {
    /// Key/value records.
    pub records: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// A writer that hashes everything written through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.inner.write_all(data)
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exported {
    /// Records and bytes of the file.
    pub stats: TransferStats,
    /// The applied meta (see [`meta::KEY_APPLIED`]) of the exported state, read from the same
    /// snapshot as everything else, so it describes exactly what the file holds.
    pub applied: Option<Vec<u8>>,
}

/// Writes every column family of `db`, read from one consistent snapshot, to `file`, and
/// makes sure the exported state is durable in `db` too.
///
/// Needs no lock against the writer: the snapshot fixes the state (the applied meta travels
/// in the same atomic write as the state it describes), and the WAL sync after taking it
/// covers every write the snapshot holds, so a caller may drop log entries up to the
/// exported meta as soon as this returns.
pub fn export(db: &StateDb, file: &Path) -> Result<Exported, StateError> {
    let snapshot = db.db().snapshot();
    db.sync()?;
    let applied = snapshot.get_cf(db.cf(CF_HYPER)?, meta::KEY_APPLIED)?;
    let mut out = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, File::create(file)?),
        hasher: Sha256::new(),
        bytes: 0,
    };
    out.put(MAGIC)?;
    out.put(&FORMAT.to_be_bytes())?;
    let mut records = 0u64;
    for (index, name) in COLUMN_FAMILIES.iter().enumerate() {
        let cf = db.cf(name)?;
        let mut opts = ReadOptions::default();
        // A bulk scan: do not push the hot blocks out of the cache.
        opts.fill_cache(false);
        for item in snapshot.iterator_cf_opt(cf, opts, IteratorMode::Start) {
            let (key, value) = item?;
            // `index` < 5 and the lengths are bounded by what the ledger writes.
            out.put(&[index as u8])?;
            put_len(&mut out, key.len())?;
            out.put(&key)?;
            put_len(&mut out, value.len())?;
            out.put(&value)?;
            records += 1;
        }
    }
    out.put(&[END])?;
    out.put(&records.to_be_bytes())?;
    let digest: [u8; 32] = out.hasher.clone().finalize().into();
    let bytes = out.bytes + 32;
    let mut inner = out.inner;
    inner.write_all(&digest)?;
    let file = inner
        .into_inner()
        .map_err(|e| StateError::Storage(format!("export: {}", e.error())))?;
    file.sync_all()?;
    Ok(Exported {
        stats: TransferStats { records, bytes },
        applied,
    })
}

fn put_len<W: Write>(out: &mut HashingWriter<W>, len: usize) -> Result<(), StateError> {
    let len = u32::try_from(len)
        .map_err(|_| StateError::Storage(format!("value of {len} bytes is too long to export")))?;
    Ok(out.put(&len.to_be_bytes())?)
}

/// A reader that hashes everything read through it and turns a short read into corruption.
struct HashingReader<R: Read> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), StateError> {
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => corrupt("the file ends early"),
            _ => e.into(),
        })?;
        self.hasher.update(&*buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, StateError> {
        let mut b = [0u8; 1];
        self.take(&mut b)?;
        Ok(b[0])
    }

    fn be32(&mut self) -> Result<u32, StateError> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn be64(&mut self) -> Result<u64, StateError> {
        let mut b = [0u8; 8];
        self.take(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self, len: usize, max: usize, what: &str) -> Result<Vec<u8>, StateError> {
        if len > max {
            return Err(corrupt(&format!(
                "{what} of {len} bytes is over the limit of {max}"
            )));
        }
        let mut v = vec![0u8; len];
        self.take(&mut v)?;
        Ok(v)
    }
}

fn corrupt(why: &str) -> StateError {
    StateError::Corrupt(format!("state file: {why}"))
}

/// Reads an export file into `db` (a fresh, empty generation). On success every record is in
/// `db` and flushed to its table files; on failure `db` holds an unspecified part of the file
/// and must be discarded.
pub fn import(db: &StateDb, file: &Path) -> Result<TransferStats, StateError> {
    let mut input = HashingReader {
        inner: BufReader::with_capacity(1 << 20, File::open(file)?),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut magic = [0u8; 8];
    input.take(&mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt("not a QED state file (bad magic)"));
    }
    let format = input.be32()?;
    if format != FORMAT {
        return Err(corrupt(&format!(
            "format {format} is not supported (expected {FORMAT})"
        )));
    }
    let cfs = COLUMN_FAMILIES
        .iter()
        .map(|name| db.cf(name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut opts = WriteOptions::default();
    // The generation is flushed as a whole before it goes live; a crash before that discards it.
    opts.disable_wal(true);
    let mut batch = WriteBatch::default();
    let mut records = 0u64;
    loop {
        let tag = input.byte()?;
        if tag == END {
            break;
        }
        let cf = cfs
            .get(usize::from(tag))
            .ok_or_else(|| corrupt(&format!("unknown column family {tag}")))?;
        let klen = input.be32()? as usize;
        let key = input.bytes(klen, MAX_KEY, "key")?;
        let vlen = input.be32()? as usize;
        let value = input.bytes(vlen, MAX_VALUE, "value")?;
        batch.put_cf(*cf, key, value);
        records = records
            .checked_add(1)
            .ok_or_else(|| corrupt("too many records"))?;
        if batch.size_in_bytes() >= IMPORT_BATCH_BYTES {
            db.db().write_opt(std::mem::take(&mut batch), &opts)?;
        }
    }
    let count = input.be64()?;
    if count != records {
        return Err(corrupt(&format!(
            "the file says {count} records, it holds {records}"
        )));
    }
    let computed: [u8; 32] = input.hasher.clone().finalize().into();
    let mut stored = [0u8; 32];
    input
        .inner
        .read_exact(&mut stored)
        .map_err(|_| corrupt("the checksum is missing"))?;
    if stored != computed {
        return Err(corrupt("checksum mismatch"));
    }
    let mut rest = [0u8; 1];
    if input.inner.read(&mut rest)? != 0 {
        return Err(corrupt("data after the checksum"));
    }
    db.db().write_opt(batch, &opts)?;
    StateDir::flush_all(db)?;
    Ok(TransferStats {
        records,
        bytes: input.bytes + 32,
    })
}
