//! What a store answered and secretrun did not keep is nowhere in its memory once
//! the command runs: not in the buffers in which the HTTP client and the JSON parser
//! held the answer, which they freed without zeroing (the process's allocator zeroes
//! every block it takes back), nor in secretrun's own parse of it. Read from outside,
//! as a debugger or a core dump would: /proc/PID/mem of the supervising secretrun.

use std::io::{Read, Seek, SeekFrom, Write};
use std::process::Stdio;
use std::time::Duration;

use crate::bao::ROOT_TOKEN;
use crate::stub;
use crate::util::{Lines, Test, wait_within};

/// A value the store returns beside the one asked for; secretrun has no use for it.
const UNKEPT: &str = "unkept-4f1d9a0c7be2";

/// How many times `needle` is in the readable memory of process `pid`.
fn copies_in_memory(pid: u32, needle: &[u8]) -> usize {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect(
        "opening /proc/PID/mem of secretrun, which is not dumpable: this test needs root \
         or CAP_SYS_PTRACE",
    );
    let mut found = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with('r') || name.starts_with("[v") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut block = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut block).is_err() {
            continue;
        }
        found += block.windows(needle.len()).filter(|w| *w == needle).count();
    }
    found
}

#[test]
fn a_value_the_store_sent_and_secretrun_did_not_keep_is_not_in_its_memory() {
    // The unkept value holds an escape, so that the JSON parser unescapes it in a
    // buffer of its own; the kept one is the control that the scan finds values.
    let answer = format!(
        r#"{{"data":{{"data":{{"KEPT":"kept-93be61d0aa","OTHER":"{UNKEPT}\nsecond line"}},"metadata":{{"version":1}}}}}}"#
    );
    let stub = stub::serve(move |request| {
        if let Some(refused) = stub::vault_checks(request, 2) {
            return refused;
        }
        (200, answer.clone())
    });
    let mut child = Test::new()
        .env("VAULT_ADDR", stub.url())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .args([
            "--pure",
            "--redact",
            "--from",
            "vault://secret/app#KEPT",
            "--",
            "sh",
            "-c",
            "echo ready; read line",
        ])
        .command()
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    lines.wait_for("ready", Duration::from_secs(30));
    let pid = child.id();
    let kept = copies_in_memory(pid, b"kept-93be61d0aa");
    let unkept = copies_in_memory(pid, UNKEPT.as_bytes());
    child.stdin.take().unwrap().write_all(b"done\n").unwrap();
    assert_eq!(wait_within(&mut child, Duration::from_secs(30)), Some(0));
    assert!(
        kept > 0,
        "the kept value, which redaction holds, is found: the scan reads the heap"
    );
    assert_eq!(unkept, 0, "copies of the value secretrun did not keep");
}
