//! The redactor's tests: replacement, split reads, overlaps, line-end and JSON
//! forms, bounded memory, and no copy of a value left in freed memory.

use super::*;

fn redactor(pairs: &[(&str, &str)]) -> Redactor {
    Redactor::new(&SecretSet::of(pairs)).unwrap().unwrap()
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

/// A small deterministic generator for the randomised tests.
fn xorshift(mut seed: u64) -> impl FnMut() -> usize {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    }
}

/// The values named `V0`, `V1`, …
fn named(values: &[String]) -> Vec<(String, &str)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("V{i}"), v.as_str()))
        .collect()
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
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
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

#[test]
fn overlapping_values_are_masked_whole() {
    let r = redactor(&[("OV1", "AAAABBBB"), ("OV2", "BBBBCCCC")]);
    let text = b"x AAAABBBBCCCC y";
    for cut in 0..text.len() {
        assert_eq!(
            run(&r, &[&text[..cut], &text[cut..]]),
            b"x [OV1][OV2] y",
            "cut at {cut}"
        );
    }
}

#[test]
fn multi_line_values_in_either_line_end_form() {
    let r = redactor(&[("PEM", "l1-CANARY\nl2-CANARY\nl3")]);
    assert_eq!(
        run(&r, &[b"a l1-CANARY\r\nl2-CANARY\r\nl3 b"]),
        b"a [PEM] b"
    );
    assert_eq!(run(&r, &[b"a l1-CANARY\nl2-CANARY\nl3 b"]), b"a [PEM] b");
    let r = redactor(&[("WIN", "l1-CANARY\r\nl2")]);
    assert_eq!(run(&r, &[b"a l1-CANARY\nl2 b"]), b"a [WIN] b");
}

#[test]
fn values_escaped_as_in_json_are_masked() {
    let r = redactor(&[
        ("PEM", "l1-CANARY\nl2 \"q\" \\ end"),
        ("KEY", "sk_live_CANARY"),
    ]);
    assert_eq!(
        run(
            &r,
            &[br#"{"pem":"l1-CANARY\nl2 \"q\" \\ end","key":"sk_live_CANARY"}"#]
        ),
        br#"{"pem":"[PEM]","key":"[KEY]"}"#
    );
    assert_eq!(
        run(&r, &[br#"{"pem":"l1-CANARY\r\nl2 \"q\" \\ end"}"#]),
        br#"{"pem":"[PEM]"}"#
    );
}

#[test]
fn a_long_run_of_one_value_is_masked_with_bounded_memory() {
    let r = redactor(&[("A", "aaaa")]);
    let text = vec![b'a'; 3 * MAX_HOLD];
    let mut stream = r.stream();
    let mut out = Vec::new();
    for chunk in text.chunks(1000) {
        stream.feed(chunk, &mut out);
        assert!(stream.pending.len() <= MAX_HOLD + 1000);
    }
    stream.finish(&mut out);
    assert!(!out.contains(&b'a'), "a byte of the value passed");
    assert!(out.starts_with(b"[A]"));
}

/// Every byte inside any occurrence of any value is masked, whatever the values
/// overlap with and however the output is cut into reads: the output with the
/// names taken out is the input with every covered byte taken out.
#[test]
fn every_covered_byte_is_masked_under_any_chunking() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..2000 {
        let values: Vec<String> = (0..1 + next() % 3)
            .map(|_| {
                (0..4 + next() % 3)
                    .map(|_| ['a', 'b'][next() % 2])
                    .collect()
            })
            .collect();
        let names = named(&values);
        let pairs: Vec<(&str, &str)> = names.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let r = redactor(&pairs);
        let text: Vec<u8> = (0..next() % 40).map(|_| b"abc"[next() % 3]).collect();
        let mut covered = vec![false; text.len()];
        for v in &values {
            let v = v.as_bytes();
            for at in 0..text.len().saturating_sub(v.len() - 1) {
                if text[at..].starts_with(v) {
                    covered[at..at + v.len()].iter_mut().for_each(|c| *c = true);
                }
            }
        }
        let expected: Vec<u8> = text
            .iter()
            .zip(&covered)
            .filter(|(_, c)| !**c)
            .map(|(b, _)| *b)
            .collect();
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let len = 1 + next() % 6;
            chunks.push(&text[at..(at + len).min(text.len())]);
            at += len;
        }
        let whole = run(&r, &[&text]);
        assert_eq!(run(&r, &chunks), whole, "chunking changed the output");
        let shown = String::from_utf8(whole).unwrap();
        let mut stripped = shown.clone();
        for (name, _) in &pairs {
            stripped = stripped.replace(&format!("[{name}]"), "");
        }
        assert_eq!(
            stripped.as_bytes(),
            expected,
            "values {values:?}, text {:?} gave {shown:?}",
            String::from_utf8_lossy(&text)
        );
    }
}

/// Skipping the overlapping search at a match of a pattern that is `alone` changes
/// nothing: the output, names included, is that of a search everywhere, over
/// values that often are alone and sometimes overlap.
#[test]
fn matches_of_values_alone_are_named_as_by_the_whole_search() {
    let mut next = xorshift(0x1f83_d9ab_fb41_bd6b);
    let (mut skipped, mut searched) = (0, 0);
    for _ in 0..1500 {
        let values: Vec<String> = (0..1 + next() % 4)
            .map(|_| {
                (0..4 + next() % 4)
                    .map(|_| b"abcd"[next() % 4] as char)
                    .collect()
            })
            .collect();
        let names = named(&values);
        let pairs: Vec<(&str, &str)> = names.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let fast = redactor(&pairs);
        let mut everywhere = redactor(&pairs);
        everywhere.alone.fill(false);
        skipped += fast.alone.iter().filter(|a| **a).count();
        searched += fast.alone.iter().filter(|a| !**a).count();
        let mut text: Vec<u8> = Vec::new();
        for _ in 0..next() % 8 {
            match next() % 3 {
                0 => text.extend_from_slice(values[next() % values.len()].as_bytes()),
                1 => text.extend((0..next() % 4).map(|_| b"abcdx"[next() % 5])),
                _ => {
                    let v = values[next() % values.len()].as_bytes();
                    text.extend_from_slice(&v[next() % v.len()..]);
                }
            }
        }
        let cut = next() % (text.len() + 1);
        assert_eq!(
            run(&fast, &[&text[..cut], &text[cut..]]),
            run(&everywhere, &[&text]),
            "values {values:?}, text {:?}",
            String::from_utf8_lossy(&text)
        );
    }
    assert!(skipped > 500 && searched > 500, "{skipped} {searched}");
}

#[test]
fn filtering_leaves_no_copy_of_the_output_in_freed_memory() {
    use crate::freed::{MARK, count};
    let found = count(|| {
        let r = redactor(&[("M", MARK)]);
        let mut stream = r.stream();
        let mut out = Vec::new();
        // Many small reads that each hold back a prefix of the value.
        for _ in 0..200 {
            stream.feed(&MARK.as_bytes()[..5], &mut out);
            stream.feed(&MARK.as_bytes()[5..], &mut out);
        }
        stream.finish(&mut out);
        drop(stream);
        assert!(!out.windows(MARK.len()).any(|w| w == MARK.as_bytes()));
    });
    // Aho-Corasick's automaton keeps its own copies of the values and does not
    // zero them (docs/security.md says so): that is the baseline, and the redactor and
    // its streams add no freed copy of their own to it.
    // The patterns the redactor builds from, made outside the count.
    let mut patterns = super::forms(MARK.as_bytes());
    let automaton = count(|| {
        for kind in [MatchKind::LeftmostLongest, MatchKind::Standard] {
            drop(
                AhoCorasick::builder()
                    .match_kind(kind)
                    .build(&patterns)
                    .unwrap(),
            );
        }
    });
    for pattern in &mut patterns {
        zeroize::Zeroize::zeroize(pattern);
    }
    let redactor_alone = count(|| drop(redactor(&[("M", MARK)])));
    assert_eq!(
        redactor_alone, automaton,
        "the redactor freed a copy of a value"
    );
    assert_eq!(found, automaton, "the stream freed a buffer holding output");
}
