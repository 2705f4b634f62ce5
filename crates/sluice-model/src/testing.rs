//! Test helpers: a small seeded generator of values and of strings matching a pattern, to check
//! each parser against its schema at and beyond the bounds (a property test without a framework).

use regex_syntax::hir::{Class, Hir, HirKind};

/// xorshift64*: deterministic, so a failure names its seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub(crate) fn fill(&mut self, bytes: &mut [u8]) {
        for b in bytes {
            *b = self.next() as u8;
        }
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A string of characters of `alphabet`, its length in `len`.
    pub(crate) fn string_of(&mut self, alphabet: &str, len: std::ops::Range<usize>) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        let n = len.start + self.below((len.end - len.start) as u64) as usize;
        (0..n).map(|_| *self.pick(&chars)).collect()
    }

    /// A string matching `pattern` (repetitions without a bound stop at a few).
    pub(crate) fn matching(&mut self, pattern: &str) -> String {
        let hir = regex_syntax::parse(pattern).expect("valid pattern");
        let mut out = String::new();
        self.generate(&hir, &mut out);
        out
    }

    fn generate(&mut self, hir: &Hir, out: &mut String) {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(l) => out.push_str(std::str::from_utf8(&l.0).expect("utf-8")),
            HirKind::Class(Class::Unicode(c)) => {
                let ranges = c.ranges();
                let r = self.pick(ranges);
                let span = r.end() as u64 - r.start() as u64 + 1;
                // Ranges crossing the surrogate gap are retried.
                loop {
                    let code = r.start() as u64 + self.below(span);
                    if let Some(ch) = char::from_u32(code as u32) {
                        out.push(ch);
                        break;
                    }
                }
            }
            HirKind::Class(Class::Bytes(c)) => {
                let r = self.pick(c.ranges());
                let span = r.end() as u64 - r.start() as u64 + 1;
                out.push((r.start() as u64 + self.below(span)) as u8 as char);
            }
            HirKind::Repetition(rep) => {
                let max = rep.max.unwrap_or(rep.min + 8);
                let n = rep.min + self.below(u64::from(max - rep.min) + 1) as u32;
                for _ in 0..n {
                    self.generate(&rep.sub, out);
                }
            }
            HirKind::Capture(c) => self.generate(&c.sub, out),
            HirKind::Concat(parts) => {
                for p in parts {
                    self.generate(p, out);
                }
            }
            HirKind::Alternation(alts) => {
                let a = self.pick(alts);
                self.generate(a, out);
            }
        }
    }
}

/// Whether `s` matches `pattern`, a JSON Schema pattern (unanchored, as JSON Schema says).
pub(crate) fn matches(pattern: &str, s: &str) -> bool {
    regex::Regex::new(pattern)
        .expect("valid pattern")
        .is_match(s)
}
