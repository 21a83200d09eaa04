//! The threads that copy the command's output through the redactor to our own.

use std::io::{Read, Write};
use std::sync::{Arc, mpsc};

use anyhow::{Context, Result};

use crate::supervise::redact::Redactor;

/// How much one read takes: a default pipe's capacity. (Measured with
/// `bench/redact.sh`: 256 KiB pipes and reads were slower, 0.50 of an unfiltered
/// pipe against 0.73.)
const CHUNK: usize = 64 * 1024;

/// Copies one stream of the command through the redactor; says `done` at its end.
pub fn spawn(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    redactor: Arc<Redactor>,
    done: mpsc::Sender<()>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("redact".into())
        .spawn(move || {
            let mut stream = redactor.stream();
            let mut buf = vec![0u8; CHUNK];
            let mut out = Vec::with_capacity(buf.len() + 1024);
            loop {
                // A pty master answers EIO once the command's side is closed: the end.
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                out.clear();
                stream.feed(&buf[..n], &mut out);
                if to.write_all(&out).and_then(|()| to.flush()).is_err() {
                    break;
                }
            }
            out.clear();
            stream.finish(&mut out);
            let _ = to.write_all(&out).and_then(|()| to.flush());
            zeroize::Zeroize::zeroize(&mut buf);
            zeroize::Zeroize::zeroize(&mut out);
            let _ = done.send(());
        })
        .context("starting the output filter")?;
    Ok(())
}
