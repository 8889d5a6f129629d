//! A seeded, coverage-free mutation fuzzer for every parser of outside input, on stable
//! Rust (test builds only).
//!
//! Each target (see [`targets`]) is a function from bytes to nothing that must not panic
//! (and panics on purpose when an invariant it checks is broken). Each target has two
//! tests: `fuzz::<target>` runs every seed of `tests/fuzz/corpus/<target>/` and every
//! crash repro of `tests/fuzz/crashes/<target>-*`, then `RINIT_FUZZ_INPUTS` (default
//! [`DEFAULT_INPUTS`]) inputs made by stacking random mutations on those seeds;
//! `fuzz::<target>_regressions` runs only the seeds and repros.
//!
//! The run is deterministic: the seed is `RINIT_FUZZ_SEED` (decimal or `0x` hex; default
//! [`DEFAULT_SEED`]), mixed with the target's name. On a panic the input is shrunk, written
//! to `tests/fuzz/crashes/<target>-<hash>`, and the test fails with that path, the panic
//! message and an escaped dump of the input. A repro stays in that directory as a
//! regression test once the bug is fixed.
//!
//! A stack overflow or an abort kills the test process instead of panicking, so no repro
//! can be written after the fact: `RINIT_FUZZ_SAVE_EACH=1` writes every input to
//! `target/fuzz-last-<target>` before running it (slow), and the same seed replays the run.
//!
//! The slowest input of each run is left in `target/fuzz-slowest-<target>` (time is only
//! reported, never a failure).
//!
//! The long pass: `integration/fuzz-long` (1,000,000 inputs per target, optimised).

mod found;
mod targets;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_INPUTS: u64 = 1500;
pub const DEFAULT_SEED: u64 = 0x7269_6e69_7420_6675; // "rinit fu"

/// A fuzz target: its name (also the corpus directory's), the tokens worth inserting, the
/// longest input it is given, and the function under test, which says whether the input
/// was accepted (read without error), to show how deep the inputs get.
pub struct Target {
    pub name: &'static str,
    pub tokens: &'static [&'static str],
    pub max_len: usize,
    pub run: fn(&[u8]) -> bool,
}

// ---------------------------------------------------------------------------------------
// The PRNG: splitmix64 (one u64 of state, full period, good enough for mutation choices).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------
// Mutators

/// Tokens useful to every text target.
const COMMON_TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\0",
    "=",
    ":",
    ";",
    "#",
    "\"",
    "'",
    "\\",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    ",",
    "%",
    "$",
    "${",
    "}",
    "\u{feff}",
    "é",
    "\u{2028}",
    "\u{10ffff}",
    "𝄞",
    "\u{301}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
];

/// Numbers at the edges of the types parsers convert to.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "07",
    "0o777",
    "0x10",
    "255",
    "256",
    "4096",
    "4097",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "1e9",
    "999999999.999",
    "1e309",
    "-0.0",
    "0.0000000001",
    "nan",
    "inf",
    "1_000",
    "1__0",
];

/// What a mutation may draw from: the target's tokens and the other seeds.
struct Material<'a> {
    tokens: &'a [&'a str],
    corpus: &'a [Vec<u8>],
}

fn token<'a>(rng: &mut Rng, material: &'a Material) -> &'a [u8] {
    match rng.below(4) {
        0 => rng.pick(COMMON_TOKENS).as_bytes(),
        1 => rng.pick(NUMBERS).as_bytes(),
        _ if material.tokens.is_empty() => rng.pick(COMMON_TOKENS).as_bytes(),
        _ => rng.pick(material.tokens).as_bytes(),
    }
}

/// A random range of `len` bytes, biased to short ones.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = rng.below(len);
    let max = (len - start).min(if rng.one_in(4) { len } else { 16 });
    (start, start + 1 + rng.below(max))
}

/// One random mutation of `data`, in place.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, material: &Material) {
    let len = data.len();
    let at = rng.below(len + 1);
    match rng.below(16) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = match rng.below(3) {
                0 => rng.next() as u8,
                1 => *rng.pick(b"\0\n\r\t \"'\\=:;#[]{}()%$,.-+*?!0123456789\x7f\xff"),
                _ => b'a' + rng.below(26) as u8,
            };
        }
        2 => {
            let count = 1 + rng.below(4);
            for _ in 0..count {
                data.insert(at.min(data.len()), rng.next() as u8);
            }
        }
        3 | 4 if len > 0 => {
            let (start, end) = range(rng, len);
            data.drain(start..end);
        }
        5..=7 => {
            let token = token(rng, material).to_vec();
            data.splice(at..at, token);
        }
        8 if len > 0 => {
            // Duplicate a chunk somewhere.
            let (start, end) = range(rng, len);
            let chunk = data[start..end].to_vec();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, chunk);
        }
        9 if !material.corpus.is_empty() => {
            // Splice in a chunk of another seed.
            let other = rng.pick(material.corpus);
            let (start, end) = range(rng, other.len());
            data.splice(at..at, other[start..end].iter().copied());
        }
        10 if !material.corpus.is_empty() => {
            // Crossover: this one's head, another's tail.
            let other = rng.pick(material.corpus);
            let from = rng.below(other.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        11 if !material.corpus.is_empty() => {
            // A whole line of another seed, at a line start.
            let other = rng.pick(material.corpus);
            let lines: Vec<&[u8]> = other.split_inclusive(|&b| b == b'\n').collect();
            if !lines.is_empty() {
                let line = rng.pick(&lines).to_vec();
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        data.iter()
                            .enumerate()
                            .filter(|(_, b)| **b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .collect();
                let at = *rng.pick(&starts);
                data.splice(at..at, line);
            }
        }
        12 if len > 0 => {
            // Repeat a short chunk many times: long names, deep nesting, huge widths.
            let (start, end) = range(rng, len.min(8));
            let chunk = data[start..end].to_vec();
            let times = match rng.below(3) {
                0 => 2 + rng.below(8),
                1 => 10 + rng.below(300),
                _ => 300 + rng.below(5000),
            };
            let at = rng.below(data.len() + 1);
            data.splice(at..at, chunk.repeat(times));
        }
        13 => {
            // Replace a run of digits (or insert) with an edge number.
            let number = rng.pick(NUMBERS).as_bytes().to_vec();
            match data.iter().skip(at).position(u8::is_ascii_digit) {
                Some(offset) => {
                    let start = at + offset;
                    let end = data[start..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(data.len(), |n| start + n);
                    data.splice(start..end, number);
                }
                None => {
                    data.splice(at..at, number);
                }
            }
        }
        14 if len > 1 => {
            // Swap two chunks.
            let (a0, a1) = range(rng, len);
            let (b0, b1) = range(rng, len);
            if a1 <= b0 || b1 <= a0 {
                let (first, second) = if a0 < b0 {
                    ((a0, a1), (b0, b1))
                } else {
                    ((b0, b1), (a0, a1))
                };
                let mut out = data[..first.0].to_vec();
                out.extend_from_slice(&data[second.0..second.1]);
                out.extend_from_slice(&data[first.1..second.0]);
                out.extend_from_slice(&data[first.0..first.1]);
                out.extend_from_slice(&data[second.1..]);
                *data = out;
            }
        }
        15 => {
            // A random printable ASCII run.
            let count = 1 + rng.below(12);
            let run: Vec<u8> = (0..count).map(|_| 0x20 + rng.below(0x5f) as u8).collect();
            data.splice(at..at, run);
        }
        _ => {
            let token = token(rng, material).to_vec();
            data.splice(at..at, token);
        }
    }
}

/// A new input: a seed with a stack of mutations (mostly one or two, so that most of a
/// valid file stays valid; sometimes up to 32), at most `max_len` bytes.
fn mutate(rng: &mut Rng, base: &[u8], material: &Material, max_len: usize) -> Vec<u8> {
    let mut data = base.to_vec();
    let most = match rng.below(8) {
        0..=3 => 2,
        4..=6 => 8,
        _ => 32,
    };
    let count = 1 + rng.below(most);
    for _ in 0..count {
        mutate_once(rng, &mut data, material);
        if data.len() > max_len {
            let start = rng.below(data.len() - max_len + 1);
            data = data[start..start + max_len].to_vec();
        }
    }
    data
}

// ---------------------------------------------------------------------------------------
// Running inputs, catching panics quietly

thread_local! {
    /// Set while this thread runs fuzz inputs: the panic hook then records the panic
    /// here instead of printing it.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that is quiet on fuzzing threads and leaves every other
/// thread's panics to the previous hook (other tests run in parallel).
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let quiet = CAUGHT.with(|caught| {
                let mut caught = caught.borrow_mut();
                match caught.as_mut() {
                    Some(slot) => {
                        let message = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(non-string panic payload)".into());
                        let location = info
                            .location()
                            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                            .unwrap_or_default();
                        *slot = Some(format!("panicked at {location}: {message}"));
                        true
                    }
                    None => false,
                }
            });
            if !quiet {
                previous(info);
            }
        }));
    });
}

/// Runs one input: whether it was accepted, or the panic message (with its location).
fn try_one(target: &Target, input: &[u8]) -> Result<bool, String> {
    CAUGHT.with(|caught| *caught.borrow_mut() = Some(None));
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let message = CAUGHT.with(|caught| caught.borrow_mut().take().flatten());
    result.map_err(|_| message.unwrap_or_else(|| "panicked".into()))
}

/// Runs one input; the panic message (with its location) if it panicked.
fn run_one(target: &Target, input: &[u8]) -> Option<String> {
    try_one(target, input).err()
}

/// The panic's location, to keep shrinking on the same bug.
fn location(message: &str) -> &str {
    message.split(": ").next().unwrap_or(message)
}

/// Shrinks a panicking input: removes chunks (halves down to single bytes) while the
/// input still panics at the same place. Bounded, so a slow target still ends.
fn shrink(target: &Target, input: &[u8], message: &str) -> (Vec<u8>, String) {
    let mut best = input.to_vec();
    let mut best_message = message.to_string();
    let mut attempts = 0;
    let mut chunk = best.len().div_ceil(2).max(1);
    while chunk >= 1 && attempts < 4000 {
        let mut start = 0;
        let mut progress = false;
        while start < best.len() && attempts < 4000 {
            let end = (start + chunk).min(best.len());
            let mut candidate = best[..start].to_vec();
            candidate.extend_from_slice(&best[end..]);
            attempts += 1;
            match run_one(target, &candidate) {
                Some(m) if location(&m) == location(&best_message) => {
                    best = candidate;
                    best_message = m;
                    progress = true;
                }
                _ => start += chunk,
            }
        }
        if chunk == 1 && !progress {
            break;
        }
        if !progress {
            chunk /= 2;
        }
    }
    (best, best_message)
}

/// An input as Rust would write a byte string literal, cut at 4 KiB.
pub fn escaped(input: &[u8]) -> String {
    let shown = &input[..input.len().min(4096)];
    let mut text: String = shown.escape_ascii().to_string();
    if shown.len() < input.len() {
        text.push_str(&format!("... ({} bytes in all)", input.len()));
    }
    text
}

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn crash_dir() -> PathBuf {
    manifest_path("tests/fuzz/crashes")
}

/// The seeds of a target (sorted by file name), then its crash repros.
fn seeds(target: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let corpus = manifest_path("tests/fuzz/corpus").join(target.name);
    if let Ok(entries) = std::fs::read_dir(&corpus) {
        files.extend(entries.flatten().map(|e| e.path()));
    }
    let prefix = format!("{}-", target.name);
    if let Ok(entries) = std::fs::read_dir(crash_dir()) {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        }));
    }
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => {
            let text = text.trim().replace('_', "");
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={text:?}: expected a number"))
        }
        Err(_) => default,
    }
}

/// Writes a repro and fails the test with everything needed to reproduce it.
fn report(target: &Target, input: &[u8], message: &str, what: &str) -> ! {
    let (small, small_message) = shrink(target, input, message);
    let path = crash_dir().join(format!("{}-{:016x}", target.name, fnv1a(&small)));
    let saved = std::fs::create_dir_all(crash_dir())
        .and_then(|()| std::fs::write(&path, &small))
        .map(|()| format!("saved to {}", path.display()))
        .unwrap_or_else(|e| format!("could not save it to {}: {e}", path.display()));
    panic!(
        "fuzz {}: {what} panicked ({saved})\n  {small_message}\n  input ({} bytes, shrunk from {}): b\"{}\"",
        target.name,
        small.len(),
        input.len(),
        escaped(&small),
    );
}

/// The regression pass: every seed and every repro, once.
pub fn regress(target: &Target) -> usize {
    install_hook();
    let seeds = seeds(target);
    assert!(
        !seeds.is_empty(),
        "fuzz {}: no seeds in tests/fuzz/corpus/{}/",
        target.name,
        target.name
    );
    for (path, bytes) in &seeds {
        if let Some(message) = run_one(target, bytes) {
            report(target, bytes, &message, &format!("seed {}", path.display()));
        }
    }
    seeds.len()
}

/// The fuzz pass: the seeds, then `RINIT_FUZZ_INPUTS` mutated inputs.
pub fn fuzz(target: &Target) {
    let started = Instant::now();
    regress(target);
    let inputs = env_u64("RINIT_FUZZ_INPUTS", DEFAULT_INPUTS);
    let seed = env_u64("RINIT_FUZZ_SEED", DEFAULT_SEED);
    let save_each = std::env::var_os("RINIT_FUZZ_SAVE_EACH").is_some_and(|v| v != "0");
    let last_path = manifest_path(&format!("target/fuzz-last-{}", target.name));
    let corpus: Vec<Vec<u8>> = seeds(target).into_iter().map(|(_, b)| b).collect();
    let material = Material {
        tokens: target.tokens,
        corpus: &corpus,
    };
    let mut rng = Rng::new(seed ^ fnv1a(target.name.as_bytes()));
    // Mutants that were accepted: more bases, that reach past the first error. (The only
    // feedback: whether the input was valid. There is no coverage.)
    let mut pool: Vec<Vec<u8>> = Vec::new();
    const POOL: usize = 64;
    let mut slowest = (Duration::ZERO, Vec::new());
    let mut accepted = 0u64;
    for _ in 0..inputs {
        // A seed, or now and then an accepted mutant.
        let base = if !pool.is_empty() && rng.one_in(3) {
            rng.pick(&pool)
        } else {
            rng.pick(&corpus)
        };
        let input = mutate(&mut rng, base, &material, target.max_len);
        if save_each {
            let _ = std::fs::write(&last_path, &input);
        }
        let began = Instant::now();
        let outcome = try_one(target, &input);
        let took = began.elapsed();
        match outcome {
            Ok(true) => {
                accepted += 1;
                if pool.len() < POOL {
                    pool.push(input.clone());
                } else {
                    let slot = rng.below(POOL);
                    pool[slot] = input.clone();
                }
            }
            Ok(false) => {}
            Err(message) => report(target, &input, &message, &format!("input (seed {seed:#x})")),
        }
        // Informational only (never a failure): the slowest input points at blow-ups.
        if took > slowest.0 {
            slowest = (took, input);
        }
    }
    // For a look at what is slow (informational, like the time itself).
    let slowest_path = manifest_path(&format!("target/fuzz-slowest-{}", target.name));
    let _ = std::fs::write(&slowest_path, &slowest.1);
    // One line per target; shown with --nocapture (integration/fuzz-long collects them).
    println!(
        "fuzz {}: {inputs} inputs, seed {seed:#x}, no panics, {:.1} s ({accepted} accepted; slowest input {:.2} ms, {} bytes)",
        target.name,
        started.elapsed().as_secs_f64(),
        slowest.0.as_secs_f64() * 1e3,
        slowest.1.len()
    );
}

macro_rules! fuzz_tests {
    ($($name:ident, $regressions:ident => $target:path;)*) => {
        $(
            #[test]
            fn $name() {
                fuzz(&$target);
            }

            #[test]
            fn $regressions() {
                regress(&$target);
            }
        )*
    };
}

fuzz_tests! {
    toml, toml_regressions => targets::TOML;
    supervisord, supervisord_regressions => targets::SUPERVISORD;
    percent, percent_regressions => targets::PERCENT;
    command, command_regressions => targets::COMMAND;
    lines, lines_regressions => targets::LINES;
    expand, expand_regressions => targets::EXPAND;
    values, values_regressions => targets::VALUES;
    format, format_regressions => targets::FORMAT;
    cli, cli_regressions => targets::CLI;
    checks, checks_regressions => targets::CHECKS;
    http, http_regressions => targets::HTTP;
}

#[test]
fn the_mutators_stay_within_bounds_and_the_rng_is_deterministic() {
    let corpus = vec![b"[program.a]\ncommand = \"x\"\n".to_vec(), Vec::new()];
    let material = Material {
        tokens: &["${", "%("],
        corpus: &corpus,
    };
    let run = |seed| {
        let mut rng = Rng::new(seed);
        (0..2000)
            .map(|i| mutate(&mut rng, &corpus[i % 2], &material, 64))
            .collect::<Vec<_>>()
    };
    let first = run(1);
    assert!(first.iter().all(|input| input.len() <= 64));
    assert_eq!(first, run(1));
    assert_ne!(first, run(2));
}

#[test]
fn a_panicking_input_is_caught_quietly_and_shrunk() {
    fn explode(input: &[u8]) -> bool {
        if input.windows(3).any(|w| w == b"BAD") {
            panic!("found it");
        }
        true
    }
    let target = Target {
        name: "selftest",
        tokens: &[],
        max_len: 64,
        run: explode,
    };
    install_hook();
    assert_eq!(run_one(&target, b"fine"), None);
    let message = run_one(&target, b"xxBADxx").expect("it panics");
    assert!(message.contains("found it"), "{message}");
    let (small, _) = shrink(&target, b"0123BAD4567", &message);
    assert_eq!(small, b"BAD");
    assert_eq!(escaped(b"a\n\0\xff"), "a\\n\\x00\\xff");
}
