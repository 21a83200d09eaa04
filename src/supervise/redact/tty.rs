//! What a terminal's output processing makes of the bytes a command writes, so that
//! a value is masked whatever output modes the command sets on its terminal.
//!
//! secretrun gives the command a pty with output processing off, but the command
//! owns its terminal and may turn it on again (`stty sane` does): then Linux's line
//! discipline rewrites bytes before the filter reads them, `\n` as `\r\n`, `\r` as
//! `\n`, a tab as spaces, lower case as upper case, and a value no longer appears as
//! written. This models the line discipline's output processing (`do_output_char` in
//! `drivers/tty/n_tty.c`) byte for byte, for each combination of the modes that can
//! change the value, and gives every distinct result.

/// The output modes that change bytes (OPOST on), and IUTF8, which changes how the
/// column is counted and so how a tab expands.
#[derive(Clone, Copy, Default)]
struct Modes {
    onlcr: bool,
    ocrnl: bool,
    onocr: bool,
    onlret: bool,
    xtabs: bool,
    olcuc: bool,
    iutf8: bool,
}

/// The kernel's `iscntrl`: its ctype table counts 128-159 as control characters too.
fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f || (0x80..0xa0).contains(&c)
}

/// The kernel's `toupper` on its Latin-1 ctype table: a, ß, à-ö, ø-ÿ are lower case.
fn to_upper(c: u8) -> u8 {
    let lower = c.is_ascii_lowercase() || c == 0xdf || (0xe0..=0xff).contains(&c) && c != 0xf7;
    if lower { c - 0x20 } else { c }
}

/// `value` as the line discipline writes it under `m`, from `column` on.
fn processed(value: &[u8], m: Modes, mut column: usize) -> Vec<u8> {
    // Room for the longest result (a `\r` before each `\n`, a tab as 8 spaces), so
    // that the buffer never grows and leaves a copy of the value behind.
    let count = |b: u8| value.iter().filter(|&&c| c == b).count();
    let mut out = Vec::with_capacity(value.len() + count(b'\n') + 7 * count(b'\t'));
    for &c in value {
        match c {
            b'\n' => {
                if m.onlret {
                    column = 0;
                }
                if m.onlcr {
                    column = 0;
                    out.extend_from_slice(b"\r\n");
                } else {
                    out.push(b'\n');
                }
            }
            b'\r' => {
                if m.onocr && column == 0 {
                    continue;
                }
                if m.ocrnl {
                    if m.onlret {
                        column = 0;
                    }
                    out.push(b'\n');
                } else {
                    column = 0;
                    out.push(b'\r');
                }
            }
            b'\t' => {
                let spaces = 8 - (column & 7);
                column += spaces;
                if m.xtabs {
                    out.extend(std::iter::repeat_n(b' ', spaces));
                } else {
                    out.push(b'\t');
                }
            }
            0x08 => {
                column = column.saturating_sub(1);
                out.push(c);
            }
            c if is_cntrl(c) => out.push(c),
            c => {
                let c = if m.olcuc { to_upper(c) } else { c };
                if !(m.iutf8 && c & 0xc0 == 0x80) {
                    column += 1;
                }
                out.push(c);
            }
        }
    }
    out
}

/// Every distinct form `value` takes through a terminal's output processing, the
/// value itself included (processing off). Only the modes that can change this
/// value are combined, and the column it starts at only where a tab or a carriage
/// return at column 0 depends on it: a value without `\n`, `\r`, a tab or a lower
/// case letter has one form, one with lower case letters two.
pub fn forms(value: &[u8]) -> Vec<Vec<u8>> {
    let has = |b: u8| value.contains(&b);
    let (nl, cr, tab) = (has(b'\n'), has(b'\r'), has(b'\t'));
    let lower = value.iter().any(|&c| !is_cntrl(c) && to_upper(c) != c);
    let wide = !value.is_ascii();
    // Each mode that matters: it takes both values; one that does not stays off.
    let flags = [nl, cr, cr, cr || nl && tab, tab, lower, tab && wide];
    let starts: &[usize] = if tab || cr {
        &[0, 1, 2, 3, 4, 5, 6, 7, 8]
    } else {
        &[0]
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    for combination in 0u32..(1 << flags.len()) {
        let on = |i: usize| flags[i] && combination & (1 << i) != 0;
        // Each combination of the modes that matter is made once: one that turns on
        // a mode that does not matter repeats another.
        if (0..flags.len()).any(|i| !flags[i] && combination & (1 << i) != 0) {
            continue;
        }
        let modes = Modes {
            onlcr: on(0),
            ocrnl: on(1),
            onocr: on(2),
            onlret: on(3),
            xtabs: on(4),
            olcuc: on(5),
            iutf8: on(6),
        };
        for &start in starts {
            out.push(processed(value, modes, start));
        }
    }
    out.sort();
    out.dedup_by(super::zero_duplicate);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(value: &str) -> Vec<String> {
        forms(value.as_bytes())
            .into_iter()
            .map(|f| String::from_utf8_lossy(&f).into_owned())
            .collect()
    }

    #[test]
    fn plain_values_have_few_forms() {
        assert_eq!(all("ABC-123"), ["ABC-123"]);
        assert_eq!(all("sk_live_x1"), ["SK_LIVE_X1", "sk_live_x1"]);
    }

    #[test]
    fn what_stty_sane_and_its_neighbours_make_of_line_ends_and_tabs() {
        let crlf = all("K1\r\nK2");
        // onlcr (stty sane): the \n gains a \r; ocrnl: the \r becomes \n.
        for want in ["K1\r\nK2", "K1\r\r\nK2", "K1\n\nK2", "K1\n\r\nK2"] {
            assert!(crlf.contains(&want.to_owned()), "{want:?} not in {crlf:?}");
        }
        let tab = all("AB\tC");
        // tab3 (xtabs): spaces to the next multiple of 8, which depends on the column.
        for want in ["AB\tC", "AB      C", "AB C", "AB  C"] {
            assert!(tab.contains(&want.to_owned()), "{want:?} not in {tab:?}");
        }
    }

    #[test]
    fn olcuc_uppercases_as_the_kernel_does() {
        assert_eq!(to_upper(b'a'), b'A');
        assert_eq!(to_upper(0xe9), 0xc9);
        assert_eq!(to_upper(0xf7), 0xf7);
        assert_eq!(to_upper(0xdf), 0xbf);
        assert_eq!(to_upper(b'_'), b'_');
    }

    #[test]
    fn any_value_has_its_forms_without_a_panic() {
        let alphabet = ["\r", "\n", "\t", "a", "é", "\u{8}", "\u{85}", "ÿ", "x"];
        crate::props::run("tty forms", &alphabet, &["a\r\nb\tc", "sk_live_x"], |v| {
            let all = forms(v);
            assert!(all.iter().any(|f| f == v), "the value itself is a form");
        });
    }
}
