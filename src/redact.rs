//! Streaming redaction of secret values in a child's output, for `--redact`.
//!
//! Every value of at least [`MIN_LEN`] bytes is replaced by `[NAME]`. The filter
//! works on bytes (non-UTF-8 output passes unharmed) and is fed whatever each read
//! returns. A value split across two reads is still caught: the filter holds back
//! only the shortest tail that could still grow into a value (a tail that is a
//! prefix of some value) and passes everything else on at once, so a line appears as
//! soon as the child writes it.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::secret::SecretSet;

/// Shorter values are not redacted: replacing every `1` or `on` would garble the
/// output and protect nothing.
pub const MIN_LEN: usize = 4;

/// The values to find and what to write instead.
pub struct Redactor {
    finder: AhoCorasick,
    replacements: Vec<Vec<u8>>,
    /// The values, sorted, to tell whether a tail may be the start of one.
    sorted: Vec<Vec<u8>>,
    longest: usize,
}

impl Redactor {
    /// A redactor for every secret of at least [`MIN_LEN`] bytes; `None` when there
    /// is none.
    pub fn new(secrets: &SecretSet) -> Option<Redactor> {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = secrets
            .iter()
            .filter(|(_, s)| s.value.len() >= MIN_LEN)
            .map(|(name, s)| {
                (
                    s.value.expose().as_bytes().to_vec(),
                    format!("[{name}]").into_bytes(),
                )
            })
            .collect();
        if pairs.is_empty() {
            return None;
        }
        // The same value under two names is found once.
        pairs.sort();
        pairs.dedup_by(|a, b| a.0 == b.0);
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(value, _)| value))
            .expect("plain literal patterns always build");
        let longest = pairs.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
        let sorted: Vec<Vec<u8>> = pairs.iter().map(|(v, _)| v.clone()).collect();
        let replacements = pairs.into_iter().map(|(_, r)| r).collect();
        Some(Redactor {
            finder,
            replacements,
            sorted,
            longest,
        })
    }

    /// Whether some value starts with `tail`.
    fn could_start_a_value(&self, tail: &[u8]) -> bool {
        let at = self.sorted.partition_point(|v| v.as_slice() < tail);
        self.sorted.get(at).is_some_and(|v| v.starts_with(tail))
    }

    /// A stream state for one output stream.
    pub fn stream(&self) -> Stream<'_> {
        Stream {
            redactor: self,
            pending: Vec::new(),
        }
    }
}

/// The state of one stream: the held-back tail.
pub struct Stream<'a> {
    redactor: &'a Redactor,
    pending: Vec<u8>,
}

impl Stream<'_> {
    /// Filters `input` (what one read returned) and appends what may be written now
    /// to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut pending = std::mem::take(&mut self.pending);
        let buf: &[u8] = if pending.is_empty() {
            input
        } else {
            pending.extend_from_slice(input);
            &pending
        };
        let r = self.redactor;
        let mut last = 0;
        let hold = loop {
            // From `hold` on, the bytes could be the start of a value that more output
            // would complete (or lengthen): they wait. A match starting before it is
            // final, since no value starts with the bytes from there to the end.
            let hold = self.hold_start(buf, last);
            let mut crossed = false;
            let base = last;
            for m in r.finder.find_iter(&buf[base..]) {
                let (start, end) = (base + m.start(), base + m.end());
                if start >= hold {
                    break;
                }
                out.extend_from_slice(&buf[last..start]);
                out.extend_from_slice(&r.replacements[m.pattern().as_usize()]);
                last = end;
                if last > hold {
                    crossed = true;
                    break;
                }
            }
            if !crossed {
                break hold;
            }
        };
        out.extend_from_slice(&buf[last..hold.max(last)]);
        self.pending = buf[hold.max(last)..].to_vec();
        zero(&mut pending);
    }

    /// The first index at or after `from`, within the last `longest - 1` bytes, whose
    /// suffix some value starts with; the end of `buf` when there is none.
    fn hold_start(&self, buf: &[u8], from: usize) -> usize {
        let r = self.redactor;
        let lowest = from.max(buf.len().saturating_sub(r.longest.saturating_sub(1)));
        (lowest..buf.len())
            .find(|&i| r.could_start_a_value(&buf[i..]))
            .unwrap_or(buf.len())
    }

    /// The stream ended: what was held back can no longer grow; replace what it holds.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let r = self.redactor;
        let mut last = 0;
        for m in r.finder.find_iter(&self.pending) {
            out.extend_from_slice(&self.pending[last..m.start()]);
            out.extend_from_slice(&r.replacements[m.pattern().as_usize()]);
            last = m.end();
        }
        out.extend_from_slice(&self.pending[last..]);
        zero(&mut self.pending);
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        zero(&mut self.pending);
    }
}

fn zero(buf: &mut Vec<u8>) {
    zeroize::Zeroize::zeroize(buf);
    buf.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Origin, SecretValue};

    fn redactor(pairs: &[(&str, &str)]) -> Redactor {
        let mut set = SecretSet::new();
        for (name, value) in pairs {
            set.insert(
                name.to_string(),
                SecretValue::new(value.to_string()),
                Origin::Parent,
            );
        }
        Redactor::new(&set).unwrap()
    }

    fn run(r: &Redactor, chunks: &[&[u8]]) -> Vec<u8> {
        let mut stream = r.stream();
        let mut out = Vec::new();
        for chunk in chunks {
            stream.feed(chunk, &mut out);
        }
        stream.finish(&mut out);
        out
    }

    #[test]
    fn replaces_values_with_their_names() {
        let r = redactor(&[
            ("KEY", "sk_live_CANARY1234"),
            ("PW", "hunter22"),
            ("ON", "1"),
        ]);
        assert_eq!(
            run(&r, &[b"key=sk_live_CANARY1234 pw=hunter22 on=1\n"]),
            b"key=[KEY] pw=[PW] on=1\n"
        );
    }

    #[test]
    fn values_split_across_reads_are_caught() {
        let r = redactor(&[("KEY", "sk_live_CANARY1234")]);
        let text = b"a sk_live_CANARY1234 b\n";
        for cut in 0..text.len() {
            for cut2 in cut..text.len() {
                let out = run(&r, &[&text[..cut], &text[cut..cut2], &text[cut2..]]);
                assert_eq!(out, b"a [KEY] b\n", "cuts at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn a_line_is_passed_on_at_once() {
        let r = redactor(&[("KEY", "sk_live_CANARY1234")]);
        let mut stream = r.stream();
        let mut out = Vec::new();
        stream.feed(b"ready\n", &mut out);
        assert_eq!(out, b"ready\n");
        // Only a tail that could start the value waits.
        out.clear();
        stream.feed(b"key: sk_li", &mut out);
        assert_eq!(out, b"key: ");
        stream.feed(b"ve_CANARY1234\n", &mut out);
        assert_eq!(out, b"key: [KEY]\n");
    }

    #[test]
    fn multi_line_values_and_binary_output() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIBCANARY\n-----END PRIVATE KEY-----";
        let r = redactor(&[("PEM", pem)]);
        let mut input = b"\xff\xfe\x00binary ".to_vec();
        input.extend_from_slice(pem.as_bytes());
        input.extend_from_slice(b" \x80\n");
        assert_eq!(
            run(&r, &[&input[..20], &input[20..]]),
            b"\xff\xfe\x00binary [PEM] \x80\n"
        );
    }

    #[test]
    fn the_longest_value_wins_where_values_overlap() {
        let r = redactor(&[("SHORT", "abcd"), ("LONG", "abcdefgh")]);
        assert_eq!(
            run(&r, &[b"abcdefgh abcd abcdef"]),
            b"[LONG] [SHORT] [SHORT]ef"
        );
        // The short value is complete at the end of a read, yet the long one may follow.
        let text = b"x abcdefgh y abcd z";
        for cut in 0..text.len() {
            assert_eq!(
                run(&r, &[&text[..cut], &text[cut..]]),
                b"x [LONG] y [SHORT] z",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn any_chunking_gives_the_same_output() {
        let r = redactor(&[
            ("A", "abab"),
            ("B", "ababab"),
            ("C", "bcbcb"),
            ("D", "aaaa\nbb"),
        ]);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for _ in 0..3000 {
            let text: Vec<u8> = (0..next() % 40).map(|_| b"abc\n"[next() % 4]).collect();
            let whole = run(&r, &[&text]);
            let mut chunks = Vec::new();
            let mut at = 0;
            while at < text.len() {
                let len = 1 + next() % 5;
                chunks.push(&text[at..(at + len).min(text.len())]);
                at += len;
            }
            assert_eq!(
                run(&r, &chunks),
                whole,
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            assert!(!String::from_utf8_lossy(&whole).contains("abab"));
        }
    }
}
