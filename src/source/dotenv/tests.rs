//! The dotenv parser's tests: the formats, expansion, errors that echo nothing,
//! deterministic fuzzing, and no copy of a value left in freed memory.

use super::*;

fn parse_ok(text: &str) -> Vec<(String, String)> {
    parse(text, &|_| None)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value.expose().to_owned()))
        .collect()
}

fn one(text: &str) -> String {
    let mut all = parse_ok(text);
    assert_eq!(all.len(), 1, "expected one entry");
    all.pop().unwrap().1
}

fn err(text: &str) -> ParseError {
    match parse(text, &|_| None) {
        Ok(_) => panic!("expected a parse error"),
        Err(e) => e,
    }
}

#[test]
fn plain_and_export() {
    assert_eq!(
        parse_ok("A=1\nexport B=two\n  C = three  \nexport=4\n"),
        [("A", "1"), ("B", "two"), ("C", "three"), ("export", "4")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[test]
fn comments() {
    assert_eq!(one("# c\n\n   # indented\nA=x#y # comment\n"), "x#y");
    assert_eq!(one("A='q' # c"), "q");
    assert_eq!(one("A=\"q\"\t# c"), "q");
    assert_eq!(one("A=#notacomment"), "#notacomment");
    // A value that is only a comment is empty (python-dotenv 1.2.4 reads it so).
    assert_eq!(one("A= # note"), "");
    assert_eq!(one("A=\t# note"), "");
    // A `$` before anything but a name or an opening brace is literal.
    assert_eq!(one("A=cost$"), "cost$");
    assert_eq!(one("A=$5 and $-"), "$5 and $-");
}

#[test]
fn single_quotes_are_literal() {
    assert_eq!(one("A='pa$$word \\n ${X}'"), "pa$$word \\n ${X}");
}

#[test]
fn double_quote_escapes() {
    assert_eq!(one(r#"A="a\nb\"c\\d\te\$f\q""#), "a\nb\"c\\d\te$f\\q");
}

#[test]
fn multi_line_pem() {
    let text = "KEY=\"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\"\nB=2\n";
    let all = parse(text, &|_| None).unwrap();
    assert_eq!(
        all[0].value.expose(),
        "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
    );
    assert_eq!((all[1].name.as_str(), all[1].line), ("B", 4));
    assert_eq!(one("K='l1\r\nl2'\r\n"), "l1\nl2");
}

#[test]
fn empty_values() {
    assert_eq!(
        parse_ok("A=\nB=''\nC=\"\"\nD= # c\n")
            .iter()
            .map(|e| e.1.as_str())
            .collect::<Vec<_>>(),
        ["", "", "", ""]
    );
}

#[test]
fn crlf_and_bom() {
    assert_eq!(
        parse_ok("\u{feff}A=1\r\nB=\"x\"\r\n"),
        [("A", "1"), ("B", "x")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[test]
fn expansion_from_earlier_lines_and_sources() {
    let earlier = |name: &str| (name == "HOST").then_some(("db", false));
    let all = parse(
        "U=me\nURL=\"pg://$U@${HOST}:${PORT:-5432}\"\nX=$U-$\nY=$5",
        &earlier,
    )
    .unwrap();
    assert_eq!(all[1].value.expose(), "pg://me@db:5432");
    assert_eq!(all[2].value.expose(), "me-$");
    assert_eq!(all[3].value.expose(), "$5");
}

#[test]
fn undefined_reference_is_an_error_and_never_reads_the_environment() {
    // PATH is set in every test process; it must not be used.
    let e = err("A=${PATH}");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("`A`"));
    let e = err("A=x\nB=pa$$word");
    assert_eq!(e.line, 2);
    assert!(!e.message.contains("word"));
}

#[test]
fn malformed_lines_never_echo_their_text() {
    for (text, line) in [
        ("A=1\nsk_live_CANARYpasted\n", 2),
        ("BAD KEY=CANARY", 1),
        ("1X=CANARY", 1),
        ("A-B=CANARY", 1),
        ("A=\"CANARY", 1),
        ("A='CANARY\n\n", 1),
        ("A=\"CANARY\" trailing", 1),
        // An unclosed brace after `$` (escaped for tools that count braces).
        ("A=$\u{7b}CANARY", 1),
    ] {
        let e = err(text);
        assert_eq!(e.line, line, "line for case {line}");
        assert!(!e.to_string().contains("CANARY"), "leaked in a parse error");
    }
}

#[test]
fn nul_in_value_is_an_error() {
    assert!(err("A=\"a\0b\"").message.contains("NUL"));
}

#[test]
fn later_line_wins_in_expansion() {
    assert_eq!(parse_ok("A=1\nA=2\nB=$A")[2].1, "2");
}

#[test]
fn names() {
    assert!(is_valid_name("_A1"));
    assert!(!is_valid_name("1A"));
    assert!(!is_valid_name("A.B"));
    assert!(!is_valid_name(""));
}

/// A small deterministic generator, so the fuzz cases below need no extra crate
/// and a failure reproduces.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

// `-CANARY` can never be part of a name, which messages do show: only values.
const PIECES: &[&str] = &[
    "A", "B_1", "=", "'", "\"", "\\", "$", "${", "}", ":-", "#", " ", "\t", "\n", "\r\n", "\r",
    "export ", "-CANARY", "x", "\u{feff}", "é", "\0", "1",
];

#[test]
fn fuzz_never_panics_nor_echoes() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..50_000 {
        let len = rng.next() % 24;
        let text: String = (0..len)
            .map(|_| PIECES[rng.next() % PIECES.len()])
            .collect();
        match parse(&text, &|_| None) {
            Ok(entries) => {
                for entry in entries {
                    assert!(is_valid_name(&entry.name));
                    assert!(!entry.value.expose().contains('\0'));
                }
            }
            Err(e) => {
                assert!(e.line >= 1 && e.line <= line_ends(&text) + 1);
                assert!(!e.message.contains("CANARY"), "echoed input for {text:?}");
            }
        }
    }
}

#[test]
fn fuzz_quoting_round_trips() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let alphabet: Vec<char> = "aZ9 _=#'\"\\$\n\t{}é-".chars().collect();
    for _ in 0..20_000 {
        let len = rng.next() % 16;
        let value: String = (0..len)
            .map(|_| alphabet[rng.next() % alphabet.len()])
            .collect();
        let mut double = String::from("V=\"");
        for c in value.chars() {
            match c {
                '"' | '\\' | '$' => {
                    double.push('\\');
                    double.push(c);
                }
                '\n' => double.push_str("\\n"),
                '\t' => double.push_str("\\t"),
                c => double.push(c),
            }
        }
        double.push_str("\" # comment\n");
        assert_eq!(one(&double), value, "double-quoted {double:?}");
        if !value.contains('\'') {
            assert_eq!(one(&format!("V='{value}'\n")), value, "single-quoted");
        }
    }
}

#[test]
fn an_expansion_bomb_fails_at_once() {
    // `A` is 1000 bytes, each next line 100 copies of the one before.
    let mut text = format!("A={}\n", "x".repeat(1000));
    for (prev, name) in ["A", "B", "C", "D", "E", "F"]
        .iter()
        .zip(["B", "C", "D", "E", "F", "G"])
    {
        text.push_str(&format!(
            "{name}=\"{}\"\n",
            format!("${{{prev}}}").repeat(100)
        ));
    }
    let started = std::time::Instant::now();
    let e = err(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(e.line, 3, "{e}");
    assert!(
        e.message.contains("`C`") && e.message.contains("128 KiB"),
        "{e}"
    );
    // Under the per-value limit, but many of them: the total stops it.
    let mut text = format!("A={}\n", "x".repeat(100 * 1024));
    for i in 0..100 {
        text.push_str(&format!("B{i}=$A\n"));
    }
    let e = err(&text);
    assert!(e.message.contains("4 MiB"), "{e}");
    assert!(e.line < 50, "{e}");
}

#[test]
fn a_lone_carriage_return_ends_a_line() {
    assert_eq!(
        parse_ok("A=1\rB=2\r# c\rC='x\ry'\rD=\"p\rq\"\r"),
        [("A", "1"), ("B", "2"), ("C", "x\ny"), ("D", "p\nq")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let all = parse("A=1\rB=2\r\nC=3\nD=4", &|_| None).unwrap();
    assert_eq!(all.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn the_shell_forms_of_expansion() {
    let text = "S=set\nE=\nB=b\n\
        R1=${Z:-${B}}\nR2=${Z:-x${Z:-${B}}y}\nR3=${E:-d}\nR4=${E-d}\nR5=${S:+alt}\n\
        R6=${Z:+alt}\nR7=${E+alt}\nR8=${E:+alt}\nR9=${S:?must be set}\nR10=\"${Z-}\"\n";
    let all = parse_ok(text);
    let got: Vec<&str> = all[3..].iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(got, ["b", "xby", "d", "", "alt", "", "alt", "", "set", ""]);
    let e = err("E=\nA=${E:?CANARY message}");
    assert!(
        e.message.contains("`E`") && e.message.contains("non-empty"),
        "{e}"
    );
    assert!(!e.message.contains("CANARY"));
    let e = err("A=${Z?CANARY}");
    assert!(e.message.contains("requires `Z`"), "{e}");
    for unsupported in ["A=${Z/x/y}", "A=${#Z}", "A=${Z:1}", "A=${Z%x}"] {
        let e = err(unsupported);
        assert!(e.message.contains("does not support"), "{unsupported}: {e}");
    }
    let deep = format!("A={}x{}", "${Z:-".repeat(40), "}".repeat(40));
    assert!(err(&deep).message.contains("deep"));
    // The bound is 16 levels: 16 expand, 17 are refused.
    let nested = |levels: usize| format!("A={}x{}", "${Z:-".repeat(levels), "}".repeat(levels));
    assert_eq!(one(&nested(16)), "x");
    assert!(err(&nested(17)).message.contains("deep"));
}

#[test]
fn single_quoted_references_are_literal() {
    let all = parse(
        "A='vault://secret/x#k'\nB=vault://secret/y\nC=\"aws-sm://z\"",
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        all.iter().map(|e| e.is_fetched()).collect::<Vec<_>>(),
        [false, true, true]
    );
    // A literal that looks like a reference expands as it is; a fetched one is
    // composed after the fetch (a mark stands in its place), and so is what expands
    // the composed one; an operator on a fetched value is refused.
    assert_eq!(parse_ok("A='vault://x'\nB=$A")[1].1, "vault://x");
    let all = parse("A=vault://x\nB=pre-${A}-post\nC=$B", &|_| None).unwrap();
    assert_eq!(
        all.iter()
            .map(|e| (e.composed, e.is_fetched()))
            .collect::<Vec<_>>(),
        [(false, true), (true, true), (true, true)]
    );
    let fetched = |name: &str| (name == "A").then_some("secret-value");
    let b = compose(&all[1], &fetched, &mut 0).unwrap();
    assert_eq!(b.expose(), "pre-secret-value-post");
    assert!(
        err("A=vault://x\nB=${A:-d}")
            .message
            .contains("composes as `${A}` alone")
    );
    // A NUL in the text is refused, so that no line can forge the mark.
    assert_eq!(err("A=1\nB=x\0y").line, 2);
    let missing = compose(&all[1], &|_| None, &mut 0).unwrap_err();
    assert!(
        missing.message.contains("which its source did not return"),
        "{missing}"
    );
    let mut spent = MAX_EXPANDED_TOTAL;
    assert!(
        compose(&all[1], &fetched, &mut spent).is_err(),
        "the launch's budget"
    );
}

#[test]
fn an_unterminated_single_quote_names_the_variable() {
    let e = err("KEY='CANARY");
    assert!(e.message.contains("`KEY`"), "{e}");
    assert!(!e.message.contains("CANARY"));
}

#[test]
fn parsing_leaves_no_copy_of_a_value_in_freed_memory() {
    use crate::freed::{MARK, count};
    let found = count(|| {
        // Built in one buffer of its final size, so the test frees no copy itself.
        let mut text = zeroize::Zeroizing::new(String::with_capacity(4096));
        for piece in [
            "A=",
            MARK,
            "\nB=\"x${A}y${A}z\\n",
            MARK,
            "\"\nC='",
            MARK,
            "\n",
            MARK,
            "'\nD=${Z:-$A}\n",
        ] {
            text.push_str(piece);
        }
        let entries = parse(&text, &|_| None).unwrap();
        assert_eq!(entries.len(), 4);
        drop(entries);
    });
    assert_eq!(found, 0, "the parser freed a buffer holding a value");
}
