//! Who spoke when, from trained speaker embeddings (GE2E) over short sliding windows of speech.
//!
//! 1. **Speech runs**: the recognition's 20 ms energy gate, voiced frames closer than
//!    `RUN_MERGE_GAP_S` joined.
//! 2. **Windows**: `WINDOW_S` long every `HOP_S` inside each run (a shorter run is one window
//!    of its own length if it lasts `MIN_WINDOW_S`), one embedding each.
//! 3. **Clustering**: average-linkage agglomeration on cosine similarity; two clusters merge while
//!    their mean similarity is at least the threshold (calibrated on the real-voice dev set's
//!    `calib` half, `examples/diarize_real.rs`), or while there are more than `max_speakers`;
//!    a cluster with less than `MIN_SPEAKER_S` of windows joins its most similar neighbour, so a
//!    single voice stays one speaker.
//! 4. **Frames**: every 10 ms of a run takes the cluster its covering windows are most similar to
//!    on average, so a change of speaker inside a Whisper segment is found at about `HOP_S`.
//!    Stretches of one label shorter than `MIN_TURN_S` take their neighbours' label.

use crate::speaker_embedding::{SpeakerEncoder, EMBEDDING, FRAME_SECONDS};
use crate::whisper::FrameEnergy;

const GATE_FRAME_S: f64 = 0.02;
const RUN_MERGE_GAP_S: f64 = 0.3;
const WINDOW_S: f64 = 1.2;
const HOP_S: f64 = 0.6;
const MIN_WINDOW_S: f64 = 0.4;
const MIN_SPEAKER_S: f64 = 1.0;
const MIN_TURN_S: f64 = 0.3;
/// Mean cosine similarity below which two clusters are different voices. Chosen on the `calib`
/// half of `bench/real_voices.py` (0.60 and 0.65 tie at 0.940 attribution; 0.55 gives 0.898,
/// 0.70 gives 0.907); within one voice windows measure 0.67–0.92, between voices 0.40–0.67.
pub const DEFAULT_THRESHOLD: f32 = 0.65;

/// One speaker's stretch of speech, in seconds; `speaker` numbered by first speech.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakerTurn {
    pub start: f64,
    pub end: f64,
    pub speaker: usize,
}

fn speech_runs(signal: &[f32]) -> (Vec<(f64, f64)>, f32) {
    let energy = FrameEnergy::measure(signal);
    let gap = (RUN_MERGE_GAP_S / GATE_FRAME_S).round() as usize;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let (mut sum, mut count) = (0f64, 0usize);
    for frame in (0..energy.rms.len()).filter(|f| energy.voiced(*f)) {
        sum += f64::from(energy.rms[frame]).powi(2);
        count += 1;
        match runs.last_mut() {
            Some(last) if frame <= last.1 + gap => last.1 = frame + 1,
            _ => runs.push((frame, frame + 1)),
        }
    }
    let rms = if count > 0 {
        (sum / count as f64).sqrt() as f32
    } else {
        0.0
    };
    let runs = runs
        .into_iter()
        .map(|(a, b)| (a as f64 * GATE_FRAME_S, b as f64 * GATE_FRAME_S))
        .collect();
    (runs, rms)
}

fn windows_of(runs: &[(usize, usize)]) -> Vec<std::ops::Range<usize>> {
    let length = (WINDOW_S / FRAME_SECONDS).round() as usize;
    let hop = (HOP_S / FRAME_SECONDS).round() as usize;
    let shortest = (MIN_WINDOW_S / FRAME_SECONDS).round() as usize;
    let mut windows = Vec::new();
    for &(start, end) in runs {
        if end - start < shortest {
            continue;
        }
        if end - start <= length {
            windows.push(start..end);
            continue;
        }
        let mut at = start;
        loop {
            if at + length >= end {
                windows.push(end - length..end);
                break;
            }
            windows.push(at..at + length);
            at += hop;
        }
    }
    windows
}

/// Average-linkage clustering; returns a label per point.
fn cluster(
    embeddings: &[[f32; EMBEDDING]],
    seconds: &[f64],
    threshold: f32,
    max_speakers: usize,
) -> Vec<usize> {
    let n = embeddings.len();
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut sums: Vec<Vec<f32>> = embeddings.iter().map(|e| e.to_vec()).collect();
    let mut alive: Vec<bool> = vec![true; n];
    let similarity = |sums: &[Vec<f32>], members: &[Vec<usize>], a: usize, b: usize| -> f32 {
        let d: f32 = sums[a].iter().zip(&sums[b]).map(|(x, y)| x * y).sum();
        d / (members[a].len() * members[b].len()) as f32
    };
    // Pairwise similarities of live clusters, updated on each merge.
    let mut sim = vec![f32::NEG_INFINITY; n * n];
    for a in 0..n {
        for b in a + 1..n {
            let s = similarity(&sums, &members, a, b);
            sim[a * n + b] = s;
            sim[b * n + a] = s;
        }
    }
    let duration =
        |members: &[Vec<usize>], c: usize| members[c].iter().map(|i| seconds[*i]).sum::<f64>();
    loop {
        let live: Vec<usize> = (0..n).filter(|c| alive[*c]).collect();
        if live.len() <= 1 {
            break;
        }
        let mut best = (f32::NEG_INFINITY, 0, 0);
        for (i, &a) in live.iter().enumerate() {
            for &b in &live[i + 1..] {
                if sim[a * n + b] > best.0 {
                    best = (sim[a * n + b], a, b);
                }
            }
        }
        if best.0 < threshold {
            // Too little speech to be a voice of its own, or more voices than allowed: the
            // smallest cluster joins the one it is most similar to (an outlier window must not
            // make two real voices merge instead).
            let smallest = live
                .iter()
                .copied()
                .min_by(|a, b| duration(&members, *a).total_cmp(&duration(&members, *b)))
                .expect("two live clusters");
            if duration(&members, smallest) >= MIN_SPEAKER_S && live.len() <= max_speakers {
                break;
            }
            let other = live
                .iter()
                .copied()
                .filter(|o| *o != smallest)
                .max_by(|x, y| sim[smallest * n + x].total_cmp(&sim[smallest * n + y]))
                .expect("two live clusters");
            best = (0.0, smallest.min(other), smallest.max(other));
        }
        let (_, a, b) = best;
        let moved = std::mem::take(&mut members[b]);
        members[a].extend(moved);
        let add = std::mem::take(&mut sums[b]);
        for (x, y) in sums[a].iter_mut().zip(add) {
            *x += y;
        }
        alive[b] = false;
        for c in (0..n).filter(|c| alive[*c] && *c != a) {
            let s = similarity(&sums, &members, a, c);
            sim[a * n + c] = s;
            sim[c * n + a] = s;
        }
        for c in 0..n {
            sim[b * n + c] = f32::NEG_INFINITY;
            sim[c * n + b] = f32::NEG_INFINITY;
        }
    }
    let mut labels = vec![0usize; n];
    for (label, c) in (0..n).filter(|c| alive[*c]).enumerate() {
        for i in &members[c] {
            labels[*i] = label;
        }
    }
    labels
}

/// Embeddings of the sliding windows over a recording's speech, in 10 ms mel frames.
#[derive(Debug, Clone)]
pub struct WindowEmbeddings {
    /// Speech runs, in frames.
    pub runs: Vec<(usize, usize)>,
    pub windows: Vec<std::ops::Range<usize>>,
    pub embeddings: Vec<[f32; EMBEDDING]>,
}

/// Speech runs of a mono 16 kHz recording and one embedding per window over them.
pub fn window_embeddings(signal: &[f32], encoder: &SpeakerEncoder) -> WindowEmbeddings {
    let (runs, speech_rms) = speech_runs(signal);
    let to_frame = |s: f64| (s / FRAME_SECONDS).round() as usize;
    let mels = if runs.is_empty() {
        Vec::new()
    } else {
        encoder.mel_frames(signal, speech_rms)
    };
    let runs: Vec<(usize, usize)> = runs
        .iter()
        .map(|(a, b)| (to_frame(*a).min(mels.len()), to_frame(*b).min(mels.len())))
        .filter(|(a, b)| b > a)
        .collect();
    let windows = windows_of(&runs);
    let embeddings = encoder.embed(&mels, &windows);
    WindowEmbeddings {
        runs,
        windows,
        embeddings,
    }
}

/// Speaker turns of a mono 16 kHz recording, at most `max_speakers` voices.
pub fn speaker_turns(
    signal: &[f32],
    encoder: &SpeakerEncoder,
    max_speakers: usize,
    threshold: f32,
) -> Vec<SpeakerTurn> {
    turns_from_embeddings(&window_embeddings(signal, encoder), max_speakers, threshold)
}

/// Clusters the windows and labels every speech frame (steps 3 and 4 of the module docs).
pub fn turns_from_embeddings(
    found: &WindowEmbeddings,
    max_speakers: usize,
    threshold: f32,
) -> Vec<SpeakerTurn> {
    let (frame_runs, windows, embeddings) = (&found.runs, &found.windows, &found.embeddings);
    if windows.is_empty() {
        return frame_runs
            .iter()
            .map(|(start, end)| SpeakerTurn {
                start: *start as f64 * FRAME_SECONDS,
                end: *end as f64 * FRAME_SECONDS,
                speaker: 0,
            })
            .collect();
    }
    let seconds: Vec<f64> = windows
        .iter()
        .map(|w| w.len() as f64 * FRAME_SECONDS * HOP_S / WINDOW_S)
        .collect();
    let labels = cluster(embeddings, &seconds, threshold, max_speakers.max(1));
    let speakers = labels.iter().max().map_or(1, |m| m + 1);
    let mut centroids = vec![[0f32; EMBEDDING]; speakers];
    for (e, l) in embeddings.iter().zip(&labels) {
        for (c, v) in centroids[*l].iter_mut().zip(e) {
            *c += v;
        }
    }
    for c in &mut centroids {
        let norm = c.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        c.iter_mut().for_each(|v| *v /= norm);
    }
    // Per frame: mean similarity of its covering windows to each centroid.
    let window_scores: Vec<Vec<f32>> = embeddings
        .iter()
        .map(|e| {
            centroids
                .iter()
                .map(|c| crate::speaker_embedding::cosine(e, c))
                .collect()
        })
        .collect();
    let mut turns = Vec::new();
    let mut window_index = 0usize;
    for &(start, end) in frame_runs {
        let covering: Vec<usize> = (window_index..windows.len())
            .take_while(|w| windows[*w].start < end)
            .filter(|w| windows[*w].end > start)
            .collect();
        window_index += covering.len();
        let mut frame_labels: Vec<usize> = (start..end)
            .map(|f| {
                let mut score = vec![0f32; speakers];
                let mut nearest = (usize::MAX, 0usize);
                for &w in &covering {
                    let range = &windows[w];
                    if range.contains(&f) {
                        for (s, v) in score.iter_mut().zip(&window_scores[w]) {
                            *s += v;
                        }
                    }
                    let distance = if f < range.start {
                        range.start - f
                    } else {
                        f.saturating_sub(range.end)
                    };
                    if distance < nearest.0 {
                        nearest = (distance, w);
                    }
                }
                if score.iter().all(|s| *s == 0.0) {
                    if nearest.0 == usize::MAX {
                        return usize::MAX; // a run too short for a window
                    }
                    return labels[nearest.1];
                }
                (0..speakers)
                    .max_by(|a, b| score[*a].total_cmp(&score[*b]))
                    .unwrap_or(0)
            })
            .collect();
        smooth(&mut frame_labels, (MIN_TURN_S / FRAME_SECONDS) as usize);
        let mut at = 0;
        while at < frame_labels.len() {
            let label = frame_labels[at];
            let mut stop = at;
            while stop < frame_labels.len() && frame_labels[stop] == label {
                stop += 1;
            }
            turns.push(SpeakerTurn {
                start: (start + at) as f64 * FRAME_SECONDS,
                end: (start + stop) as f64 * FRAME_SECONDS,
                speaker: label,
            });
            at = stop;
        }
    }
    // Runs too short for a window take the speaker of the nearest turn in time.
    for i in 0..turns.len() {
        if turns[i].speaker == usize::MAX {
            let t = turns[i];
            let nearest = turns
                .iter()
                .filter(|o| o.speaker != usize::MAX)
                .min_by(|a, b| {
                    let da = (a.start - t.end).abs().min((t.start - a.end).abs());
                    let db = (b.start - t.end).abs().min((t.start - b.end).abs());
                    da.total_cmp(&db)
                })
                .map_or(0, |o| o.speaker);
            turns[i].speaker = nearest;
        }
    }
    // Number speakers by first speech.
    let mut order: Vec<usize> = Vec::new();
    for t in &turns {
        if !order.contains(&t.speaker) {
            order.push(t.speaker);
        }
    }
    for t in &mut turns {
        t.speaker = order.iter().position(|s| *s == t.speaker).unwrap_or(0);
    }
    turns
}

/// Stretches of one label shorter than `shortest` frames take the label of the longer neighbour.
fn smooth(labels: &mut [usize], shortest: usize) {
    loop {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if labels[r.0] == *l => r.1 = i + 1,
                _ => runs.push((i, i + 1)),
            }
        }
        if runs.len() <= 1 {
            return;
        }
        let Some(k) = (0..runs.len())
            .filter(|k| runs[*k].1 - runs[*k].0 < shortest)
            .min_by_key(|k| runs[*k].1 - runs[*k].0)
        else {
            return;
        };
        let neighbour = match (k.checked_sub(1), runs.get(k + 1)) {
            (Some(p), Some(n)) => {
                if runs[p].1 - runs[p].0 >= n.1 - n.0 {
                    labels[runs[p].0]
                } else {
                    labels[n.0]
                }
            }
            (Some(p), None) => labels[runs[p].0],
            (None, Some(n)) => labels[n.0],
            (None, None) => return,
        };
        for l in &mut labels[runs[k].0..runs[k].1] {
            *l = neighbour;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_label_runs_join_their_neighbours() {
        let mut labels = vec![0, 0, 0, 0, 1, 0, 0, 0, 2, 2, 2, 2, 2];
        smooth(&mut labels, 3);
        assert_eq!(labels, vec![0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn windows_cover_long_runs_and_keep_short_ones_whole() {
        let w = windows_of(&[(0, 300), (400, 460), (500, 520)]);
        assert_eq!(w.first(), Some(&(0..120)));
        assert_eq!(w.iter().rfind(|r| r.end <= 300), Some(&(180..300)));
        assert!(w.contains(&(400..460)));
        assert!(
            !w.iter().any(|r| r.start >= 500),
            "a 0.2 s run gets no window"
        );
    }

    fn unit(seed: usize, noise: f32) -> [f32; EMBEDDING] {
        let mut e = [0f32; EMBEDDING];
        for (i, v) in e.iter_mut().enumerate() {
            *v = if i % 4 == seed { 1.0 } else { 0.0 } + noise * ((i * 7 + seed * 13) as f32).sin();
        }
        let n = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        e.iter_mut().for_each(|v| *v /= n);
        e
    }

    #[test]
    fn clustering_separates_voices_and_respects_the_limit() {
        let points: Vec<_> = (0..12)
            .map(|i| unit(i % 3, 0.05 * (i as f32 / 12.0)))
            .collect();
        let seconds = vec![1.0; 12];
        let labels = cluster(&points, &seconds, 0.65, 3);
        let distinct: std::collections::BTreeSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), 3);
        assert_eq!(labels[0], labels[3]);
        assert_ne!(labels[0], labels[1]);
        let limited = cluster(&points, &seconds, 0.65, 2);
        assert_eq!(
            limited
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            2
        );
        // One voice stays one speaker.
        let same: Vec<_> = (0..8).map(|i| unit(0, 0.02 * i as f32)).collect();
        assert!(cluster(&same, &[1.0; 8], 0.65, 3).iter().all(|l| *l == 0));
    }
}
