//! Entry points for the fuzz targets (`fuzz/`) and the bounded mutation harness in CI
//! (`tests/tests/issue_16_fuzz.rs`); compiled only with the `fuzzing` feature. Like
//! `daedalus_sources::fuzzing`: arbitrary bytes in, `Ok` or a typed error out, never a panic,
//! abort or hang.

use crate::config::RunConfig;
use daedalus_sinks::manifest;
use std::path::PathBuf;

fn scratch_state_dir() -> PathBuf {
    let base = std::env::var_os("DAEDALUS_FUZZ_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let id = format!(
        "daedalus-fuzz-ckpt-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    base.join(id.replace(['(', ')'], ""))
}

/// A market checkpoint file as `run` reads it on resume: frame (magic, version, lengths,
/// checksum), JSON header, then the bincode state. The first byte chooses whether the bytes are
/// the file as is, or `[header length: u16 LE][header JSON][state]` re-framed with a correct
/// checksum so the decoders behind it are reached.
pub fn checkpoint(data: &[u8]) -> Result<(), String> {
    let Some((&mode, rest)) = data.split_first() else {
        return Ok(());
    };
    let file = if mode & 1 == 1 && rest.len() >= 2 {
        let hlen = (u16::from_le_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let (json, state) = rest[2..].split_at(hlen);
        manifest::encode_frame_for_fuzzing(json, state)
    } else {
        rest.to_vec()
    };
    let dir = scratch_state_dir();
    let path = manifest::checkpoint_path(&dir, "fuzz", "FZ-USD");
    std::fs::create_dir_all(path.parent().expect("checkpoint has a parent"))
        .map_err(|e| format!("scratch: {e}"))?;
    std::fs::write(&path, &file).map_err(|e| format!("scratch write: {e}"))?;
    let cp = manifest::load(&dir, "fuzz", "FZ-USD")
        .map_err(|e| e.to_string())?
        .ok_or("checkpoint vanished")?;
    crate::ops::market::decode_saved(&cp.state).map_err(|e| e.to_string())
}

/// A `--config` TOML file as `run` reads it: parsed into a [`RunConfig`], then validated.
pub fn config_toml(data: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let c: RunConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    c.validate().map_err(|e| e.to_string())
}
