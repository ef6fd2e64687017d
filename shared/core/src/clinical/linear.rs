//! Linear models shipped as data: a multinomial logistic regression over sparse string features,
//! read from TSV (`classes` line, `bias` line, then one `feature<TAB>weights…` line per feature;
//! `#` comments). Written by the training scripts under `scripts/`; one loader for all of them.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct LinearModel {
    pub classes: Vec<String>,
    bias: Vec<f64>,
    weights: HashMap<String, Vec<f64>>,
}

impl LinearModel {
    /// `None` when the text is not a model of this form.
    pub fn parse(text: &str) -> Option<LinearModel> {
        let mut lines = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty());
        let classes: Vec<String> = lines
            .next()?
            .strip_prefix("classes\t")?
            .split('\t')
            .map(str::to_string)
            .collect();
        let numbers = |rest: &str| -> Option<Vec<f64>> {
            let v: Vec<f64> = rest
                .split('\t')
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            (v.len() == classes.len()).then_some(v)
        };
        let bias = numbers(lines.next()?.strip_prefix("bias\t")?)?;
        let mut weights = HashMap::new();
        for line in lines {
            let (name, rest) = line.split_once('\t')?;
            weights.insert(name.to_string(), numbers(rest)?);
        }
        Some(LinearModel {
            classes,
            bias,
            weights,
        })
    }

    pub fn feature_count(&self) -> usize {
        self.weights.len()
    }

    /// The intercepts, in `classes` order.
    pub fn bias(&self) -> &[f64] {
        &self.bias
    }

    /// A feature's weights (in `classes` order); `None` for a feature the model does not know.
    pub fn weights_of(&self, feature: &str) -> Option<&[f64]> {
        self.weights.get(feature).map(Vec::as_slice)
    }

    /// Class probabilities (in `classes` order) for a sentence's features; unknown features
    /// count for nothing.
    pub fn probabilities<S: AsRef<str>>(&self, features: &[S]) -> Vec<f64> {
        let mut scores = self.bias.clone();
        for f in features {
            if let Some(w) = self.weights.get(f.as_ref()) {
                for (s, x) in scores.iter_mut().zip(w) {
                    *s += x;
                }
            }
        }
        softmax(&scores)
    }
}

/// Probabilities from linear scores.
pub fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_scores() {
        let m = LinearModel::parse("# c\nclasses\tA\tB\nbias\t0\t0\nw=x\t2\t0\n").unwrap();
        assert_eq!(m.classes, ["A", "B"]);
        let p = m.probabilities(&["w=x", "w=unknown"]);
        assert!(p[0] > 0.85 && (p[0] + p[1] - 1.0).abs() < 1e-9);
        assert!(LinearModel::parse("classes\tA\tB\nbias\t0\n").is_none());
    }
}
