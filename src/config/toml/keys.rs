//! Key tables: which keys a table may have, in which order they were written, and a
//! suggestion for a misspelt one.

use toml::de::DeTable;

use super::{Key, Reader, Value};
use crate::config::ConfigError;

impl Reader<'_> {
    /// Rejects the first key (in file order) of `table` that is not in `known`.
    pub(super) fn check_keys(
        &self,
        table: &DeTable,
        prefix: &str,
        known: &[&str],
    ) -> Result<(), ConfigError> {
        let Some((unknown, _)) = in_file_order(table)
            .into_iter()
            .find(|(key, _)| !known.contains(&key.get_ref().as_ref()))
        else {
            return Ok(());
        };
        let name = unknown.get_ref();
        let mut message = format!("unknown key '{name}'");
        // The distance is at least the difference in length: a long key (it could be
        // megabytes) is not compared at all.
        let length = name.chars().count();
        if let Some(suggestion) = known
            .iter()
            .filter(|candidate| length.abs_diff(candidate.len()) <= 2)
            .map(|candidate| (edit_distance(name, candidate), candidate))
            .filter(|&(distance, _)| distance <= 2)
            .min_by_key(|&(distance, _)| distance)
            .map(|(_, candidate)| candidate)
        {
            message.push_str(&format!(" (did you mean '{suggestion}'?)"));
        }
        Err(self.error(&unknown.span(), prefix, message))
    }
}

/// A table's entries in the order they appear in the file, so the first error reported
/// is the first one in the file (the parser's map is sorted by key).
pub(super) fn in_file_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("startsec", "startsecs"), 1);
        assert_eq!(edit_distance("TREM", "TERM"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
