//! The file framing of ingest state (CONTRACT §10.2): the run checkpoints' frame (magic,
//! format version, JSON header, state bytes, CRC-32 of all before it) under its own magic, so an
//! ingest state is never mistaken for a run checkpoint. The content is the caller's; this module
//! only frames, verifies and writes atomically.

use crate::manifest::write_atomic;
use crate::{Result, SinkError};
use std::path::Path;

/// Leading bytes of every ingest state file.
const MAGIC: &[u8; 8] = b"DDLSINGS";
/// Version of the ingest state format; another version is refused, never guessed.
pub const INGEST_STATE_VERSION: u32 = 1;

fn corrupt(path: &Path, detail: impl Into<String>) -> SinkError {
    SinkError::Checkpoint {
        path: path.into(),
        detail: detail.into(),
    }
}

/// Frames a JSON header and state bytes.
pub fn encode_frame(json: &[u8], state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 + 4 + json.len() + 8 + state.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&INGEST_STATE_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(&(state.len() as u64).to_le_bytes());
    out.extend_from_slice(state);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Verifies a frame read from `path`; returns `(json header, state bytes)`.
pub fn decode_frame<'b>(path: &Path, bytes: &'b [u8]) -> Result<(&'b [u8], &'b [u8])> {
    let n = bytes.len();
    if n < 8 + 4 + 4 + 8 + 4 || &bytes[..8] != MAGIC {
        return Err(corrupt(
            path,
            "not a daedalus ingest state (bad magic or truncated)",
        ));
    }
    let stored = u32::from_le_bytes(bytes[n - 4..].try_into().expect("4 bytes"));
    let actual = crc32fast::hash(&bytes[..n - 4]);
    if stored != actual {
        return Err(corrupt(
            path,
            format!("checksum mismatch (stored {stored:08x}, computed {actual:08x})"),
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != INGEST_STATE_VERSION {
        return Err(corrupt(
            path,
            format!("ingest state version {version}, this build reads {INGEST_STATE_VERSION}"),
        ));
    }
    let hlen = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let hend = 16usize
        .checked_add(hlen)
        .filter(|&e| e + 8 + 4 <= n)
        .ok_or_else(|| corrupt(path, "header length out of range"))?;
    let slen = u64::from_le_bytes(bytes[hend..hend + 8].try_into().expect("8 bytes")) as usize;
    (hend + 8)
        .checked_add(slen)
        .filter(|&e| e + 4 == n)
        .ok_or_else(|| corrupt(path, "state length out of range"))?;
    Ok((&bytes[16..hend], &bytes[hend + 8..hend + 8 + slen]))
}

/// Writes `bytes` to `path` atomically (dot-temporary, fsync, rename, directory fsync).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_and_detects_corruption() {
        let p = Path::new("x.state");
        let f = encode_frame(b"{\"a\":1}", b"state");
        let (h, s) = decode_frame(p, &f).unwrap();
        assert_eq!((h, s), (&b"{\"a\":1}"[..], &b"state"[..]));
        let mut bad = f.clone();
        bad[20] ^= 1;
        assert!(decode_frame(p, &bad).is_err());
        assert!(decode_frame(p, &f[..f.len() - 1]).is_err());
    }
}
