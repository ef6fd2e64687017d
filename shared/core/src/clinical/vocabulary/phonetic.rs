//! Sound-alike keys and edit distances for telling a misheard word from its intended term.
//!
//! The key is a small Metaphone-like code: spellings of one sound collapse ("ph" = "f",
//! "x" = "ks", soft "c" = "s"), voiced and voiceless pairs merge (Whisper's near-misses are
//! often "methodrexate" for "methotrexate"), and vowels after the first letter are dropped
//! ("flanase" and "flonase" differ only there).

/// The sound-alike key of a lower-case word (non-letters are ignored).
pub fn sound_key(word: &str) -> String {
    let letters: Vec<char> = word.chars().filter(|c| c.is_ascii_lowercase()).collect();
    let mut sounds: Vec<char> = Vec::with_capacity(letters.len() + 2);
    let mut i = 0;
    while i < letters.len() {
        let c = letters[i];
        let next = letters.get(i + 1).copied();
        let after = letters.get(i + 2).copied();
        let soft = matches!(next, Some('e' | 'i' | 'y'));
        let (emitted, used): (&[char], usize) = match (c, next) {
            ('p', Some('h')) => (&['f'], 2),
            ('g', Some('h')) => (&[], 2),
            ('c', Some('k')) => (&['k'], 2),
            ('c', Some('h')) | ('s', Some('h')) => (&['x'], 2),
            ('t', Some('h')) => (&['0'], 2),
            ('q', Some('u')) => (&['k', 'w'], 2),
            ('w', Some('r')) => (&['r'], 2),
            ('k', Some('n')) if i == 0 => (&['n'], 2),
            ('d', Some('g')) if matches!(after, Some('e' | 'i' | 'y')) => (&['j'], 2),
            ('c', _) if soft => (&['s'], 1),
            ('c', _) | ('q', _) | ('g', _) if !(c == 'g' && soft) => (&['k'], 1),
            ('g', _) => (&['j'], 1),
            ('x', _) => (&['k', 's'], 1),
            ('z', _) => (&['s'], 1),
            ('d', _) => (&['t'], 1),
            ('b', _) => (&['p'], 1),
            ('v', _) => (&['f'], 1),
            ('a' | 'e' | 'i' | 'o' | 'u' | 'y', _) if i == 0 => (&['a'], 1),
            ('a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'h' | 'w', _) => (&[], 1),
            _ => (std::slice::from_ref(&letters[i]), 1),
        };
        for &s in emitted {
            if sounds.last() != Some(&s) {
                sounds.push(s);
            }
        }
        i += used;
    }
    sounds.into_iter().collect()
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heard_and_meant_spellings_share_a_key() {
        assert_eq!(sound_key("protonics"), sound_key("protonix"));
        assert_eq!(sound_key("flanase"), sound_key("flonase"));
        assert_eq!(sound_key("methodrexate"), sound_key("methotrexate"));
        assert_eq!(sound_key("fenobarbital"), sound_key("phenobarbital"));
    }

    #[test]
    fn different_words_keep_different_keys() {
        assert_ne!(sound_key("lisinopril"), sound_key("losartan"));
        assert_ne!(sound_key("hypertension"), sound_key("hypotension"));
        assert_ne!(sound_key("metformin"), sound_key("metoprolol"));
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("naïve", "naive"), 1);
    }
}
