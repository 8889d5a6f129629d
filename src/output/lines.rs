//! Splitting a byte stream into lines, with no processes and no I/O.
//!
//! A line is everything up to a `\n` (excluded). Bytes are passed through untouched:
//! `\r` stays, invalid UTF-8 stays. A partial line is held until its newline, until it
//! reaches the size cap (then it is cut into pieces, each marked as continued), or until
//! the stream ends (then it is emitted as it is).

/// One piece of output to write as a line.
#[derive(Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    pub text: &'a [u8],
    /// This piece continues the previous one (the line was longer than the cap).
    pub continuation: bool,
}

pub struct LineSplitter {
    held: Vec<u8>,
    cap: usize,
    /// The held bytes continue a line already partly emitted.
    continuing: bool,
}

impl LineSplitter {
    /// `cap`: the longest piece emitted; longer lines are split.
    pub fn new(cap: usize) -> Self {
        LineSplitter {
            held: Vec::new(),
            cap: cap.max(1),
            continuing: false,
        }
    }

    /// Feeds bytes; calls `emit` for every complete piece, in order.
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(Piece<'_>)) {
        while !data.is_empty() {
            // A line of exactly `cap` bytes is still one line: look one byte further.
            let room = self.cap.saturating_sub(self.held.len());
            let window = &data[..data.len().min(room + 1)];
            match memchr::memchr(b'\n', window) {
                Some(newline) => {
                    self.emit_line(&data[..newline], &mut emit);
                    data = &data[newline + 1..];
                }
                None if window.len() > room => {
                    // Longer than the cap: emit a piece now, the rest continues it.
                    self.held.extend_from_slice(&data[..room]);
                    emit(Piece {
                        text: &self.held,
                        continuation: self.continuing,
                    });
                    self.held.clear();
                    self.continuing = true;
                    data = &data[room..];
                }
                None => {
                    self.held.extend_from_slice(data);
                    data = &[];
                }
            }
        }
    }

    /// The stream has ended: emits a final line that had no newline, if any.
    pub fn finish(&mut self, mut emit: impl FnMut(Piece<'_>)) {
        if !self.held.is_empty() {
            emit(Piece {
                text: &self.held,
                continuation: self.continuing,
            });
        }
        self.held.clear();
        self.continuing = false;
    }

    fn emit_line(&mut self, tail: &[u8], emit: &mut impl FnMut(Piece<'_>)) {
        let continuation = self.continuing;
        if self.held.is_empty() {
            emit(Piece {
                text: tail,
                continuation,
            });
        } else {
            self.held.extend_from_slice(tail);
            emit(Piece {
                text: &self.held,
                continuation,
            });
            self.held.clear();
        }
        self.continuing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` and returns the pieces as (text, continuation).
    fn split(cap: usize, chunks: &[&[u8]], finish: bool) -> Vec<(Vec<u8>, bool)> {
        let mut splitter = LineSplitter::new(cap);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |p| out.push((p.text.to_vec(), p.continuation)));
        }
        if finish {
            splitter.finish(|p| out.push((p.text.to_vec(), p.continuation)));
        }
        out
    }

    fn lines(pieces: &[(Vec<u8>, bool)]) -> Vec<&[u8]> {
        pieces.iter().map(|(t, _)| t.as_slice()).collect()
    }

    #[test]
    fn whole_lines_and_empty_lines() {
        let out = split(64, &[b"one\n\ntwo\n"], false);
        assert_eq!(lines(&out), [&b"one"[..], b"", b"two"]);
        assert!(out.iter().all(|(_, c)| !c));
    }

    #[test]
    fn partial_lines_are_held_until_their_newline() {
        let out = split(64, &[b"hel", b"lo wor", b"ld\nnext"], false);
        assert_eq!(lines(&out), [&b"hello world"[..]]);
        let out = split(64, &[b"hel", b"lo wor", b"ld\nnext"], true);
        assert_eq!(lines(&out), [&b"hello world"[..], b"next"]);
    }

    #[test]
    fn a_last_line_without_newline_is_emitted_at_the_end() {
        assert_eq!(
            lines(&split(64, &[b"no newline"], true)),
            [&b"no newline"[..]]
        );
        assert!(split(64, &[b""], true).is_empty());
        assert!(split(64, &[b"done\n"], true).len() == 1);
    }

    #[test]
    fn long_lines_are_cut_at_the_cap_and_marked_continued() {
        let out = split(4, &[b"abcdefghij\nxy\n"], false);
        assert_eq!(
            out,
            [
                (b"abcd".to_vec(), false),
                (b"efgh".to_vec(), true),
                (b"ij".to_vec(), true),
                (b"xy".to_vec(), false),
            ]
        );
        // Exactly the cap is still one line, whether the newline comes with it or later.
        let out = split(4, &[b"abcd\n"], false);
        assert_eq!(out, [(b"abcd".to_vec(), false)]);
        let out = split(4, &[b"abcd", b"\n"], false);
        assert_eq!(out, [(b"abcd".to_vec(), false)]);
        let out = split(4, &[b"abcd", b"e\n"], false);
        assert_eq!(out, [(b"abcd".to_vec(), false), (b"e".to_vec(), true)]);
    }

    #[test]
    fn the_cap_applies_across_chunks() {
        let out = split(4, &[b"ab", b"cd", b"ef\n"], false);
        assert_eq!(out, [(b"abcd".to_vec(), false), (b"ef".to_vec(), true)]);
    }

    #[test]
    fn bytes_pass_through_untouched() {
        let out = split(64, &[b"crlf\r\n\xff\xfe binary \x00\n"], false);
        assert_eq!(lines(&out), [&b"crlf\r"[..], b"\xff\xfe binary \x00"]);
    }
}
