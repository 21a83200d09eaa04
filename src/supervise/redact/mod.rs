//! Streaming redaction of secret values in a child's output, for `--redact`.
//!
//! Every byte that belongs to an occurrence of a value of at least [`MIN_LEN`]
//! bytes is masked, also where occurrences of two values overlap (`AAAABBBB` and
//! `BBBBCCCC` in `AAAABBBBCCCC`): each run of overlapping occurrences becomes the
//! names that cover it, `[OV1][OV2]`. A multi-line value is also found with its line
//! ends written the other way (`\n` or `\r\n`), as a program or a terminal may
//! write them. The filter works on bytes (non-UTF-8 output passes unharmed) and is
//! fed whatever each read returns. A value split across two reads is still caught:
//! the filter holds back only what could still grow into, or be joined by, a value
//! (a tail that is a prefix of some value, and a run of occurrences that such a tail
//! overlaps) and passes everything else on at once, so a line appears as soon as the
//! child writes it.

mod tty;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::secret::SecretSet;

/// Shorter values are not redacted: replacing every `1` or `on` would garble the
/// output and protect nothing.
pub const MIN_LEN: usize = 4;

/// A run of overlapping occurrences held back longer than this is written out
/// masked so far, and what follows of it is masked without a second name: output
/// made of one value over and over must not grow the filter's memory without end.
const MAX_HOLD: usize = 64 * 1024;

/// The values to find and what to write instead.
pub struct Redactor {
    /// Leftmost-longest, with the prefilter that makes a scan of clean output fast.
    scanner: AhoCorasick,
    /// Every occurrence, overlapping ones too; run only near what `scanner` found.
    finder: AhoCorasick,
    /// For each pattern of the finder, the index of its replacement.
    label_of: Vec<usize>,
    /// For each pattern: no proper suffix of it starts a pattern, so no occurrence
    /// overlaps one of it without lying inside it, and the scanner's match of it is
    /// all there is to know (the overlapping search is skipped there).
    alone: Vec<bool>,
    replacements: Vec<Vec<u8>>,
    /// The patterns, sorted, to tell whether a tail may be the start of one.
    sorted: Vec<Vec<u8>>,
    longest: usize,
}

/// A value in the forms it may be written in: as it is; for a multi-line value with
/// `\n` and with `\r\n` line ends; each of those escaped as in a JSON string, the
/// way a structured logger writes it (`-----BEGIN…\\nMII…`); and each of those as a
/// terminal's output processing may rewrite it ([`tty::forms`]).
fn forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut written = line_end_forms(value);
    let escaped: Vec<Vec<u8>> = written.iter().map(|f| json_escaped(f)).collect();
    written.extend(escaped);
    let mut forms: Vec<Vec<u8>> = written.iter().flat_map(|f| tty::forms(f)).collect();
    for form in &mut written {
        zeroize::Zeroize::zeroize(form);
    }
    forms.sort();
    forms.dedup_by(zero_duplicate);
    forms
}

/// The most bytes the forms of all values may take: far more than any launch's
/// values need (a 4 KiB PEM with `\r\n` line ends has about 20 forms), and a bound
/// on what a file of values can make the filter hold.
const MAX_FORM_BYTES: usize = 64 << 20;

/// The forms of the values take more than [`MAX_FORM_BYTES`]: masking them under
/// every terminal mode is refused rather than done in part.
#[derive(Debug)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the values to redact are too large to mask in every form a terminal may \
             write them ({} MiB of forms at most)",
            MAX_FORM_BYTES >> 20
        )
    }
}

impl std::error::Error for TooLarge {}

/// For `dedup_by`: whether `dropped` repeats `kept`, zeroing it first if so.
fn zero_duplicate(dropped: &mut Vec<u8>, kept: &mut Vec<u8>) -> bool {
    let same = dropped == kept;
    if same {
        zeroize::Zeroize::zeroize(dropped);
    }
    same
}

/// `value` as it would stand inside a JSON string.
fn json_escaped(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    out
}

/// A value as it is and, when multi-line, with `\n` and with `\r\n` line ends.
fn line_end_forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![value.to_vec()];
    if value.contains(&b'\n') {
        let mut lf = Vec::with_capacity(value.len());
        let mut i = 0;
        while i < value.len() {
            if value[i..].starts_with(b"\r\n") {
                i += 1;
                continue;
            }
            lf.push(value[i]);
            i += 1;
        }
        let mut crlf = Vec::with_capacity(lf.len() * 2);
        for &b in &lf {
            if b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        forms.push(lf);
        forms.push(crlf);
    }
    forms
}

impl Redactor {
    /// A redactor for every secret of at least [`MIN_LEN`] bytes; `None` when there
    /// is none.
    pub fn new(secrets: &SecretSet) -> Result<Option<Redactor>, TooLarge> {
        let mut replacements = Vec::new();
        // (pattern, replacement index)
        let mut pairs: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut held = 0;
        for (name, s) in secrets.iter() {
            if s.value.len() < MIN_LEN {
                continue;
            }
            let label = replacements.len();
            replacements.push(format!("[{name}]").into_bytes());
            for form in forms(s.value.expose().as_bytes()) {
                held += form.len();
                if form.len() >= MIN_LEN {
                    pairs.push((form, label));
                }
            }
            if held > MAX_FORM_BYTES {
                for (pattern, _) in &mut pairs {
                    zeroize::Zeroize::zeroize(pattern);
                }
                return Err(TooLarge);
            }
        }
        if pairs.is_empty() {
            return Ok(None);
        }
        // The same value under two names is found once.
        pairs.sort();
        pairs.dedup_by(|a, b| zero_duplicate(&mut a.0, &mut b.0));
        let build = |kind| {
            AhoCorasick::builder()
                .match_kind(kind)
                .build(pairs.iter().map(|(value, _)| value))
                .expect("plain literal patterns always build")
        };
        let (scanner, finder) = (
            build(MatchKind::LeftmostLongest),
            build(MatchKind::Standard),
        );
        let longest = pairs.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
        let label_of = pairs.iter().map(|(_, l)| *l).collect();
        let sorted: Vec<Vec<u8>> = pairs.into_iter().map(|(v, _)| v).collect();
        let alone = sorted
            .iter()
            .map(|p| !(1..p.len()).any(|i| starts_some(&sorted, &p[i..])))
            .collect();
        Ok(Some(Redactor {
            scanner,
            finder,
            label_of,
            alone,
            replacements,
            sorted,
            longest,
        }))
    }

    /// Every occurrence in `buf` that can change what is written: overlapping ones
    /// included, those inside another left out where that is cheaper. A
    /// leftmost-longest scan (fast) finds where they are: each occurrence starts
    /// inside a match it finds (otherwise the scan would have found that
    /// occurrence, or one starting before it), so the overlapping search runs only
    /// from each such match's start to `longest - 1` bytes past its end; and not at
    /// all for a match of a pattern that is [`Redactor::alone`], outside the
    /// others' windows.
    fn occurrences(&self, buf: &[u8]) -> Vec<Occurrence> {
        let mut windows: Vec<(usize, usize)> = Vec::new();
        let mut found = Vec::new();
        for m in self.scanner.find_iter(buf) {
            let end = (m.end() + self.longest - 1).min(buf.len());
            let pattern = m.pattern().as_usize();
            match windows.last_mut() {
                Some(last) if m.start() <= last.1 => last.1 = last.1.max(end),
                _ if self.alone[pattern] => {
                    found.push((m.start(), m.end(), Some(self.label_of[pattern])));
                }
                _ => windows.push((m.start(), end)),
            }
        }
        for (from, to) in windows {
            found.extend(self.finder.find_overlapping_iter(&buf[from..to]).map(|m| {
                let label = Some(self.label_of[m.pattern().as_usize()]);
                (from + m.start(), from + m.end(), label)
            }));
        }
        found
    }

    /// Whether some value starts with `tail`.
    fn could_start_a_value(&self, tail: &[u8]) -> bool {
        starts_some(&self.sorted, tail)
    }

    /// A stream state for one output stream.
    pub fn stream(&self) -> Stream<'_> {
        Stream {
            redactor: self,
            pending: Vec::new(),
            forced: 0,
        }
    }
}

/// One occurrence: where, and the replacement to name it by (`None`: the rest of an
/// occurrence whose name was already written).
type Occurrence = (usize, usize, Option<usize>);

/// The state of one stream: the held-back bytes.
pub struct Stream<'a> {
    redactor: &'a Redactor,
    pending: Vec<u8>,
    /// The first `forced` bytes of `pending` belong to an occurrence already named.
    forced: usize,
}

impl Stream<'_> {
    /// Filters `input` (what one read returned) and appends what may be written now
    /// to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.pending.capacity() - self.pending.len() < input.len() {
            // Grow by hand so that the old buffer is zeroed, not just freed.
            let mut grown = Vec::with_capacity((self.pending.len() + input.len()).max(4096) * 2);
            grown.extend_from_slice(&self.pending);
            zero(&mut self.pending);
            self.pending = grown;
        }
        self.pending.extend_from_slice(input);
        let hold = self.hold_start();
        self.emit(hold, out);
    }

    /// The first index, within the last `longest - 1` bytes, whose suffix some value
    /// starts with; the end of the buffer when there is none.
    fn hold_start(&self) -> usize {
        let r = self.redactor;
        let buf = &self.pending;
        let lowest = buf.len().saturating_sub(r.longest.saturating_sub(1));
        (lowest..buf.len())
            .find(|&i| r.could_start_a_value(&buf[i..]))
            .unwrap_or(buf.len())
    }

    /// Writes out what is final before `hold`, masked, and keeps the rest.
    fn emit(&mut self, hold: usize, out: &mut Vec<u8>) {
        let r = self.redactor;
        let buf = &self.pending;
        let mut occurrences = r.occurrences(buf);
        if self.forced > 0 {
            occurrences.push((0, self.forced, None));
        }
        occurrences.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let runs = merge(&occurrences);
        // A run that reaches past `hold` may still be joined by what comes next: it
        // waits, unless it has waited too long.
        let mut cut = hold;
        if let Some(&(start, _, _)) = runs.iter().find(|&&(s, e, _)| s < hold && e > hold)
            && hold - start <= MAX_HOLD
        {
            cut = start;
        }
        let mut last = 0;
        for &(start, end, first) in &runs {
            if start >= cut {
                break;
            }
            out.extend_from_slice(&buf[last..start]);
            cover(r, &occurrences[first..], start, end, out);
            last = end;
        }
        out.extend_from_slice(&buf[last.min(cut)..cut]);
        self.forced = last.saturating_sub(cut);
        let len = self.pending.len();
        self.pending.copy_within(cut.., 0);
        zeroize::Zeroize::zeroize(&mut self.pending[len - cut..]);
        self.pending.truncate(len - cut);
    }

    /// The stream ended: what was held back can no longer grow; replace what it holds.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let end = self.pending.len();
        self.emit(end, out);
        zero(&mut self.pending);
    }
}

/// Whether some pattern of `sorted` (sorted) starts with `tail`.
fn starts_some(sorted: &[Vec<u8>], tail: &[u8]) -> bool {
    let at = sorted.partition_point(|v| v.as_slice() < tail);
    sorted.get(at).is_some_and(|v| v.starts_with(tail))
}

/// Runs of overlapping occurrences (sorted by start): (start, end, index of the
/// run's first occurrence).
fn merge(occurrences: &[Occurrence]) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (i, &(start, end, _)) in occurrences.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if start < run.1 => run.1 = run.1.max(end),
            _ => runs.push((start, end, i)),
        }
    }
    runs
}

/// Writes the names that cover `start..end`: from each point, the occurrence that
/// started there or before and reaches furthest.
fn cover(r: &Redactor, occurrences: &[Occurrence], start: usize, end: usize, out: &mut Vec<u8>) {
    let mut pos = start;
    let mut i = 0;
    let mut best: Option<(usize, Option<usize>)> = None;
    while pos < end {
        while i < occurrences.len() && occurrences[i].0 <= pos {
            let (_, e, label) = occurrences[i];
            if best.is_none_or(|(b, _)| e > b) {
                best = Some((e, label));
            }
            i += 1;
        }
        let Some((reach, label)) = best.filter(|&(reach, _)| reach > pos) else {
            break;
        };
        if let Some(label) = label {
            out.extend_from_slice(&r.replacements[label]);
        }
        pos = reach;
    }
}

impl Drop for Redactor {
    fn drop(&mut self) {
        for pattern in &mut self.sorted {
            zeroize::Zeroize::zeroize(pattern);
        }
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
mod tests;
